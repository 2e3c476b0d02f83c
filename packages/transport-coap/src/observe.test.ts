import { ClosedError, TimeoutError } from '@lwm2m/core';
import { CoapCode, CoapType } from './codes.js';
import { CoapTimeoutError } from './errors.js';
import { parseMessage, serializeMessage } from './message.js';
import { isFresher } from './observe-client.js';
import type { ObservationEndReason, ServerObservation } from './observe-server.js';
import { CoapOptionNumber, getUintOption, uintOption } from './options.js';
import { createEndpointPair, flush, sentMessages } from './test-pair.js';
import type { EndpointPair } from './test-pair.js';
import type { RequestHandler } from './types.js';

const text = (data: Uint8Array): string => Buffer.from(data).toString('utf8');

let pair: EndpointPair | undefined;
afterEach(async () => {
  jest.useRealTimers();
  await pair?.close();
  pair = undefined;
});

/** A server whose /obs resource accepts observers; the observations and their end reasons are collected. */
function observable(
  serverOptions = {},
  clientOptions = {},
): { pair: EndpointPair; observations: ServerObservation[]; ended: ObservationEndReason[]; calls: number[] } {
  const observations: ServerObservation[] = [];
  const ended: ObservationEndReason[] = [];
  const calls: number[] = [];
  const handler: RequestHandler = (request) => {
    calls.push(request.observe ?? -1);
    if (request.observe === 0 && request.path[0] === 'obs') {
      const observation = request.acceptObserve();
      observation.on('cancel', (reason) => ended.push(reason));
      observations.push(observation);
    }
    return { code: CoapCode.CONTENT, payload: 'v0', contentFormat: 0 };
  };
  pair = createEndpointPair(handler, serverOptions, clientOptions);
  return { pair, observations, ended, calls };
}

