/**
 * Heap bytes per registered client, 10k clients in one process (goal ≤ 20 KiB), and registrations
 * per second from that process against @lwm2m/server. Clients share one registry and codec; each has its own socket,
 * CoAP endpoint, object tree (Security, Server, Access Control, Device, one Temperature sensor)
 * and registration. For the heap figure the server is a bare in-memory responder (2.01 +
 * Location-Path) so its own memory stays out of it; the rate is measured again against a real
 * @lwm2m/server on the same in-memory network (the server's work counts in that figure). Baseline, measured in the same run: a bare CoAP endpoint on the
 * same kind of socket, i.e. what the transport alone costs per device.
 *
 * Run: tsx --conditions=@lwm2m/source bench/client.bench.ts [clients] [rounds]
 *
 * tsx compiles with esbuild's keepNames, which gives every function made at run time its own
 * `name` property (a 256-byte property array in V8): here a closure per client costs ~300 bytes,
 * several times what it costs in the built package. So the figure is an upper bound, and a
 * closure kept per client or endpoint shows up in it.
 */
import { EventEmitter } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { DatagramMessage, DatagramSocket, DatagramSocketEvents, PeerAddress } from '@lwm2m/core';
import { createCoreObjectRegistry } from '@lwm2m/core';
import { createCodec } from '@lwm2m/codecs';
import {
  CoapType,
  createCoapEndpoint,
  parseMessage,
  serializeMessage,
  CoapOptionNumber,
} from '@lwm2m/transport-coap';
import type { CoapEndpoint } from '@lwm2m/transport-coap';
import { createServer } from '@lwm2m/server';
import { createClient, TemperatureSensor, temperatureObject } from '../src/index.js';
import type { Lwm2mClient } from '../src/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const N = Number(process.argv[2] ?? 10_000);
const ROUNDS = Number(process.argv[3] ?? 3);

/** Sockets that deliver to each other by address through one shared table. */
class Net {
  readonly sockets = new Map<number, NetSocket>();
}

class NetSocket extends EventEmitter<DatagramSocketEvents> implements DatagramSocket {
  constructor(
    readonly net: Net,
    readonly local: PeerAddress,
  ) {
    super();
    net.sockets.set(local.port, this);
  }
  send(data: Uint8Array, peer: PeerAddress): Promise<void> {
    const target = this.net.sockets.get(peer.port);
    if (target !== undefined) {
      const message: DatagramMessage = { data: Uint8Array.from(data), peer: this.local };
      queueMicrotask(() => target.emit('message', message));
    }
    return Promise.resolve();
  }
  address(): PeerAddress {
    return this.local;
  }
  close(): Promise<void> {
    this.net.sockets.delete(this.local.port);
    return Promise.resolve();
  }
}

const SERVER: PeerAddress = { address: '10.0.0.1', port: 5683 };

/** Answers every CON request with a piggybacked 2.01 carrying Location-Path rd/<n>. */
function startResponder(net: Net): { registrations: () => number } {
  const socket = new NetSocket(net, SERVER);
  let count = 0;
  socket.on('message', ({ data, peer }) => {
    const request = parseMessage(data);
    count++;
    const reply = serializeMessage({
      type: CoapType.ACK,
      code: 65,
      messageId: request.messageId,
      token: request.token,
      options: [
        { number: CoapOptionNumber.LOCATION_PATH, value: Buffer.from('rd') },
        { number: CoapOptionNumber.LOCATION_PATH, value: Buffer.from(String(count)) },
      ],
      payload: new Uint8Array(0),
    });
    void socket.send(reply, peer);
  });
  return { registrations: () => count };
}

