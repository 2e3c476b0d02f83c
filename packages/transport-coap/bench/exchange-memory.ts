/**
 * Memory per tracked exchange, run as a child with --expose-gc by throughput.bench.ts: the heap
 * grown by N outstanding CON requests (NSTART ≥ N) to a bound peer that never answers, divided
 * by N, measured after forced GCs. Prints one JSON line on stdout.
 */
import { createSocket } from 'node:dgram';
import { createCoapEndpoint, createUdpSocket } from '../src/index.js';

const count = Number(process.argv[2] ?? 10_000);
const gc = (globalThis as { gc?: () => void }).gc;

async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc?.();
  }
}

async function main(): Promise<void> {
  if (gc === undefined) throw new Error('run with --expose-gc');
  const silent = createSocket('udp4');
  await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', () => resolve()));
  const peer = { address: '127.0.0.1', port: silent.address().port };
  const endpoint = createCoapEndpoint({
    socket: await createUdpSocket({ address: '127.0.0.1', port: 0 }),
    // Long timers: nothing retransmits or expires while we measure.
    transmission: { nstart: count + 1, ackTimeout: 600_000 },
    requestTimeout: 3_600_000,
  });
  const payload = new Uint8Array(32);
  // One warm-up request so code and shapes exist before the baseline.
  const warm = endpoint.request({ peer, method: 'POST', path: '/bench', payload }).catch(() => undefined);
  await settle();
  const before = process.memoryUsage().heapUsed;
  const outstanding: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    outstanding.push(
      endpoint.request({ peer, method: 'POST', path: '/bench', payload }).catch(() => undefined),
    );
  }
  await settle();
  const after = process.memoryUsage().heapUsed;
  await endpoint.close();
  await Promise.all([warm, ...outstanding]);
  silent.close();
  // The array of caller promises is the caller's, not the endpoint's: subtract it.
  const callerArray = outstanding.length * 8;
  process.stdout.write(
    `${JSON.stringify({ exchanges: count, bytesPerExchange: Math.round((after - before - callerArray) / count) })}\n`,
  );
}

void main();
