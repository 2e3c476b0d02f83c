/**
 * Request/response throughput between two processes on 127.0.0.1 with 50 requests in flight:
 * our endpoint on both sides, the `coap` package on both sides, and a raw node:dgram echo with
 * the same datagram sizes. The three run in interleaved rounds in the same run (the machine is
 * shared, so load drifts); each figure is the median over rounds. Then memory per tracked
 * exchange from a child run with --expose-gc. Prints one JSON object.
 *
 * Ratios are the median of per-round ratios (raw, ours and coap run back to back in a round, so
 * they share the machine's load of the moment); CPU time per request is reported too, as the
 * figure least disturbed by other jobs on the machine.
 *
 * Environment: BENCH_ROUNDS (default 5), BENCH_MS per measurement (default 1500),
 * BENCH_WARMUP_MS (default 500), BENCH_EXCHANGES for the memory figure (default 10000).
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { Agent, globalAgent, globalAgentIPv6 } from 'coap';
import type { IncomingMessage } from 'coap';
import { ratio } from '../../../bench/measure.js';
import { createCoapEndpoint, createUdpSocket, serializeMessage } from '../src/index.js';
import { CoapOptionNumber, CoapType, stringOption } from '../src/index.js';
import type { ServerPorts } from './throughput-server.js';

const IN_FLIGHT = 50;
const PAYLOAD_SIZE = 32;
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 5);
const durationMs = Number(process.env['BENCH_MS'] ?? 1500);
const warmupMs = Number(process.env['BENCH_WARMUP_MS'] ?? 500);
const exchanges = Number(process.env['BENCH_EXCHANGES'] ?? 10_000);
const execArgv = ['--import', 'tsx', '--conditions=@lwm2m/source'];
const host = '127.0.0.1';
const payload = new Uint8Array(PAYLOAD_SIZE).fill(0x61);

/** A client that keeps IN_FLIGHT requests going; `start` resolves with completions per second. */
interface Load {
  /** Starts one request; calls `done` when its response arrived. */
  send(done: () => void): void;
  close(): Promise<void>;
}

interface Sample {
  readonly requestsPerSec: number;
  /** CPU time (user + system) per completed request in the client and in the server process, µs. */
  readonly clientCpuUs: number;
  readonly serverCpuUs: number;
}

