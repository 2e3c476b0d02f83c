import type { PeerAddress } from '@lwm2m/core';
import { CoapCode, CoapType } from './codes.js';
import { parseMessage } from './message.js';
import type { ServerObservation } from './observe-server.js';
import { createEndpointPair, flush } from './test-pair.js';
import type { EndpointPair } from './test-pair.js';

let pair: EndpointPair | undefined;
afterEach(async () => {
  jest.useRealTimers();
  await pair?.close();
  pair = undefined;
});

function idsTo(pair: EndpointPair, peer: PeerAddress, from: 'server' | 'client'): number[] {
  const socket = from === 'server' ? pair.serverSocket : pair.clientSocket;
  return socket.sent
    .filter((entry) => entry.peer.address === peer.address && entry.peer.port === peer.port)
    .map((entry) => parseMessage(entry.data))
    .filter((message) => message.type === CoapType.CON || message.type === CoapType.NON)
    .map((message) => message.messageId);
}

const next = (id: number): number => (id + 1) & 0xffff;

describe('message ids are unique per peer across both roles (RFC 7252 §4.4)', () => {
  it("traffic to other peers does not move a peer's ids", async () => {
    const p = (pair = createEndpointPair(
      (request) => ({ code: CoapCode.CONTENT, payload: request.path.join('/') }),
      {},
      { transmission: { probingRate: Infinity } },
    ));
    const other: PeerAddress = { address: '10.9.9.9', port: 5683 };
    await p.client.request({ peer: p.serverPeer, method: 'GET', path: '/a' });
    // A busy endpoint: 3000 NON requests to another peer (never answered) in between.
    const abort = new AbortController();
    for (let i = 0; i < 3000; i++) {
      p.client
        .request({ peer: other, method: 'GET', path: '/x', confirmable: false }, { signal: abort.signal })
        .catch(() => undefined);
    }
    abort.abort();
    await p.client.request({ peer: p.serverPeer, method: 'GET', path: '/b' });
    const ids = idsTo(p, p.serverPeer, 'client');
    expect(ids).toHaveLength(2);
    expect(ids[1]).toBe(next(ids[0]!));
    const toOther = idsTo(p, other, 'client');
    expect(toOther).toHaveLength(3000);
    expect(new Set(toOther).size).toBe(3000);
  });

  it('requests, separate responses and notifications to one peer share its counter', async () => {
    jest.useFakeTimers();
    const observations: ServerObservation[] = [];
    const p = (pair = createEndpointPair(
      async (request) => {
        if (request.observe === 0) {
          observations.push(request.acceptObserve());
          return { code: CoapCode.CONTENT, payload: 'v0' };
        }
        await new Promise((resolve) => setTimeout(resolve, 1500)); // separate response
        return { code: CoapCode.CONTENT, payload: 'late' };
      },
      { separateResponseAfter: 1000 },
    ));
    await p.client.observe({ peer: p.serverPeer, method: 'GET', path: '/obs' }, { reregister: false });
    await observations[0]!.notify({ payload: 'n1', confirmable: true });
    const late = p.client.request({ peer: p.serverPeer, method: 'GET', path: '/slow' });
    await jest.advanceTimersByTimeAsync(1600);
    expect(Buffer.from((await late).payload).toString()).toBe('late');
    await p.server.request({ peer: p.clientPeer, method: 'GET', path: '/x' }).catch(() => undefined);
    await observations[0]!.notify({ payload: 'n2', confirmable: false });
    await flush();
    const ids = idsTo(p, p.clientPeer, 'server');
    // notification n1, separate response, request, notification n2
    expect(ids).toHaveLength(4);
    for (let i = 1; i < ids.length; i++) expect(ids[i]).toBe(next(ids[i - 1]!));
  });

  it('forgets a peer EXCHANGE_LIFETIME after its last message and starts elsewhere', async () => {
    jest.useFakeTimers();
    const p = (pair = createEndpointPair(
      () => ({ code: CoapCode.CONTENT }),
      {},
      {
        transmission: { exchangeLifetime: 10_000 },
        sweepInterval: 1000,
        // Deterministic, so a new start cannot happen to continue the old count.
        randomBytes: (size) => Uint8Array.from({ length: size }, (_, i) => (i * 131 + 17) & 0xff),
      },
    ));
    await p.client.request({ peer: p.serverPeer, method: 'GET' });
    await p.client.request({ peer: p.serverPeer, method: 'GET' });
    await jest.advanceTimersByTimeAsync(5000);
    await p.client.request({ peer: p.serverPeer, method: 'GET' });
    let ids = idsTo(p, p.serverPeer, 'client');
    expect(ids[1]).toBe(next(ids[0]!));
    expect(ids[2]).toBe(next(ids[1]!)); // within EXCHANGE_LIFETIME: the same counter
    await jest.advanceTimersByTimeAsync(11_000);
    await p.client.request({ peer: p.serverPeer, method: 'GET' });
    ids = idsTo(p, p.serverPeer, 'client');
    expect(ids[3]).not.toBe(next(ids[2]!)); // a fresh random start
  });
});