/** JS heap plus ArrayBuffer backing stores, which live outside the heap but are memory a client holds all the same. */
function heap(): number {
  gc();
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

async function measureClients(): Promise<{ bytesPerClient: number; registrationsPerSec: number }> {
  const net = new Net();
  const responder = startResponder(net);
  const registry = createCoreObjectRegistry();
  const codec = createCodec({ registry });
  const before = heap();
  const clients: Lwm2mClient[] = [];
  let registered = 0;
  let allRegistered: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (allRegistered = resolve));
  const onRegistered = (): void => {
    if (++registered === N) allRegistered();
  };
  let port = 20000;
  const started = performance.now();
  for (let i = 0; i < N; i++) {
    const client = createClient({
      endpoint: `bench-${i}`,
      registry,
      codec,
      transport: {
        connect: () => Promise.resolve(new NetSocket(net, { address: '10.0.0.2', port: port++ })),
      },
      servers: [{ uri: 'coap://10.0.0.1:5683', ssid: 1, lifetime: 86400 }],
      device: { manufacturer: 'Acme', model: 'Bench', serialNumber: String(i) },
      objects: [temperatureObject([new TemperatureSensor()])],
    });
    client.once('registered', onRegistered);
    clients.push(client);
    void client.start();
  }
  await done;
  const elapsed = performance.now() - started;
  if (responder.registrations() !== N)
    throw new Error(`expected ${N} registrations, got ${responder.registrations()}`);
  const after = heap();
  const result = {
    bytesPerClient: Math.round((after - before) / N),
    registrationsPerSec: Math.round((N * 1000) / elapsed),
  };
  // Deregistration is answered too (any CON gets 2.01 here, which a client treats as success).
  await Promise.all(clients.map((c) => c.close()));
  return result;
}

const LWM2M_SERVER: PeerAddress = { address: '10.0.0.3', port: 5683 };

/** Registrations per second of N clients against @lwm2m/server, both in this process. */
async function measureAgainstServer(): Promise<number> {
  const net = new Net();
  const registry = createCoreObjectRegistry();
  const codec = createCodec({ registry });
  const server = createServer({ sockets: { coap: new NetSocket(net, LWM2M_SERVER) }, registry });
  await server.listen();
  let registered = 0;
  let allRegistered: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (allRegistered = resolve));
  server.on('registered', () => {
    if (++registered === N) allRegistered();
  });
  const clients: Lwm2mClient[] = [];
  const started = performance.now();
  for (let i = 0; i < N; i++) {
    const local = { address: '10.0.0.4', port: 20000 + i };
    const client = createClient({
      endpoint: `bench-${i}`,
      registry,
      codec,
      transport: { connect: () => Promise.resolve(new NetSocket(net, local)) },
      servers: [{ uri: 'coap://10.0.0.3:5683', ssid: 1, lifetime: 86400 }],
      device: { manufacturer: 'Acme', model: 'Bench', serialNumber: String(i) },
      objects: [temperatureObject([new TemperatureSensor()])],
    });
    clients.push(client);
    void client.start();
  }
  await done;
  const rate = Math.round((N * 1000) / (performance.now() - started));
  await Promise.all(clients.map((c) => c.close()));
  await server.close();
  return rate;
}

async function measureBareEndpoints(): Promise<number> {
  const net = new Net();
  const before = heap();
  const endpoints: CoapEndpoint[] = [];
  for (let i = 0; i < N; i++)
    endpoints.push(
      createCoapEndpoint({ socket: new NetSocket(net, { address: '10.0.0.2', port: 20000 + i }) }),
    );
  const after = heap();
  await Promise.all(endpoints.map((e) => e.close()));
  return Math.round((after - before) / N);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const perClient: number[] = [];
const perSecond: number[] = [];
const bare: number[] = [];
const againstServer: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const r = await measureClients();
  perClient.push(r.bytesPerClient);
  perSecond.push(r.registrationsPerSec);
  bare.push(await measureBareEndpoints());
  againstServer.push(await measureAgainstServer());
}
const clientBytes = median(perClient);
const bareBytes = median(bare);
console.log(
  JSON.stringify({
    benchmark: 'client',
    clients: N,
    rounds: ROUNDS,
    heapBytesPerClient: clientBytes,
    heapKiBPerClient: Math.round((clientBytes / 1024) * 10) / 10,
    goalKiB: 20,
    withinGoal: clientBytes <= 20 * 1024,
    baselineBareCoapEndpointBytes: bareBytes,
    ratioToBareEndpoint: Math.round((clientBytes / bareBytes) * 1000) / 1000,
    registrationsPerSecAgainstLwm2mServer: median(againstServer),
    registrationsPerSecAgainstBareResponder: median(perSecond),
    samples: {
      heapBytesPerClient: perClient,
      registrationsPerSec: perSecond,
      againstServer,
      bareEndpointBytes: bare,
    },
  }),
);
