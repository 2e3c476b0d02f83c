import { EventEmitter } from 'node:events';
import type { DatagramSocket, DatagramSocketEvents, PeerAddress } from '@lwm2m/core';
import { createCoapEndpoint, createMemorySocketPair } from '@lwm2m/transport-coap';
import type {
  CoapEndpoint,
  CoapResponse,
  MemorySocket,
  OutgoingRequest,
  RequestHandler,
} from '@lwm2m/transport-coap';
import type { Clock } from '@lwm2m/core';
import { createServer } from '../src/server.js';
import type { Lwm2mServer, ServerEvents, ServerOptions } from '../src/server.js';

/** A clock tests move by hand; timers fire in due order inside `advance`. */
export interface ManualClock extends Clock {
  advance(ms: number): void;
  readonly pending: number;
}

export function createManualClock(start = 1_700_000_000_000): ManualClock {
  let now = start;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimeout(fn, delay) {
      const id = ++seq;
      timers.set(id, { at: now + Math.max(0, delay), fn });
      return id;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        let next: [number, { at: number; fn: () => void }] | undefined;
        for (const entry of timers)
          if (entry[1].at <= end && (next === undefined || entry[1].at < next[1].at)) next = entry;
        if (next === undefined) break;
        timers.delete(next[0]);
        now = next[1].at;
        next[1].fn();
      }
      now = end;
    },
    get pending() {
      return timers.size;
    },
  };
}

export interface Harness {
  readonly server: Lwm2mServer;
  /** The client side: a CoAP endpoint at 10.0.0.2:56830. */
  readonly client: CoapEndpoint;
  readonly serverPeer: PeerAddress;
  send(request: Omit<OutgoingRequest, 'peer'>): Promise<CoapResponse>;
  close(): Promise<void>;
}

export async function createHarness(
  options: Omit<ServerOptions, 'sockets' | 'endpoints'> = {},
  clientHandler?: RequestHandler,
): Promise<Harness> {
  const [serverSocket, clientSocket] = createMemorySocketPair();
  const server = createServer({ ...options, sockets: { coap: serverSocket } });
  await server.listen();
  const client = createCoapEndpoint({
    socket: clientSocket,
    ...(clientHandler === undefined ? {} : { handler: clientHandler }),
  });
  const serverPeer = serverSocket.address();
  return {
    server,
    client,
    serverPeer,
    send: (request) => client.request({ ...request, peer: serverPeer }, { timeout: 5000 }),
    async close() {
      await server.close();
      await client.close();
    },
  };
}

/** Records server events in order. */
export function recordEvents(server: Lwm2mServer): { name: keyof ServerEvents; args: unknown[] }[] {
  const events: { name: keyof ServerEvents; args: unknown[] }[] = [];
  const names: (keyof ServerEvents)[] = [
    'registered',
    'updated',
    'deregistered',
    'expired',
    'notification',
    'send',
    'awake',
    'sleeping',
  ];
  for (const name of names) server.on(name, (...args: unknown[]) => events.push({ name, args }));
  return events;
}

export function codeText(code: number): string {
  return `${code >> 5}.${String(code & 0x1f).padStart(2, '0')}`;
}

/** Waits until `check` passes (or throws the last failure after `ms`). */
export async function eventually(check: () => void | Promise<void>, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > end) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

/**
 * A client behind a NAT, as the server sees it: the client's datagrams arrive from the NAT's
 * current public mapping, and only datagrams sent to that mapping reach the client (an old
 * mapping is gone). `rebind` gives the client a new public port, as a NAT does after idling.
 */
export interface NatPair {
  readonly serverSocket: DatagramSocket;
  readonly clientSocket: MemorySocket;
  rebind(port: number): void;
  readonly mapping: PeerAddress;
  /** Peers the server sent to that no longer reach the client. */
  readonly lost: PeerAddress[];
}

export function createNatPair(): NatPair {
  const [inner, clientSocket] = createMemorySocketPair();
  let mapping: PeerAddress = { address: '198.51.100.7', port: 40000 };
  const lost: PeerAddress[] = [];
  const events = new EventEmitter<DatagramSocketEvents>();
  inner.on('message', (message) => events.emit('message', { ...message, peer: mapping }));
  inner.on('close', () => events.emit('close'));
  const serverSocket: DatagramSocket = {
    send(data, peer) {
      if (peer.address === mapping.address && peer.port === mapping.port)
        return inner.send(data, clientSocket.local);
      lost.push(peer);
      return Promise.resolve();
    },
    address: () => inner.address(),
    maxDatagramSize: () => 1152,
    on(event, listener) {
      events.on(event, listener as never);
      return serverSocket;
    },
    off(event, listener) {
      events.off(event, listener as never);
      return serverSocket;
    },
    close: () => inner.close(),
  };
  return {
    serverSocket,
    clientSocket,
    rebind(port) {
      mapping = { address: mapping.address, port };
    },
    get mapping() {
      return mapping;
    },
    lost,
  };
}
