/**
 * Heap per peer the endpoint has sent to: per-peer message-layer state (message-id counter, RTT
 * estimate, notification pacing) kept for EXCHANGE_LIFETIME after the last message. N peers each
 * get one CON ping that is answered at once, so nothing else stays tracked; the heap grown, after
 * forced GCs, divided by N, minus the same traffic to one peer only (the baseline, same run).
 * Two layouts: 256 ports per address (clients behind NATs) and one address per peer.
 * Run: node --expose-gc --import tsx --conditions=@lwm2m/source bench/peer-memory.bench.ts
 * Prints one JSON object.
 */
import type { PeerAddress } from '@lwm2m/core';
import { createCoapEndpoint } from '../src/index.js';
import { MemorySocket } from '../src/memory-socket.js';
import { parseMessage, serializeMessage } from '../src/message.js';

const count = Number(process.env['BENCH_PEERS'] ?? 20_000);
const gc = (globalThis as { gc?: () => void }).gc;

async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc?.();
  }
}

async function measure(peerOf: (i: number) => PeerAddress): Promise<number> {
  const socket = new MemorySocket({ address: '10.0.0.1', port: 5683 });
  // Every CON is acknowledged at once by its peer: no exchange stays tracked.
  socket.sendNow = (data, peer) => {
    const message = parseMessage(data);
    const ack = serializeMessage({
      type: 2,
      code: 0,
      messageId: message.messageId,
      token: new Uint8Array(0),
      options: [],
      payload: new Uint8Array(0),
    });
    queueMicrotask(() => socket.inject(ack, peer));
  };
  const endpoint = createCoapEndpoint({ socket, random: () => 0 });
  await endpoint.ping(peerOf(-1));
  await settle();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < count; i++) await endpoint.ping(peerOf(i)).catch(() => undefined);
  await settle();
  const after = process.memoryUsage().heapUsed;
  await endpoint.close();
  return (after - before) / count;
}

async function main(): Promise<void> {
  if (gc === undefined) throw new Error('run with --expose-gc');
  const onePeer = await measure(() => ({ address: '10.1.0.1', port: 5683 }));
  const natted = await measure((i) => ({
    address: `10.2.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}`,
    port: 1024 + (i & 0xff),
  }));
  const ownAddress = await measure((i) => ({ address: `10.3.${(i >> 8) & 0xff}.${i & 0xff}`, port: 5683 }));
  process.stdout.write(
    `${JSON.stringify({
      peers: count,
      bytesPerPeer: {
        sharedAddresses: Math.round(natted - onePeer),
        ownAddress: Math.round(ownAddress - onePeer),
      },
      baselineOnePeerBytesPerMessage: Math.round(onePeer),
      goalPerRegisteredClientBytes: 2048,
    })}\n`,
  );
}

void main();
