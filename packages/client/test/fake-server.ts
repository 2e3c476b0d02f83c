import { EventEmitter } from 'node:events';
import type { DatagramMessage, DatagramSocket, DatagramSocketEvents, PeerAddress } from '@lwm2m/core';
import type {
  CoapEndpoint,
  CoapResponse,
  IncomingRequest,
  OutgoingRequest,
  OutgoingResponse,
} from '@lwm2m/transport-coap';
import { CoapCode, createCoapEndpoint, createMemorySocketPair } from '@lwm2m/transport-coap';
import type { ClientTransport, ConnectTarget } from '../src/index.js';

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: readonly string[];
  readonly payload: string;
  readonly bytes: Uint8Array;
  readonly contentFormat: number | undefined;
  readonly peer: PeerAddress;
}

/**
 * A minimal LwM2M server for tests, built on a CoapEndpoint: it records Register / Update /
 * Deregister / Send / Bootstrap-Request and lets a test send DM requests to the client at the
 * address it registered from.
 */
export class FakeServer extends EventEmitter<{ request: [ReceivedRequest] }> {
  readonly endpoint: CoapEndpoint;
  readonly requests: ReceivedRequest[] = [];
  /** Overrides the answer to a request (return undefined for the default). */
  answer: ((request: ReceivedRequest) => OutgoingResponse | undefined) | undefined;
  peer: PeerAddress | undefined;
  #next = 1;

  constructor(socket: DatagramSocket) {
    super();
    this.endpoint = createCoapEndpoint({ socket, handler: (r) => this.#handle(r), random: () => 0 });
  }

  #handle(request: IncomingRequest): OutgoingResponse {
    const received: ReceivedRequest = {
      method: request.method,
      path: `/${request.path.join('/')}`,
      query: request.query,
      payload: Buffer.from(request.payload).toString('utf8'),
      bytes: request.payload,
      contentFormat: request.contentFormat,
      peer: request.peer,
    };
    this.requests.push(received);
    this.emit('request', received);
    const custom = this.answer?.(received);
    if (custom !== undefined) return custom;
    if (request.method === 'POST' && received.path === '/rd') {
      this.peer = request.peer;
      return { code: CoapCode.CREATED, locationPath: ['rd', `r${this.#next++}`] };
    }
    if (request.method === 'POST' && received.path.startsWith('/rd/')) return { code: CoapCode.CHANGED };
    if (request.method === 'DELETE' && received.path.startsWith('/rd/')) return { code: CoapCode.DELETED };
    if (request.method === 'POST' && received.path === '/dp') return { code: CoapCode.CHANGED };
    if (request.method === 'POST' && received.path === '/bs') {
      this.peer = request.peer;
      return { code: CoapCode.CHANGED };
    }
    return { code: CoapCode.NOT_FOUND };
  }

  /** Resolves with the next request matching `filter` (or one already received when `past`). */
  next(filter: (r: ReceivedRequest) => boolean, past = false): Promise<ReceivedRequest> {
    if (past) {
      const found = this.requests.find(filter);
      if (found !== undefined) return Promise.resolve(found);
    }
    return new Promise((resolve) => {
      const listener = (r: ReceivedRequest): void => {
        if (!filter(r)) return;
        this.off('request', listener);
        resolve(r);
      };
      this.on('request', listener);
    });
  }

  /** A DM request to the client at its registration address. */
  request(request: Omit<OutgoingRequest, 'peer'>): Promise<CoapResponse> {
    if (this.peer === undefined) throw new Error('client not registered');
    return this.endpoint.request({ ...request, peer: this.peer }, { timeout: 5000 });
  }

  close(): Promise<void> {
    return this.endpoint.close();
  }
}

/** A fake server and a transport that connects the client to it through in-memory sockets. */
export function memoryServer(): { server: FakeServer; transport: ClientTransport; targets: ConnectTarget[] } {
  const [serverSocket, clientSocket] = createMemorySocketPair(
    { address: '10.0.0.1', port: 5683 },
    { address: '10.0.0.2', port: 56830 },
  );
  const server = new FakeServer(serverSocket);
  const targets: ConnectTarget[] = [];
  const transport: ClientTransport = {
    connect: (target) => {
      targets.push(target);
      return Promise.resolve(clientSocket);
    },
  };
  return { server, transport, targets };
}

export const MEMORY_SERVER_URI = 'coap://10.0.0.1:5683';

export function text(response: CoapResponse): string {
  return Buffer.from(response.payload).toString('utf8');
}

/** A socket on a {@link memoryNetwork}: datagrams reach whichever socket owns the peer address. */
class HubSocket extends EventEmitter<DatagramSocketEvents> implements DatagramSocket {
  readonly local: PeerAddress;
  readonly #hub: Map<string, HubSocket>;
  #closed = false;

  constructor(hub: Map<string, HubSocket>, local: PeerAddress) {
    super();
    this.local = local;
    this.#hub = hub;
    hub.set(`${local.address}:${local.port}`, this);
  }

  send(data: Uint8Array, peer: PeerAddress): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('closed'));
    const target = this.#hub.get(`${peer.address}:${peer.port}`);
    const copy = Uint8Array.from(data);
    if (target !== undefined)
      void Promise.resolve().then(() => target.deliver({ data: copy, peer: this.local }));
    return Promise.resolve();
  }

  deliver(message: DatagramMessage): void {
    if (!this.#closed) this.emit('message', message);
  }

  address(): PeerAddress {
    return this.local;
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#hub.delete(`${this.local.address}:${this.local.port}`);
      this.emit('close');
    }
    return Promise.resolve();
  }
}

/** Several fake servers on an in-memory network; each client `connect` gets a fresh socket (port). */
export function memoryNetwork(): {
  addServer(address: string): FakeServer;
  transport: ClientTransport;
  connects: ConnectTarget[];
  close(): Promise<void>;
} {
  const hub = new Map<string, HubSocket>();
  const servers: FakeServer[] = [];
  const connects: ConnectTarget[] = [];
  let port = 40000;
  return {
    connects,
    addServer(address) {
      const server = new FakeServer(new HubSocket(hub, { address, port: 5683 }));
      servers.push(server);
      return server;
    },
    transport: {
      connect(target) {
        connects.push(target);
        return Promise.resolve(new HubSocket(hub, { address: '10.0.0.2', port: port++ }));
      },
    },
    async close() {
      for (const server of servers) await server.close();
    },
  };
}
