/** What the firmware tests share: a client with object 5 on an in-memory server, and waits. */
import { once } from 'node:events';
import type { DatagramSocket } from '@lwm2m/core';
import { CoapCode, createUdpSocket } from '@lwm2m/transport-coap';
import { createClient } from '../src/index.js';
import type { ClientTransport, FirmwareMeta, FirmwareOptions, Lwm2mClient } from '../src/index.js';
import { MEMORY_SERVER_URI, memoryServer, text } from './fake-server.js';
import type { FakeServer } from './fake-server.js';

export const MB = 1024 * 1024;
export const OPAQUE = 42;

/** Polls until `check` holds (state changes happen on timers after the response). */
export async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export interface Harness {
  client: Lwm2mClient;
  server: FakeServer;
  verified: { image: Uint8Array; meta: FirmwareMeta }[];
  applied: { image: Uint8Array; meta: FirmwareMeta }[];
  progress: number[];
  states: number[];
  sockets: DatagramSocket[];
}

export async function start(firmware: Partial<FirmwareOptions> = {}): Promise<Harness> {
  const memory = memoryServer();
  const sockets: DatagramSocket[] = [];
  const transport: ClientTransport = {
    // The LwM2M server is in memory; package hosts are real UDP servers on loopback.
    async connect(target, signal) {
      if (target.host === '10.0.0.1') return memory.transport.connect(target, signal);
      const socket = await createUdpSocket({ address: '127.0.0.1' });
      sockets.push(socket);
      return socket;
    },
  };
  const verified: Harness['verified'] = [];
  const applied: Harness['applied'] = [];
  const client = createClient({
    endpoint: 'fota-test',
    transport,
    servers: [{ uri: MEMORY_SERVER_URI, ssid: 1, lifetime: 300 }],
    maxBodySize: 1.5 * MB,
    transmission: { ackTimeout: 100, ackRandomFactor: 1, maxRetransmit: 2 },
    firmware: {
      verify: (image, meta) => {
        verified.push({ image, meta });
        return { name: 'demo', version: '2.0.0' };
      },
      apply: (image, meta) => {
        applied.push({ image, meta });
      },
      retryDelay: 10,
      maxPackageSize: 1.5 * MB,
      ...firmware,
    },
  });
  const progress: number[] = [];
  const states: number[] = [];
  client.firmware!.on('progress', (event) => progress.push(event.received));
  client.firmware!.on('state', (event) => states.push(event.state));
  const registered = once(client, 'registered');
  await client.start();
  await registered;
  return { client, server: memory.server, verified, applied, progress, states, sockets };
}

export async function read(server: FakeServer, path: string): Promise<string> {
  const response = await server.request({ method: 'GET', path });
  expect(response.code).toBe(CoapCode.CONTENT);
  return text(response);
}

export function put(
  server: FakeServer,
  path: string,
  payload: Uint8Array | string,
  contentFormat: number,
): ReturnType<FakeServer['request']> {
  return server.endpoint.request(
    { peer: server.peer!, method: 'PUT', path, contentFormat, payload },
    { timeout: 60_000 },
  );
}

export function increasing(values: readonly number[]): boolean {
  return values.every((v, i) => i === 0 || v > values[i - 1]!);
}
