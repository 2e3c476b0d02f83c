import { CoapCode, CoapType } from './codes.js';
import { ClosedError } from '@lwm2m/core';
import { parseMessage } from './message.js';
import type { ServerObservation } from './observe-server.js';
import { createEndpointPair, flush } from './test-pair.js';
import type { EndpointPair } from './test-pair.js';
import type { CoapEndpointOptions } from './endpoint.js';

const text = (data: Uint8Array): string => Buffer.from(data).toString('utf8');

let pair: EndpointPair | undefined;
afterEach(async () => {
  jest.useRealTimers();
  await pair?.close();
  pair = undefined;
});

/** A server endpoint with observers of /a and /b from one client; records when each notification left. */
async function observers(serverOptions: Partial<CoapEndpointOptions> = {}) {
  const observations = new Map<string, ServerObservation>();
  const p = (pair = createEndpointPair((request) => {
    if (request.observe === 0) observations.set(request.path.join('/'), request.acceptObserve());
    return { code: CoapCode.CONTENT, payload: 'v0' };
  }, serverOptions));
  await p.client.observe({ peer: p.serverPeer, method: 'GET', path: '/a' }, { reregister: false });
  await p.client.observe({ peer: p.serverPeer, method: 'GET', path: '/b' }, { reregister: false });
  const start = Date.now();
  const sent: { at: number; payload: string; type: number }[] = [];
  const original = p.serverSocket.sendNow.bind(p.serverSocket);
  p.serverSocket.sendNow = (data, peer) => {
    const message = parseMessage(data);
    if (message.code === CoapCode.CONTENT)
      sent.push({ at: Date.now() - start, payload: text(message.payload), type: message.type });
    original(data, peer);
  };
  return { p, a: observations.get('a')!, b: observations.get('b')!, sent };
}

describe('NON notification pacing per client (RFC 7641 §4.5.1)', () => {
  it('without an RTT estimate: a burst, then one per 3 s, the newest state replacing a held one', async () => {
    jest.useFakeTimers();
    const { a, sent } = await observers();
    const settled: string[] = [];
    for (let i = 1; i <= 7; i++) {
      void a.notify({ payload: `n${i}`, confirmable: false }).then(() => settled.push(`n${i}`));
    }
    await flush();
    expect(sent.map((s) => s.payload)).toEqual(['n1', 'n2', 'n3', 'n4']);
    await jest.advanceTimersByTimeAsync(2999);
    expect(sent).toHaveLength(4);
    await jest.advanceTimersByTimeAsync(1);
    // n5 and n6 were replaced by n7 while held; their notify() settles with n7's sending.
    expect(sent.map((s) => [s.payload, s.at])).toEqual([
      ['n1', 0],
      ['n2', 0],
      ['n3', 0],
      ['n4', 0],
      ['n7', 3000],
    ]);
    expect(settled).toEqual(['n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7']);
    // The bucket refills at one per 3 s (up to the burst).
    await jest.advanceTimersByTimeAsync(6000);
    await a.notify({ payload: 'n8', confirmable: false });
    await a.notify({ payload: 'n9', confirmable: false });
    void a.notify({ payload: 'n10', confirmable: false });
    await flush();
    expect(sent.slice(5).map((s) => [s.payload, s.at])).toEqual([
      ['n8', 9000],
      ['n9', 9000],
    ]);
    await jest.advanceTimersByTimeAsync(3000);
    expect(sent.slice(7).map((s) => [s.payload, s.at])).toEqual([['n10', 12_000]]);
  });

  it('observations of one client share its pace, in order', async () => {
    jest.useFakeTimers();
    const { a, b, sent } = await observers({ notificationPacing: { interval: 1000, burst: 1 } });
    void a.notify({ payload: 'a1', confirmable: false });
    void b.notify({ payload: 'b1', confirmable: false });
    void a.notify({ payload: 'a2', confirmable: false });
    await flush();
    await jest.advanceTimersByTimeAsync(5000);
    expect(sent.map((s) => [s.payload, s.at])).toEqual([
      ['a1', 0],
      ['b1', 1000],
      ['a2', 2000],
    ]);
  });

  it('paces by the measured round-trip time once there is one', async () => {
    jest.useFakeTimers();
    const { p, a, sent } = await observers({ notificationPacing: { interval: 1000, burst: 1 } });
    // An unretransmitted CON to the client answered 40 ms later gives an RTT sample.
    const original = p.clientSocket.sendNow.bind(p.clientSocket);
    p.clientSocket.sendNow = (data, peer) => void setTimeout(() => original(data, peer), 40);
    const answered = p.server.request({ peer: p.clientPeer, method: 'GET', path: '/x' });
    await jest.advanceTimersByTimeAsync(40);
    await answered;
    p.clientSocket.sendNow = original;
    const base = sent.length;
    for (let i = 1; i <= 3; i++) void a.notify({ payload: `n${i}`, confirmable: false });
    await flush();
    const t0 = sent[base]!.at;
    await jest.advanceTimersByTimeAsync(200);
    expect(sent.slice(base).map((s) => [s.payload, s.at - t0])).toEqual([
      ['n1', 0],
      ['n3', 40],
    ]);
  });

  it('does not hold CON notifications, and notificationPacing false turns it off', async () => {
    jest.useFakeTimers();
    const paced = await observers({ notificationPacing: { interval: 1000, burst: 1 } });
    for (let i = 1; i <= 3; i++) await paced.a.notify({ payload: `c${i}`, confirmable: true });
    expect(paced.sent.map((s) => s.type)).toEqual([CoapType.CON, CoapType.CON, CoapType.CON]);
    await pair!.close();

    const off = await observers({ notificationPacing: false });
    for (let i = 1; i <= 10; i++) void off.a.notify({ payload: `n${i}`, confirmable: false });
    await flush();
    expect(off.sent).toHaveLength(10);
  });

  it('drops what it holds for an observation that ends, rejecting its notify()', async () => {
    jest.useFakeTimers();
    const { a, sent } = await observers({ notificationPacing: { interval: 1000, burst: 1 } });
    await a.notify({ payload: 'n1', confirmable: false });
    const held = a.notify({ payload: 'n2', confirmable: false });
    a.cancel();
    await expect(held).rejects.toBeInstanceOf(ClosedError);
    await jest.advanceTimersByTimeAsync(5000);
    expect(sent.map((s) => s.payload)).toEqual(['n1']);
  });
});

