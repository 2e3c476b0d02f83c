import type { PeerAddress } from '@lwm2m/core';
import { CoapCode, CoapType } from './codes.js';
import { createCoapEndpoint } from './endpoint.js';
import type { CoapEndpoint } from './endpoint.js';
import { CoapRequestError } from './errors.js';
import { MemorySocket } from './memory-socket.js';
import { parseMessage } from './message.js';
import type { ObservationEndReason, ServerObservation } from './observe-server.js';
import { createEndpointPair, flush } from './test-pair.js';
import type { EndpointPair } from './test-pair.js';
import type { CoapResponse, IncomingRequest } from './types.js';

const text = (data: Uint8Array): string => Buffer.from(data).toString('utf8');
const hex = (data: Uint8Array): string => Buffer.from(data).toString('hex');

let pair: EndpointPair | undefined;
let restarted: CoapEndpoint | undefined;
afterEach(async () => {
  jest.useRealTimers();
  await restarted?.close();
  restarted = undefined;
  await pair?.close();
  pair = undefined;
});

interface Setup {
  readonly p: EndpointPair;
  readonly server: ServerObservation;
  readonly ended: ObservationEndReason[];
  readonly requests: IncomingRequest[];
  readonly token: Uint8Array;
  /** The client process "restarts": a new endpoint on the same address, knowing nothing. */
  restart(): { endpoint: CoapEndpoint; socket: MemorySocket };
}

async function observed(body: (request: IncomingRequest) => string = () => 'v0'): Promise<Setup> {
  const observations: ServerObservation[] = [];
  const requests: IncomingRequest[] = [];
  const p = (pair = createEndpointPair((request) => {
    requests.push(request);
    if (request.observe === 0) observations.push(request.acceptObserve());
    return { code: CoapCode.CONTENT, payload: body(request), contentFormat: 0 };
  }));
  const first = await p.client.observe(
    { peer: p.serverPeer, method: 'GET', path: '/3303/0/5700' },
    { reregister: false },
  );
  const server = observations[0]!;
  const ended: ObservationEndReason[] = [];
  server.on('cancel', (reason) => ended.push(reason));
  return {
    p,
    server,
    ended,
    requests,
    token: first.token,
    restart: () => {
      void p.client.close();
      const socket = new MemorySocket(p.clientPeer);
      socket.connect(p.serverSocket);
      p.serverSocket.connect(socket);
      const endpoint = createCoapEndpoint({ socket, random: () => 0 });
      restarted = endpoint;
      return { endpoint, socket };
    },
  };
}

function sentBy(socket: MemorySocket, to: PeerAddress) {
  return socket.sent.filter((entry) => entry.peer.port === to.port).map((entry) => parseMessage(entry.data));
}