async function measureLoad(load: Load, serverCpu: () => Promise<NodeJS.CpuUsage>): Promise<Sample> {
  let counting = false;
  let stopped = false;
  let completed = 0;
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const next = (): void => {
    inFlight--;
    if (counting) completed++;
    if (!stopped) {
      inFlight++;
      load.send(next);
    } else if (inFlight === 0) drained?.();
  };
  for (let i = 0; i < IN_FLIGHT; i++) {
    inFlight++;
    load.send(next);
  }
  await sleep(warmupMs);
  const serverStart = await serverCpu();
  const clientStart = process.cpuUsage();
  counting = true;
  const start = performance.now();
  await sleep(durationMs);
  const elapsed = performance.now() - start;
  const result = completed;
  counting = false;
  const clientUsed = process.cpuUsage(clientStart);
  const serverEnd = await serverCpu();
  stopped = true;
  if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
  await load.close();
  const serverUsed = serverEnd.user - serverStart.user + serverEnd.system - serverStart.system;
  return {
    requestsPerSec: Math.round((result * 1000) / elapsed),
    clientCpuUs: round1((clientUsed.user + clientUsed.system) / result),
    serverCpuUs: round1(serverUsed / result),
  };
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function oursLoad(port: number): Promise<Load> {
  const endpoint = createCoapEndpoint({
    socket: await createUdpSocket({ address: host, port: 0 }),
    transmission: { nstart: IN_FLIGHT },
  });
  const peer = { address: host, port };
  const fail = (error: unknown): void => {
    throw error;
  };
  return {
    send: (done) => {
      endpoint.request({ peer, method: 'POST', path: '/bench', payload }).then(done, fail);
    },
    close: () => endpoint.close(),
  };
}

function coapLoad(port: number): Load {
  const agent = new Agent({ type: 'udp4' });
  return {
    send: (done) => {
      const request = agent.request({ hostname: host, port, pathname: '/bench', method: 'POST' });
      request.on('response', (response: IncomingMessage) => {
        response.resume();
        done();
      });
      request.on('error', (error: Error) => {
        throw error;
      });
      request.end(Buffer.from(payload));
    },
    close: async () => {
      agent.close();
    },
  };
}

/** Same datagram size as our CoAP request; the echo server sends it back unchanged. */
async function rawLoad(port: number): Promise<Load> {
  const size = serializeMessage({
    type: CoapType.CON,
    code: 2,
    messageId: 0,
    token: new Uint8Array(8),
    options: [stringOption(CoapOptionNumber.URI_PATH, 'bench')],
    payload,
  }).length;
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, host, () => resolve()));
  const waiting = new Map<number, () => void>();
  let nextId = 0;
  socket.on('message', (data) => {
    const id = data.readUInt32BE(0);
    const done = waiting.get(id);
    if (done === undefined) return;
    waiting.delete(id);
    done();
  });
  return {
    send: (done) => {
      const id = nextId++ >>> 0;
      const datagram = Buffer.alloc(size);
      datagram.writeUInt32BE(id, 0);
      waiting.set(id, done);
      socket.send(datagram, port, host);
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

interface BenchServer {
  readonly child: ChildProcess;
  readonly ports: ServerPorts;
  cpu(): Promise<NodeJS.CpuUsage>;
}

function startServer(): Promise<BenchServer> {
  const child = fork(fileURLToPath(new URL('./throughput-server.ts', import.meta.url)), [], { execArgv });
  const cpu = (): Promise<NodeJS.CpuUsage> =>
    new Promise((resolve) => {
      child.once('message', (message) => resolve((message as { cpu: NodeJS.CpuUsage }).cpu));
      child.send('cpu');
    });
  return new Promise((resolve, reject) => {
    child.once('message', (ports) => resolve({ child, ports: ports as ServerPorts, cpu }));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
}

function memoryPerExchange(): Promise<{ exchanges: number; bytesPerExchange: number }> {
  const child = fork(fileURLToPath(new URL('./exchange-memory.ts', import.meta.url)), [String(exchanges)], {
    execArgv: [...execArgv, '--expose-gc'],
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve(JSON.parse(out) as { exchanges: number; bytesPerExchange: number });
      else reject(new Error(`memory child exited with ${code}`));
    });
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function perRoundRatio(values: readonly Sample[], baseline: readonly Sample[]): number {
  return ratio(median(values.map((sample, i) => sample.requestsPerSec / baseline[i]!.requestsPerSec)), 1);
}

function summarize(samples: readonly Sample[]): Sample {
  return {
    requestsPerSec: Math.round(median(samples.map((sample) => sample.requestsPerSec))),
    clientCpuUs: round1(median(samples.map((sample) => sample.clientCpuUs))),
    serverCpuUs: round1(median(samples.map((sample) => sample.serverCpuUs))),
  };
}

async function main(): Promise<void> {
  // node-coap binds its global agents on import; we use our own Agent.
  globalAgent.close();
  globalAgentIPv6.close();
  const server = await startServer();
  const { ports } = server;
  const cpu = (): Promise<NodeJS.CpuUsage> => server.cpu();
  const samples = { raw: [] as Sample[], ours: [] as Sample[], coap: [] as Sample[] };
  try {
    for (let round = 0; round < rounds; round++) {
      samples.raw.push(await measureLoad(await rawLoad(ports.raw), cpu));
      samples.ours.push(await measureLoad(await oursLoad(ports.ours), cpu));
      samples.coap.push(await measureLoad(coapLoad(ports.coap), cpu));
    }
  } finally {
    server.child.removeAllListeners('exit');
    server.child.send('stop');
  }
  const memory = await memoryPerExchange();
  const raw = summarize(samples.raw);
  const ours = summarize(samples.ours);
  const coap = summarize(samples.coap);
  const result = {
    benchmark: 'transport-coap request/response over loopback, two processes',
    inFlight: IN_FLIGHT,
    payloadBytes: PAYLOAD_SIZE,
    rounds,
    durationMs,
    requestsPerSec: { raw: raw.requestsPerSec, ours: ours.requestsPerSec, coap: coap.requestsPerSec },
    ratio: {
      oursToRaw: perRoundRatio(samples.ours, samples.raw),
      coapToRaw: perRoundRatio(samples.coap, samples.raw),
      oursToCoap: perRoundRatio(samples.ours, samples.coap),
    },
    goal: { oursToRawAtLeast: 0.5, met: perRoundRatio(samples.ours, samples.raw) >= 0.5 },
    // CPU per request is steadier than throughput when other jobs share the cores.
    cpuUsPerRequest: {
      raw: { client: raw.clientCpuUs, server: raw.serverCpuUs },
      ours: { client: ours.clientCpuUs, server: ours.serverCpuUs },
      coap: { client: coap.clientCpuUs, server: coap.serverCpuUs },
    },
    /** Raw UDP's CPU per request (both processes) over each stack's: 1 would be free. */
    cpuEfficiencyVsRaw: {
      ours: ratio(raw.clientCpuUs + raw.serverCpuUs, ours.clientCpuUs + ours.serverCpuUs),
      coap: ratio(raw.clientCpuUs + raw.serverCpuUs, coap.clientCpuUs + coap.serverCpuUs),
    },
    samplesRequestsPerSec: {
      raw: samples.raw.map((sample) => sample.requestsPerSec),
      ours: samples.ours.map((sample) => sample.requestsPerSec),
      coap: samples.coap.map((sample) => sample.requestsPerSec),
    },
    memory,
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