describe('CON notifications per client at most NSTART (RFC 7641 §4.5.1)', () => {
  const ignore = (): void => undefined;

  /** The client loses its first `n` ACKs. */
  function loseAcks(p: EndpointPair, n: number): void {
    let lost = 0;
    p.clientSocket.drop = (data) => parseMessage(data).type === CoapType.ACK && lost++ < n;
  }

  it('holds a CON notification of another observation until the outstanding one is acknowledged', async () => {
    jest.useFakeTimers();
    const { p, a, b, sent } = await observers();
    loseAcks(p, 1);
    const settled: string[] = [];
    void a.notify({ payload: 'a1', confirmable: true }).then(() => settled.push('a1'), ignore);
    void b.notify({ payload: 'b1', confirmable: true }).then(() => settled.push('b1'), ignore);
    await flush();
    expect(sent.map((s) => [s.payload, s.at])).toEqual([['a1', 0]]);
    await jest.advanceTimersByTimeAsync(2000); // a1's retransmission, acknowledged this time
    expect(sent.map((s) => [s.payload, s.at, s.type])).toEqual([
      ['a1', 0, CoapType.CON],
      ['a1', 2000, CoapType.CON],
      ['b1', 2000, CoapType.CON],
    ]);
    expect(settled).toEqual(['a1', 'b1']);
  });

  it('a newer state of the outstanding observation takes its slot; a waiting one is replaced by its newer state', async () => {
    jest.useFakeTimers();
    const { p, a, b, sent } = await observers();
    loseAcks(p, 1);
    const settled: string[] = [];
    void a.notify({ payload: 'a1', confirmable: true }).then(() => settled.push('a1'), ignore);
    void b.notify({ payload: 'b1', confirmable: true }).then(() => settled.push('b1'), ignore);
    void a.notify({ payload: 'a2', confirmable: true }).then(() => settled.push('a2'), ignore);
    void b.notify({ payload: 'b2', confirmable: true }).then(() => settled.push('b2'), ignore);
    await flush();
    await jest.advanceTimersByTimeAsync(2000);
    // a2 went out in place of a1's retransmission (RFC 7641 §4.5.2), then b2 for b1.
    expect(sent.map((s) => s.payload)).toEqual(['a1', 'a2', 'b2']);
    expect(settled).toEqual(['a1', 'a2', 'b1', 'b2']);
  });

  it('a waiting notification of an observation that ends is dropped and its notify() rejects', async () => {
    jest.useFakeTimers();
    const { p, a, b, sent } = await observers();
    loseAcks(p, 1);
    void a.notify({ payload: 'a1', confirmable: true }).catch(ignore);
    const waiting = b.notify({ payload: 'b1', confirmable: true });
    b.cancel();
    await expect(waiting).rejects.toBeInstanceOf(ClosedError);
    await jest.advanceTimersByTimeAsync(5000);
    expect(sent.map((s) => s.payload)).toEqual(['a1', 'a1']);
  });

  it('NON notifications are not held behind an outstanding CON', async () => {
    jest.useFakeTimers();
    const { p, a, b, sent } = await observers();
    loseAcks(p, 1);
    void a.notify({ payload: 'a1', confirmable: true }).catch(ignore);
    await b.notify({ payload: 'b1', confirmable: false });
    expect(sent.map((s) => s.payload)).toEqual(['a1', 'b1']);
  });
});