describe('adoptObservation: taking over an observation after a restart', () => {
  it('without it, a notification with an unknown token is answered with Reset and the observation ends', async () => {
    const { server, ended, restart } = await observed();
    restart();
    await server.notify({ payload: 'n1', confirmable: false });
    await flush();
    expect(ended).toEqual(['reset']);
  });

  it('delivers NON and CON notifications, acknowledging CONs, with the §3.4 rule from lastSequence', async () => {
    const { p, server, ended, token, restart } = await observed();
    // The server's sequence: 2 went with the registration answer. Notify 3 before the restart.
    await server.notify({ payload: 'n3', confirmable: false });
    await flush();
    const { endpoint, socket } = restart();
    const observation = endpoint.adoptObservation({
      peer: p.serverPeer,
      token: hex(token),
      path: '/3303/0/5700',
      lastSequence: 3,
    });
    expect(observation.adopted).toBe(true);
    expect(observation.active).toBe(true);
    expect(observation.response.observe).toBe(3);
    const seen: CoapResponse[] = [];
    observation.on('notification', (response) => seen.push(response));
    await server.notify({ payload: 'n4', confirmable: false });
    await server.notify({ payload: 'n5', confirmable: true }); // resolves only once acknowledged
    await flush();
    expect(seen.map((n) => [text(n.payload), n.observe])).toEqual([
      ['n4', 4],
      ['n5', 5],
    ]);
    expect(sentBy(socket, p.serverPeer).map((m) => m.type)).toEqual([CoapType.ACK]);
    // An older state (a reordered datagram) is not delivered.
    const stale = p.serverSocket.sent.find((entry) => text(parseMessage(entry.data).payload) === 'n3')!;
    socket.inject(stale.data, p.serverPeer);
    await flush();
    expect(seen).toHaveLength(2);
    // The iterator yields the notifications, no registration response.
    const iterator = observation[Symbol.asyncIterator]();
    expect(text((await iterator.next()).value.payload)).toBe('n4');
    expect(ended).toEqual([]);
  });

  it('without lastSequence the first notification is taken, whatever its number', async () => {
    const { p, server, token, restart } = await observed();
    const { endpoint } = restart();
    const observation = endpoint.adoptObservation({ peer: p.serverPeer, token });
    const next = observation[Symbol.asyncIterator]().next();
    await server.notify({ payload: 'x', confirmable: false });
    expect(text((await next).value!.payload)).toBe('x');
  });

  it('completes a block-wise notification with GETs of the path', async () => {
    const big = 'b'.repeat(3000);
    let current = 'v0';
    const { p, server, token, requests, restart } = await observed(() => current);
    const { endpoint } = restart();
    const observation = endpoint.adoptObservation({
      peer: p.serverPeer,
      token,
      path: '/3303/0/5700',
      accept: 0,
    });
    const next = observation[Symbol.asyncIterator]().next();
    current = big;
    await server.notify({ payload: big, contentFormat: 0 });
    const notification = (await next).value!;
    expect(text(notification.payload)).toBe(big);
    const blockRequests = requests.slice(1);
    expect(blockRequests.length).toBeGreaterThan(0);
    expect(blockRequests.every((r) => r.path.join('/') === '3303/0/5700' && r.accept === 0)).toBe(true);
  });

  it('cancels passively: the next notification is answered with Reset', async () => {
    const { p, server, ended, token, restart } = await observed();
    const { endpoint } = restart();
    const observation = endpoint.adoptObservation({ peer: p.serverPeer, token });
    await server.notify({ payload: 'n', confirmable: false });
    await flush();
    await observation.cancel({ active: false });
    expect(observation.active).toBe(false);
    expect(ended).toEqual([]);
    await server.notify({ payload: 'm', confirmable: false });
    await flush();
    expect(ended).toEqual(['reset']);
  });

  it('cancels actively with GET Observe=1 and the same token when it has the path', async () => {
    const { p, ended, token, requests, restart } = await observed();
    const { endpoint } = restart();
    const observation = endpoint.adoptObservation({ peer: p.serverPeer, token, path: '/3303/0/5700' });
    await observation.cancel();
    const last = requests[requests.length - 1]!;
    expect(last.observe).toBe(1);
    expect(hex(last.token)).toBe(hex(token));
    expect(last.path).toEqual(['3303', '0', '5700']);
    expect(ended).toEqual(['deregistered']);
  });

  it('re-registers when Max-Age passes without a notification, only when it has the path', async () => {
    jest.useFakeTimers();
    const { p, token, requests, restart } = await observed();
    const { endpoint } = restart();
    const withPath = endpoint.adoptObservation({ peer: p.serverPeer, token, path: '/3303/0/5700' });
    await jest.advanceTimersByTimeAsync(61_000);
    expect(requests).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(2_000); // Max-Age 60 s (absent) + 2 s margin
    expect(requests).toHaveLength(2);
    expect(requests[1]!.observe).toBe(0);
    expect(hex(requests[1]!.token)).toBe(hex(token));
    expect(withPath.active).toBe(true);
    await withPath.cancel({ active: false });

    const other = await observed();
    const second = other.restart().endpoint;
    second.adoptObservation({ peer: other.p.serverPeer, token: other.token });
    await jest.advanceTimersByTimeAsync(200_000);
    expect(other.requests).toHaveLength(1);
  });

  it('is idempotent for the same token and peer, and refuses bad or colliding tokens', async () => {
    const { p, token, restart } = await observed();
    const { endpoint } = restart();
    const first = endpoint.adoptObservation({ peer: p.serverPeer, token });
    expect(endpoint.adoptObservation({ peer: p.serverPeer, token: hex(token) })).toBe(first);
    expect(() => endpoint.adoptObservation({ peer: p.serverPeer, token: 'abc' })).toThrow(CoapRequestError);
    expect(() => endpoint.adoptObservation({ peer: p.serverPeer, token: 'zz11aa00' })).toThrow(
      CoapRequestError,
    );
    expect(() => endpoint.adoptObservation({ peer: p.serverPeer, token: new Uint8Array(2) })).toThrow(
      CoapRequestError,
    );
    expect(() => endpoint.adoptObservation({ peer: { address: '10.0.0.9', port: 1 }, token })).toThrow(
      CoapRequestError,
    );
    await endpoint.close();
    expect(() => endpoint.adoptObservation({ peer: p.serverPeer, token })).toThrow('endpoint closed');
  });
});
