import { CoapCode, CoapType } from './codes.js';
import { parseMessage, serializeMessage } from './message.js';
import type { ServerObservation } from './observe-server.js';
import { createEndpointPair, flush } from './test-pair.js';
import type { EndpointPair } from './test-pair.js';

const text = (data: Uint8Array): string => Buffer.from(data).toString('utf8');

let pair: EndpointPair | undefined;
afterEach(async () => {
  jest.useRealTimers();
  await pair?.close();
  pair = undefined;
});

describe('PROBING_RATE for NON traffic to a peer that does not answer (RFC 7252 §4.7)', () => {
  function silentPeerPair(probingRate: number): { p: EndpointPair; sentAt: number[]; send: () => void } {
    const p = (pair = createEndpointPair(undefined, {}, { transmission: { probingRate } }));
    const start = Date.now();
    const sentAt: number[] = [];
    // The server never answers.
    p.clientSocket.drop = () => {
      sentAt.push(Date.now() - start);
      return true;
    };
    const send = (): void => {
      void p.client
        .request({ peer: p.serverPeer, method: 'GET', path: '/x', confirmable: false }, { timeout: 600_000 })
        .catch(() => undefined);
    };
    return { p, sentAt, send };
  }

  it('holds NON requests back to the configured average rate', async () => {
    jest.useFakeTimers();
    const { p, sentAt, send } = silentPeerPair(10);
    send();
    send();
    send();
    await flush();
    expect(sentAt).toEqual([0]); // the first NON probes; the others wait
    const size = p.clientSocket.sent[0]!.data.length;
    await jest.advanceTimersByTimeAsync(10_000);
    // The n-th may go once n * size bytes fit under 10 bytes/s since the first.
    expect(sentAt).toEqual([0, (2 * size * 1000) / 10, (3 * size * 1000) / 10]);
  });

  it('releases held NONs as soon as the peer sends anything', async () => {
    jest.useFakeTimers();
    const { p, sentAt, send } = silentPeerPair(1);
    send();
    send();
    send();
    await flush();
    expect(sentAt).toEqual([0]);
    await jest.advanceTimersByTimeAsync(1000);
    expect(sentAt).toEqual([0]);
    // Here a Reset (to nothing): any message counts, and this one needs no answer.
    p.clientSocket.inject(
      serializeMessage({
        type: CoapType.RST,
        code: 0,
        messageId: 1,
        token: new Uint8Array(0),
        options: [],
        payload: new Uint8Array(0),
      }),
      p.serverPeer,
    );
    await flush();
    expect(sentAt).toEqual([0, 1000, 1000]);
  });

  it('replaces a held NON notification with the newer state of the same observation', async () => {
    jest.useFakeTimers();
    const observations: ServerObservation[] = [];
    const p = (pair = createEndpointPair(
      (request) => {
        observations.push(request.acceptObserve());
        return { code: CoapCode.CONTENT, payload: 'v0' };
      },
      { transmission: { probingRate: 1 }, probeNotifications: true },
    ));
    await p.client.observe({ peer: p.serverPeer, method: 'GET', path: '/obs' }, { reregister: false });
    const server = observations[0]!;
    const payloads = (): string[] =>
      p.serverSocket.sent.map((entry) => parseMessage(entry.data)).map((message) => text(message.payload));
    // The observer never answers NON notifications, so after the first one it counts as silent.
    await server.notify({ payload: 'n1', confirmable: false });
    await server.notify({ payload: 'n2', confirmable: false });
    await server.notify({ payload: 'n3', confirmable: false });
    await flush();
    expect(payloads()).toEqual(['v0', 'n1']);
    await jest.advanceTimersByTimeAsync(120_000);
    expect(payloads()).toEqual(['v0', 'n1', 'n3']);
  });

  it('leaves NON notifications alone unless probeNotifications is on', async () => {
    const observations: ServerObservation[] = [];
    const p = (pair = createEndpointPair(
      (request) => {
        observations.push(request.acceptObserve());
        return { code: CoapCode.CONTENT, payload: 'v0' };
      },
      { transmission: { probingRate: 1 } },
    ));
    await p.client.observe({ peer: p.serverPeer, method: 'GET', path: '/obs' }, { reregister: false });
    for (const payload of ['n1', 'n2', 'n3']) await observations[0]!.notify({ payload, confirmable: false });
    await flush();
    expect(p.serverSocket.sent).toHaveLength(4);
  });

  it('sends every NON at once with probingRate Infinity', async () => {
    const p = (pair = createEndpointPair(undefined, {}, { transmission: { probingRate: Infinity } }));
    p.clientSocket.drop = () => true;
    for (let i = 0; i < 5; i++) {
      void p.client
        .request({ peer: p.serverPeer, method: 'GET', confirmable: false }, { timeout: 1000 })
        .catch(() => undefined);
    }
    await flush();
    expect(p.clientSocket.sent).toHaveLength(5);
  });

  it('forgets a silent peer after NON_LIFETIME once its average is within the rate', async () => {
    jest.useFakeTimers();
    const { sentAt, send } = silentPeerPair(1);
    send();
    await flush();
    expect(sentAt).toEqual([0]);
    await jest.advanceTimersByTimeAsync(150_000); // past NON_LIFETIME (145 s) and a sweep
    send();
    await flush();
    expect(sentAt).toEqual([0, 150_000]);
    send(); // a new probe started with the previous one: this one waits again
    await flush();
    expect(sentAt).toHaveLength(2);
  });
});