describe('server and client Observe (RFC 7641)', () => {
  it('registers, notifies with increasing Observe numbers, and yields each notification', async () => {
    const { pair: p, observations } = observable();
    const observation = await p.client.observe({ peer: p.serverPeer, method: 'GET', path: '/obs' });
    expect(observation.active).toBe(true);
    expect(observations).toHaveLength(1);
    const server = observations[0]!;
    expect(server.peer).toEqual(p.clientPeer);
    expect(server.path).toEqual(['obs']);
    const received: string[] = [];
    observation.on('notification', (n) => received.push(`event:${text(n.payload)}`));
    await server.notify({ payload: 'v1' });
    await server.notify({ payload: 'v2', confirmable: true });
    const iterator = observation[Symbol.asyncIterator]();
    const values: string[] = [];
    for (let i = 0; i < 3; i++) values.push(text((await iterator.next()).value!.payload));
    expect(values).toEqual(['v0', 'v1', 'v2']);
    expect(received).toEqual(['event:v1', 'event:v2']);
    const sequence = sentMessages(p.serverSocket)
      .filter((m) => m.code === CoapCode.CONTENT)
      .map((m) => getUintOption(m.options, CoapOptionNumber.OBSERVE)!);
    expect(sequence).toHaveLength(3);
    expect(sequence[1]! - sequence[0]!).toBe(1);
    expect(sequence[2]! - sequence[1]!).toBe(1);
    expect(sentMessages(p.serverSocket).map((m) => m.type)).toEqual([
      CoapType.ACK,
      CoapType.NON,
      CoapType.CON,
    ]);
  });

  it('cancels actively with GET Observe=1 and the same token', async () => {
    const { pair: p, ended, calls } = observable();
    const observation = await p.client.observe({ peer: p.serverPeer, method: 'GET', path: '/obs' });
    await observation.cancel();
    expect(ended).toEqual(['deregistered']);
    expect(calls).toEqual([0, 1]);
    const requests = sentMessages(p.clientSocket).filter((m) => m.code === CoapCode.GET);
    expect(requests[1]!.token).toEqual(requests[0]!.token);
    expect(p.server.serverObservations()).toHaveLength(0);
    expect(observation.active).toBe(false);
  });

  it('resolves an active cancel that close() cuts short (the observation ended; nothing left to reject)', async () => {
    const answered: number[] = [];
    pair = createEndpointPair((request) => {
      answered.push(request.observe ?? -1);
      if (request.observe === 0) {
        request.acceptObserve();
        return { code: CoapCode.CONTENT, payload: 'v0' };
      }
      return new Promise(() => undefined); // the deregistration is never answered
    });
    const observation = await pair.client.observe({ peer: pair.serverPeer, method: 'GET', path: '/obs' });
    const cancelled = observation.cancel({ active: true });
    await flush();
    expect(answered).toEqual([0, 1]);
    await pair.client.close();
    await expect(cancelled).resolves.toBeUndefined();
    expect(observation.active).toBe(false);
  });

  it('ends the observation when a for-await loop breaks', async () => {
    const { pair: p, ended } = observable();
    const observation = await p.client.observe({ peer: p.serverPeer, method: 'GET', path: '/obs' });
    for await (const notification of observation) {
      expect(text(notification.payload)).toBe('v0');
      break;
    }
    expect(ended).toEqual(['deregistered']);
  });

  it('cancels passively: the next notification is answered with Reset and the server drops the observer', async () => {
    const { pair: p, observations, ended } = observable();
    const observation = await p.client.observe({ peer: p.serverPeer, method: 'GET', path: '/obs' });
    await observation.cancel({ active: false });
    await observations[0]!.notify({ payload: 'v1' });
    await flush();
    expect(sentMessages(p.clientSocket).at(-1)!.type).toBe(CoapType.RST);
    expect(ended).toEqual(['reset']);
    await expect(observations[0]!.notify({ payload: 'v2' })).rejects.toBeInstanceOf(ClosedError);
  });

  it('drops the observer after a CON notification that is never acknowledged', async () => {
    jest.useFakeTimers();
    // The client would re-register at 62 s (default Max-Age 60 s + margin): not what this test watches.
    const { pair: p, observations, ended } = observable({}, { reregisterObservations: false });
    await p.client.observe({ peer: p.serverPeer, method: 'GET', path: '/obs' });
    p.serverSocket.drop = () => true;
    const result = observations[0]!
      .notify({ payload: 'v1', confirmable: true })
      .catch((error: unknown) => error);
    await jest.advanceTimersByTimeAsync(62_000);
    expect(await result).toBeInstanceOf(CoapTimeoutError);
    expect(ended).toEqual(['timeout']);
    expect(p.server.serverObservations()).toHaveLength(0);
  });

  it('sends a CON notification when the last CON is 24 hours old', async () => {
    jest.useFakeTimers();
    const { pair: p, observations } = observable();
    await p.client.observe({ peer: p.serverPeer, method: 'GET', path: '/obs' });
    const server = observations[0]!;
    await server.notify({ payload: 'a' });
    jest.setSystemTime(Date.now() + 24 * 60 * 60 * 1000);
    await server.notify({ payload: 'b' });
    await server.notify({ payload: 'c' });
    const types = sentMessages(p.serverSocket)
      .slice(1)
      .filter((m) => m.code === CoapCode.CONTENT)
      .map((m) => m.type);
    expect(types).toEqual([CoapType.NON, CoapType.CON, CoapType.NON]);
  });

  it('keeps only the newest notification waiting behind an unacknowledged CON', async () => {
    const { pair: p, observations } = observable();
    const observation = await p.client.observe({ peer: p.serverPeer, method: 'GET', path: '/obs' });
    const server = observations[0]!;
    const first = server.notify({ payload: 'v1', confirmable: true });
    const second = server.notify({ payload: 'v2' });
    const third = server.notify({ payload: 'v3' });
    await Promise.all([first, second, third]);
    await flush();
    const values: string[] = [];
    const iterator = observation[Symbol.asyncIterator]();
    for (let i = 0; i < 3; i++) values.push(text((await iterator.next()).value!.payload));
    expect(values).toEqual(['v0', 'v1', 'v3']);
  });

  it('lets a newer state take over the retransmissions of an unacknowledged CON notification (RFC 7641 §4.5.2)', async () => {
    jest.useFakeTimers();
    const { pair: p, observations, ended } = observable({}, { reregisterObservations: false });
    const observation = await p.client.observe({ peer: p.serverPeer, method: 'GET', path: '/obs' });
    const start = Date.now();
    const server = observations[0]!;
    const sends: { at: number; payload: string; messageId: number; observe: number | undefined }[] = [];
    // The observer hears nothing: every notification is lost.
    p.serverSocket.drop = (data) => {
      const message = parseMessage(data);
      sends.push({
        at: Date.now() - start,
        payload: text(message.payload),
        messageId: message.messageId,
        observe: getUintOption(message.options, CoapOptionNumber.OBSERVE),
      });
      return true;
    };
    const first = server.notify({ payload: 'v1', confirmable: true }).catch((error: unknown) => error);
    await jest.advanceTimersByTimeAsync(500);
    const second = server.notify({ payload: 'v2' }).catch((error: unknown) => error);
    await jest.advanceTimersByTimeAsync(500);
    const third = server.notify({ payload: 'v3' }).catch((error: unknown) => error);
    await jest.advanceTimersByTimeAsync(62_000);
    // v1 at 0; v3 (the newest; v2 was superseded before a slot came) takes v1's retransmission at
    // 2000 and keeps its schedule: 6000, 14000, 30000, then the exchange times out at 62000.
    expect(sends.map((send) => `${send.payload}@${send.at}`)).toEqual([
      'v1@0',
      'v3@2000',
      'v3@6000',
      'v3@14000',
      'v3@30000',
    ]);
    expect(sends[1]!.messageId).not.toBe(sends[0]!.messageId);
    expect(sends[1]!.observe!).toBeGreaterThan(sends[0]!.observe!);
    for (const result of [await first, await second, await third])
      expect(result).toBeInstanceOf(CoapTimeoutError);
    expect(ended).toEqual(['timeout']);
    expect(observation.active).toBe(true); // the client never heard of it
  });

  it('delivers the newer state once the taken-over notification is acknowledged', async () => {
    jest.useFakeTimers();
    const { pair: p, observations } = observable();
    const observation = await p.client.observe({ peer: p.serverPeer, method: 'GET', path: '/obs' });
    const server = observations[0]!;
    let lose = true;
    p.serverSocket.drop = () => lose;
    const first = server.notify({ payload: 'v1', confirmable: true });
    await jest.advanceTimersByTimeAsync(100);
    const second = server.notify({ payload: 'v2' });
    lose = false;
    await jest.advanceTimersByTimeAsync(2000);
    await Promise.all([first, second]);
    const values: string[] = [];
    const iterator = observation[Symbol.asyncIterator]();
    for (let i = 0; i < 2; i++) values.push(text((await iterator.next()).value!.payload));
    expect(values).toEqual(['v0', 'v2']);
    // Acknowledged: nothing is retransmitted any more.
    const sent = p.serverSocket.sent.length;
    await jest.advanceTimersByTimeAsync(60_000);
    expect(p.serverSocket.sent).toHaveLength(sent);
  });

  it('re-registers with the same token when Max-Age passes without a notification (RFC 7641 §3.3.1)', async () => {
    jest.useFakeTimers();
    const { pair: p, observations, calls } = observable({}, { reregistrationMargin: 1000 });
    const observation = await p.client.observe({ peer: p.serverPeer, method: 'GET', path: '/obs' });
    const start = Date.now();
    const registrations = (): { token: string }[] =>
      sentMessages(p.clientSocket)
        .filter((m) => m.code === CoapCode.GET && getUintOption(m.options, CoapOptionNumber.OBSERVE) === 0)
        .map((m) => ({ token: Buffer.from(m.token).toString('hex') }));
    const token = registrations()[0]!.token;
    // A notification with Max-Age 5 s at t=10 s moves the deadline to 16 s.
    await jest.advanceTimersByTimeAsync(10_000);
    await observations[0]!.notify({ payload: 'n1', maxAge: 5 });
    await jest.advanceTimersByTimeAsync(5_900);
    expect(registrations()).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(200);
    expect(Date.now() - start).toBeGreaterThanOrEqual(16_000);
    expect(registrations()).toHaveLength(2);
    expect(registrations()[1]!.token).toBe(token);
    expect(calls).toEqual([0, 0]);
    // The server accepted again: its answer reaches the same observation, which stays active.
    expect(observation.active).toBe(true);
    const values: string[] = [];
    const iterator = observation[Symbol.asyncIterator]();
    for (let i = 0; i < 3; i++) values.push(text((await iterator.next()).value!.payload));
    expect(values).toEqual(['v0', 'n1', 'v0']);
    await observations[1]!.notify({ payload: 'n2' });
    expect(text((await iterator.next()).value!.payload)).toBe('n2');
  });

  it('does not re-register when turned off, and ends the observation when re-registration fails', async () => {
    jest.useFakeTimers();
    const off = observable({}, { reregistrationMargin: 0 });
    const quiet = await off.pair.client.observe(
      { peer: off.pair.serverPeer, method: 'GET', path: '/obs' },
      { reregister: false },
    );
    await jest.advanceTimersByTimeAsync(120_000);
    expect(off.calls).toEqual([0]);
    expect(quiet.active).toBe(true);
    await off.pair.close();

    const { pair: p, calls } = observable({}, { reregistrationMargin: 0, requestTimeout: 5_000 });
    const observation = await p.client.observe({ peer: p.serverPeer, method: 'GET', path: '/obs' });
    p.clientSocket.drop = () => true; // the server is unreachable from now on
    const ended = new Promise<Error | undefined>((resolve) => observation.on('end', resolve));
    await jest.advanceTimersByTimeAsync(60_000 + 5_000);
    expect(await ended).toBeInstanceOf(TimeoutError);
    expect(observation.active).toBe(false);
    expect(calls).toEqual([0]);
  });

  it('ends both sides on a notification with an error code', async () => {
    const { pair: p, observations, ended } = observable();
    const observation = await p.client.observe({ peer: p.serverPeer, method: 'GET', path: '/obs' });
    await observations[0]!.notify({ code: CoapCode.NOT_FOUND });
    const codes: number[] = [];
    for await (const notification of observation) codes.push(notification.code);
    expect(codes).toEqual([CoapCode.CONTENT, CoapCode.NOT_FOUND]);
    expect(ended).toEqual(['error-response']);
  });

  it('reports an observation the server did not accept as inactive, yielding only the response', async () => {
    const { pair: p, calls } = observable();
    const observation = await p.client.observe({ peer: p.serverPeer, method: 'GET', path: '/plain' });
    expect(calls).toEqual([0]);
    expect(observation.active).toBe(false);
    const values: string[] = [];
    for await (const notification of observation) values.push(text(notification.payload));
    expect(values).toEqual(['v0']);
  });

  it('drops reordered notifications by the §3.4 rule and accepts them again after 128 s', async () => {
    jest.useFakeTimers({ doNotFake: ['queueMicrotask', 'nextTick'] });
    const { pair: p } = observable();
    const observation = await p.client.observe({ peer: p.serverPeer, method: 'GET', path: '/obs' });
    const token = sentMessages(p.clientSocket)[0]!.token;
    let messageId = 100;
    const inject = (sequence: number, payload: string): void =>
      p.clientSocket.inject(
        serializeMessage({
          type: CoapType.NON,
          code: CoapCode.CONTENT,
          messageId: messageId++,
          token,
          options: [uintOption(CoapOptionNumber.OBSERVE, sequence)],
          payload: Buffer.from(payload),
        }),
        p.serverPeer,
      );
    const seen: string[] = [];
    observation.on('notification', (n) => seen.push(text(n.payload)));
    inject(10, 'ten');
    inject(5, 'five (stale)');
    inject(11, 'eleven');
    jest.setSystemTime(Date.now() + 129_000);
    inject(6, 'six (after 128 s)');
    await flush();
    expect(seen).toEqual(['ten', 'eleven', 'six (after 128 s)']);
  });

  it('fetches the rest of a block-wise notification (Block2 on notifications)', async () => {
    const { pair: p, observations } = observable({ blockSize: 64 });
    const observation = await p.client.observe({ peer: p.serverPeer, method: 'GET', path: '/obs' });
    const big = Buffer.alloc(1000, 0x62);
    await observations[0]!.notify({ payload: big });
    const iterator = observation[Symbol.asyncIterator]();
    await iterator.next();
    const notification = (await iterator.next()).value!;
    expect(Buffer.from(notification.payload).equals(big)).toBe(true);
    const continuation = sentMessages(p.clientSocket)
      .filter((m) => m.code === CoapCode.GET)
      .slice(1);
    expect(continuation.length).toBe(Math.ceil(1000 / 64) - 1);
    expect(continuation.every((m) => getUintOption(m.options, CoapOptionNumber.OBSERVE) === undefined)).toBe(
      true,
    );
  });

  it('ends observations on close', async () => {
    const { pair: p, ended } = observable();
    const observation = await p.client.observe({ peer: p.serverPeer, method: 'GET', path: '/obs' });
    await p.server.close();
    expect(ended).toEqual(['closed']);
    await p.client.close();
    expect(observation.active).toBe(false);
  });
});

describe('isFresher (RFC 7641 §3.4)', () => {
  it('orders 24-bit sequence numbers with wrap-around and the 128 s window', () => {
    expect(isFresher(1, 0, 2, 0)).toBe(true);
    expect(isFresher(2, 0, 1, 0)).toBe(false);
    expect(isFresher(2, 0, 2, 0)).toBe(false);
    expect(isFresher(0xffffff, 0, 0, 0)).toBe(true);
    expect(isFresher(0, 0, 0xffffff, 0)).toBe(false);
    expect(isFresher(0, 0, 1 << 23, 0)).toBe(false);
    expect(isFresher(5, 0, 4, 128_001)).toBe(true);
    expect(isFresher(5, 0, 4, 128_000)).toBe(false);
  });
});
