import { AbortError, ClosedError, TimeoutError, createSilentLogger, isLwm2mError } from '@lwm2m/core';
import type { PeerAddress } from '@lwm2m/core';
import { CoapCode, CoapType } from './codes.js';
import { createCoapEndpoint } from './endpoint.js';
import type { CoapEndpoint, CoapEndpointOptions } from './endpoint.js';
import { CoapResetError, CoapTimeoutError } from './errors.js';
import { createMemorySocketPair } from './memory-socket.js';
import type { MemorySocket } from './memory-socket.js';
import { parseMessage, serializeMessage } from './message.js';
import type { CoapMessage } from './message.js';
import { CoapOptionNumber, getStringOptions, stringOption, uintOption } from './options.js';
import type { IncomingRequest, OutgoingResponse, RequestHandler } from './types.js';

const text = (data: Uint8Array): string => Buffer.from(data).toString('utf8');

interface Pair {
  serverSocket: MemorySocket;
  clientSocket: MemorySocket;
  server: CoapEndpoint;
  client: CoapEndpoint;
  serverPeer: PeerAddress;
  clientPeer: PeerAddress;
}

const open: CoapEndpoint[] = [];

function pair(
  handler?: RequestHandler,
  serverOptions: Partial<CoapEndpointOptions> = {},
  clientOptions: Partial<CoapEndpointOptions> = {},
): Pair {
  const [serverSocket, clientSocket] = createMemorySocketPair();
  const server = createCoapEndpoint({
    socket: serverSocket,
    random: () => 0,
    ...(handler ? { handler } : {}),
    ...serverOptions,
  });
  const client = createCoapEndpoint({ socket: clientSocket, random: () => 0, ...clientOptions });
  open.push(server, client);
  return {
    serverSocket,
    clientSocket,
    server,
    client,
    serverPeer: serverSocket.local,
    clientPeer: clientSocket.local,
  };
}

function sentMessages(socket: MemorySocket): CoapMessage[] {
  return socket.sent.map((entry) => parseMessage(entry.data));
}

async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

function rawRequest(fields: Partial<CoapMessage> = {}): Uint8Array {
  return serializeMessage({
    type: CoapType.CON,
    code: CoapCode.GET,
    messageId: 0x1234,
    token: Uint8Array.of(1, 2, 3, 4),
    options: [stringOption(CoapOptionNumber.URI_PATH, 'x')],
    payload: new Uint8Array(0),
    ...fields,
  });
}

afterEach(async () => {
  jest.useRealTimers();
  await Promise.all(open.splice(0).map((endpoint) => endpoint.close()));
});

describe('request / response', () => {
  it('delivers method, path, query, formats, payload, peer and identity to the handler and the piggybacked response back', async () => {
    let seen: IncomingRequest | undefined;
    const p = pair((request) => {
      seen = request;
      return { code: CoapCode.CHANGED, payload: 'done', contentFormat: 0, locationPath: 'rd/abc' };
    });
    p.clientSocket.identity = { kind: 'psk', identity: 'dev1' };
    const response = await p.client.request({
      peer: p.serverPeer,
      method: 'POST',
      path: '/rd',
      query: 'ep=dev1&lt=60',
      contentFormat: 40,
      accept: 0,
      payload: '</3/0>',
    });
    expect(response.code).toBe(CoapCode.CHANGED);
    expect(text(response.payload)).toBe('done');
    expect(response.contentFormat).toBe(0);
    expect(response.locationPath).toEqual(['rd', 'abc']);
    expect(seen?.method).toBe('POST');
    expect(seen?.path).toEqual(['rd']);
    expect(seen?.query).toEqual(['ep=dev1', 'lt=60']);
    expect(seen?.contentFormat).toBe(40);
    expect(seen?.accept).toBe(0);
    expect(text(seen!.payload)).toBe('</3/0>');
    expect(seen?.peer).toEqual(p.clientPeer);
    expect(seen?.identity).toEqual({ kind: 'psk', identity: 'dev1' });
    const [ack] = sentMessages(p.serverSocket);
    const [con] = sentMessages(p.clientSocket);
    expect(ack!.type).toBe(CoapType.ACK);
    expect(ack!.messageId).toBe(con!.messageId);
    expect(con!.token.length).toBe(8);
  });

  it('serves requests and sends requests on the same socket (both roles)', async () => {
    const p = pair(() => ({ code: CoapCode.CONTENT, payload: 'from server' }));
    p.client.setHandler(() => ({ code: CoapCode.CONTENT, payload: 'from client' }));
    const [toClient, toServer] = await Promise.all([
      p.server.request({ peer: p.clientPeer, method: 'GET', path: '/3/0/0' }),
      p.client.request({ peer: p.serverPeer, method: 'GET', path: '/' }),
    ]);
    expect(text(toClient.payload)).toBe('from client');
    expect(text(toServer.payload)).toBe('from server');
    const ids = sentMessages(p.serverSocket)
      .filter((m) => m.type === CoapType.CON)
      .map((m) => m.messageId);
    expect(ids).toHaveLength(1);
  });

  it('uses fresh random tokens and message ids never repeated toward a peer', async () => {
    const p = pair(() => ({ code: CoapCode.CONTENT }), {}, { transmission: { nstart: 4 } });
    await Promise.all(
      Array.from({ length: 50 }, () => p.client.request({ peer: p.serverPeer, method: 'GET' })),
    );
    const requests = sentMessages(p.clientSocket);
    expect(new Set(requests.map((m) => m.messageId)).size).toBe(50);
    expect(new Set(requests.map((m) => Buffer.from(m.token).toString('hex'))).size).toBe(50);
  });

  it('answers 4.04 without a handler, 5.00 when the handler throws or rejects', async () => {
    const p = pair();
    expect((await p.client.request({ peer: p.serverPeer, method: 'GET' })).code).toBe(CoapCode.NOT_FOUND);
    p.server.setHandler(() => {
      throw new Error('boom');
    });
    expect((await p.client.request({ peer: p.serverPeer, method: 'GET' })).code).toBe(
      CoapCode.INTERNAL_SERVER_ERROR,
    );
    p.server.setHandler(() => Promise.reject(new Error('boom')));
    expect((await p.client.request({ peer: p.serverPeer, method: 'GET' })).code).toBe(
      CoapCode.INTERNAL_SERVER_ERROR,
    );
  });

  it('answers a NON request with a NON response', async () => {
    const p = pair(() => ({ code: CoapCode.CONTENT, payload: 'x' }));
    const response = await p.client.request({ peer: p.serverPeer, method: 'GET', confirmable: false });
    expect(response.message.type).toBe(CoapType.NON);
    expect(sentMessages(p.clientSocket)[0]!.type).toBe(CoapType.NON);
  });

  it('sends an empty ACK then a separate CON response when the handler is slow, and the client ACKs it', async () => {
    jest.useFakeTimers();
    let finish: ((response: OutgoingResponse) => void) | undefined;
    const p = pair(() => new Promise<OutgoingResponse>((resolve) => (finish = resolve)), {
      separateResponseAfter: 500,
    });
    const pending = p.client.request({ peer: p.serverPeer, method: 'GET', path: '/slow' });
    await flush();
    await jest.advanceTimersByTimeAsync(500);
    const [emptyAck] = sentMessages(p.serverSocket);
    expect(emptyAck).toMatchObject({ type: CoapType.ACK, code: 0 });
    // The client stops retransmitting after the empty ACK: nothing more in 10 s.
    await jest.advanceTimersByTimeAsync(10_000);
    expect(p.clientSocket.sent).toHaveLength(1);
    finish!({ code: CoapCode.CONTENT, payload: 'late' });
    const response = await pending;
    expect(text(response.payload)).toBe('late');
    await flush();
    const serverSent = sentMessages(p.serverSocket);
    expect(serverSent[1]).toMatchObject({ type: CoapType.CON, code: CoapCode.CONTENT });
    const clientAck = sentMessages(p.clientSocket)[1]!;
    expect(clientAck).toMatchObject({ type: CoapType.ACK, code: 0, messageId: serverSent[1]!.messageId });
    // Acknowledged: the server does not retransmit the separate response.
    await jest.advanceTimersByTimeAsync(60_000);
    expect(p.serverSocket.sent).toHaveLength(2);
  });
});

describe('reliability (RFC 7252 §4.2, §4.8)', () => {
  it('retransmits a CON after ACK_TIMEOUT, doubling, MAX_RETRANSMIT times, then rejects with CoapTimeoutError', async () => {
    jest.useFakeTimers();
    const start = Date.now();
    const p = pair();
    const times: number[] = [];
    p.clientSocket.drop = () => {
      times.push(Date.now() - start);
      return true;
    };
    const result = p.client.request({ peer: p.serverPeer, method: 'GET' }).catch((error: unknown) => error);
    await jest.advanceTimersByTimeAsync(62_000);
    const error = await result;
    expect(error).toBeInstanceOf(CoapTimeoutError);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(times).toEqual([0, 2000, 6000, 14000, 30000]);
    const ids = sentMessages(p.clientSocket).map((m) => m.messageId);
    expect(new Set(ids).size).toBe(1);
  });

  it('draws the initial timeout from [ACK_TIMEOUT, ACK_TIMEOUT * ACK_RANDOM_FACTOR]', async () => {
    jest.useFakeTimers();
    const start = Date.now();
    const p = pair(
      undefined,
      {},
      { random: () => 0.5, transmission: { ackTimeout: 1000, ackRandomFactor: 2, maxRetransmit: 1 } },
    );
    const times: number[] = [];
    p.clientSocket.drop = () => {
      times.push(Date.now() - start);
      return true;
    };
    const result = p.client.request({ peer: p.serverPeer, method: 'GET' }).catch((error: unknown) => error);
    await jest.advanceTimersByTimeAsync(1500);
    expect(times).toEqual([0, 1500]);
    await jest.advanceTimersByTimeAsync(3000);
    expect(await result).toBeInstanceOf(CoapTimeoutError);
  });

  it('replays the cached response to a duplicate CON without running the handler again', async () => {
    let calls = 0;
    const p = pair(() => ({ code: CoapCode.CONTENT, payload: `call ${++calls}` }));
    const request = rawRequest();
    p.serverSocket.inject(request, p.clientPeer);
    await flush();
    p.serverSocket.inject(request, p.clientPeer);
    await flush();
    expect(calls).toBe(1);
    expect(p.serverSocket.sent).toHaveLength(2);
    expect(p.serverSocket.sent[1]!.data).toEqual(p.serverSocket.sent[0]!.data);
    // Same message id from another port is another exchange.
    p.serverSocket.inject(request, { address: p.clientPeer.address, port: p.clientPeer.port + 1 });
    await flush();
    expect(calls).toBe(2);
  });

  it('answers a duplicate of a slow CON request with nothing until the handler is done, then with the empty ACK', async () => {
    jest.useFakeTimers();
    let finish: ((response: OutgoingResponse) => void) | undefined;
    let calls = 0;
    const p = pair(() => {
      calls++;
      return new Promise<OutgoingResponse>((resolve) => (finish = resolve));
    });
    const request = rawRequest();
    p.serverSocket.inject(request, p.clientPeer);
    await flush();
    p.serverSocket.inject(request, p.clientPeer);
    await flush();
    expect(p.serverSocket.sent).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1000);
    p.serverSocket.inject(request, p.clientPeer);
    await flush();
    expect(sentMessages(p.serverSocket).map((m) => [m.type, m.code])).toEqual([
      [CoapType.ACK, 0],
      [CoapType.ACK, 0],
    ]);
    finish!({ code: CoapCode.CONTENT });
    await flush();
    expect(calls).toBe(1);
  });

  it('rejects with CoapResetError when the peer answers with Reset', async () => {
    const p = pair();
    p.serverSocket.removeAllListeners('message');
    p.serverSocket.on('message', ({ data, peer }) => {
      const message = parseMessage(data);
      void p.serverSocket.send(
        serializeMessage({
          ...message,
          type: CoapType.RST,
          code: 0,
          token: new Uint8Array(0),
          options: [],
          payload: new Uint8Array(0),
        }),
        peer,
      );
    });
    await expect(p.client.request({ peer: p.serverPeer, method: 'GET' })).rejects.toBeInstanceOf(
      CoapResetError,
    );
  });

  it('fails a NON request at once when the peer answers it with Reset', async () => {
    const p = pair();
    p.serverSocket.removeAllListeners('message');
    p.serverSocket.on('message', ({ data, peer }) => {
      const message = parseMessage(data);
      void p.serverSocket.send(
        serializeMessage({
          ...message,
          type: CoapType.RST,
          code: 0,
          token: new Uint8Array(0),
          options: [],
          payload: new Uint8Array(0),
        }),
        peer,
      );
    });
    await expect(
      p.client.request({ peer: p.serverPeer, method: 'GET', confirmable: false }),
    ).rejects.toBeInstanceOf(CoapResetError);
  });

  it('does not hold the NSTART slot for a NON request', async () => {
    // PROBING_RATE would hold the second NON back (see probing.test.ts); this is about NSTART.
    const p = pair(
      () => new Promise<OutgoingResponse>(() => undefined),
      {},
      {
        transmission: { probingRate: Infinity },
      },
    );
    void p.client.request({ peer: p.serverPeer, method: 'GET', confirmable: false }).catch(() => undefined);
    void p.client.request({ peer: p.serverPeer, method: 'GET', confirmable: false }).catch(() => undefined);
    await flush();
    expect(p.clientSocket.sent).toHaveLength(2);
  });

  it('answers an unknown CON response with Reset and ignores an unknown ACK', async () => {
    const p = pair();
    p.clientSocket.inject(
      serializeMessage({
        type: CoapType.CON,
        code: CoapCode.CONTENT,
        messageId: 77,
        token: Uint8Array.of(9, 9),
        options: [],
        payload: Uint8Array.of(1),
      }),
      p.serverPeer,
    );
    p.clientSocket.inject(
      serializeMessage({
        type: CoapType.ACK,
        code: CoapCode.CONTENT,
        messageId: 78,
        token: Uint8Array.of(9, 9),
        options: [],
        payload: new Uint8Array(0),
      }),
      p.serverPeer,
    );
    await flush();
    expect(sentMessages(p.clientSocket)).toEqual([
      {
        type: CoapType.RST,
        code: 0,
        messageId: 77,
        token: new Uint8Array(0),
        options: [],
        payload: new Uint8Array(0),
      },
    ]);
  });

  it('answers a CoAP ping with Reset, and ping() resolves on it', async () => {
    const p = pair();
    await expect(p.client.ping(p.serverPeer)).resolves.toBeUndefined();
    const reply = sentMessages(p.serverSocket)[0]!;
    const ping = sentMessages(p.clientSocket)[0]!;
    expect(ping).toMatchObject({ type: CoapType.CON, code: 0 });
    expect(reply).toMatchObject({ type: CoapType.RST, code: 0, messageId: ping.messageId });
  });

  it('ping() rejects with CoapTimeoutError when nobody answers', async () => {
    jest.useFakeTimers();
    const p = pair();
    p.clientSocket.drop = () => true;
    const result = p.client.ping(p.serverPeer).catch((error: unknown) => error);
    await jest.advanceTimersByTimeAsync(62_000);
    expect(await result).toBeInstanceOf(CoapTimeoutError);
  });

  it('keeps NSTART requests outstanding per peer and queues the rest', async () => {
    const finishers: ((response: OutgoingResponse) => void)[] = [];
    const p = pair(() => new Promise<OutgoingResponse>((resolve) => finishers.push(resolve)));
    const results = [1, 2, 3].map((n) =>
      p.client.request({ peer: p.serverPeer, method: 'GET', path: `/${n}` }),
    );
    await flush();
    expect(p.clientSocket.sent).toHaveLength(1);
    finishers[0]!({ code: CoapCode.CONTENT, payload: 'one' });
    await results[0];
    await flush();
    expect(p.clientSocket.sent).toHaveLength(2);
    expect(getStringOptions(sentMessages(p.clientSocket)[1]!.options, CoapOptionNumber.URI_PATH)).toEqual([
      '2',
    ]);
    finishers[1]!({ code: CoapCode.CONTENT });
    await flush();
    finishers[2]!({ code: CoapCode.CONTENT });
    await Promise.all(results);
    expect(p.clientSocket.sent).toHaveLength(3);
  });

  it('lets the next queued request go when an empty ACK arrives', async () => {
    jest.useFakeTimers();
    const finishers: ((response: OutgoingResponse) => void)[] = [];
    const p = pair(() => new Promise<OutgoingResponse>((resolve) => finishers.push(resolve)), {
      separateResponseAfter: 100,
    });
    const results = [1, 2].map(() => p.client.request({ peer: p.serverPeer, method: 'GET' }));
    await flush();
    expect(p.clientSocket.sent).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(100);
    expect(sentMessages(p.clientSocket).filter((m) => m.type === CoapType.CON)).toHaveLength(2);
    finishers.forEach((finish) => finish({ code: CoapCode.CONTENT }));
    await Promise.all(results);
  });
});

describe('timeouts, abort and close', () => {
  it('rejects with TimeoutError after `timeout` even while acknowledged', async () => {
    jest.useFakeTimers();
    const p = pair(() => new Promise<OutgoingResponse>(() => undefined), { separateResponseAfter: 10 });
    const result = p.client
      .request({ peer: p.serverPeer, method: 'GET' }, { timeout: 5000 })
      .catch((error: unknown) => error);
    await jest.advanceTimersByTimeAsync(5000);
    const error = await result;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).not.toBeInstanceOf(CoapTimeoutError);
  });

  it('rejects with AbortError when the signal aborts, before or during the exchange', async () => {
    const p = pair(() => new Promise<OutgoingResponse>(() => undefined));
    const controller = new AbortController();
    const result = p.client.request({ peer: p.serverPeer, method: 'GET' }, { signal: controller.signal });
    await flush();
    controller.abort();
    await expect(result).rejects.toBeInstanceOf(AbortError);
    await expect(
      p.client.request({ peer: p.serverPeer, method: 'GET' }, { signal: controller.signal }),
    ).rejects.toBeInstanceOf(AbortError);
  });

  it('close() is idempotent, rejects in-flight requests with ClosedError and closes an owned socket', async () => {
    const p = pair(() => new Promise<OutgoingResponse>(() => undefined));
    const results = [
      p.client.request({ peer: p.serverPeer, method: 'GET' }),
      p.client.request({ peer: p.serverPeer, method: 'GET' }),
    ];
    await flush();
    await Promise.all([p.client.close(), p.client.close()]);
    for (const result of results) await expect(result).rejects.toBeInstanceOf(ClosedError);
    expect(p.clientSocket.closed).toBe(true);
    await expect(p.client.request({ peer: p.serverPeer, method: 'GET' })).rejects.toBeInstanceOf(ClosedError);
  });

  it('holds only its sweep timer while idle, one timer per queue in use, and none once closed', async () => {
    jest.useFakeTimers();
    const p = pair(() => new Promise<OutgoingResponse>(() => undefined), { separateResponseAfter: 10 });
    // Idle: each endpoint's sweep, nothing else (timer queues are made on first use).
    expect(jest.getTimerCount()).toBe(2);
    const result = p.client.request({ peer: p.serverPeer, method: 'GET' }).catch((error: unknown) => error);
    await flush();
    // Client: retransmission and deadline queues; server: the separate-response queue.
    expect(jest.getTimerCount()).toBe(5);
    await Promise.all([p.client.close(), p.server.close()]);
    expect(await result).toBeInstanceOf(ClosedError);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('rejects an unknown method with a typed error', async () => {
    const p = pair();
    const error = await p.client
      .request({ peer: p.serverPeer, method: 'BREW' as 'GET' })
      .catch((e: unknown) => e);
    expect(isLwm2mError(error)).toBe(true);
  });
});

describe('bad input (RFC 7252 §4.2, §5.4.1)', () => {
  it('answers an unparsable CON with Reset and drops an unparsable NON', async () => {
    const p = pair(() => ({ code: CoapCode.CONTENT }));
    p.serverSocket.inject(Uint8Array.of(0x40, 0x01, 0xab, 0xcd, 0xf1, 0x00), p.clientPeer);
    p.serverSocket.inject(Uint8Array.of(0x50, 0x01, 0xab, 0xce, 0xf1, 0x00), p.clientPeer);
    p.serverSocket.inject(Uint8Array.of(0x40, 0x01), p.clientPeer);
    await flush();
    expect(sentMessages(p.serverSocket)).toEqual([
      {
        type: CoapType.RST,
        code: 0,
        messageId: 0xabcd,
        token: new Uint8Array(0),
        options: [],
        payload: new Uint8Array(0),
      },
    ]);
  });

  it('answers 4.02 to an unknown critical option in a CON and ignores such a NON', async () => {
    let calls = 0;
    const p = pair(() => ({ code: CoapCode.CONTENT, payload: String(++calls) }));
    const critical = [stringOption(CoapOptionNumber.URI_PATH, 'x'), uintOption(2049, 1)];
    p.serverSocket.inject(rawRequest({ options: critical }), p.clientPeer);
    p.serverSocket.inject(rawRequest({ type: CoapType.NON, messageId: 2, options: critical }), p.clientPeer);
    p.serverSocket.inject(rawRequest({ messageId: 3, options: [uintOption(2048, 1)] }), p.clientPeer);
    await flush();
    const replies = sentMessages(p.serverSocket);
    expect(replies.map((m) => [m.messageId, m.code])).toEqual([
      [0x1234, CoapCode.BAD_OPTION],
      [3, CoapCode.CONTENT],
    ]);
    expect(calls).toBe(1);
  });

  it('answers 4.05 to an unknown method code and Reset to a reserved class', async () => {
    const p = pair(() => ({ code: CoapCode.CONTENT }));
    p.serverSocket.inject(rawRequest({ code: 8 }), p.clientPeer);
    p.serverSocket.inject(rawRequest({ code: 0xe0, messageId: 5 }), p.clientPeer);
    await flush();
    expect(sentMessages(p.serverSocket).map((m) => [m.type, m.code, m.messageId])).toEqual([
      [CoapType.ACK, CoapCode.METHOD_NOT_ALLOWED, 0x1234],
      [CoapType.RST, 0, 5],
    ]);
  });

  it('survives 100k random and mutated datagrams without an exception escaping', async () => {
    const failures: unknown[] = [];
    const logger = {
      ...createSilentLogger(),
      error: (obj: unknown) => failures.push(obj),
      child: () => logger,
    };
    const p = pair((request) => ({ code: CoapCode.CONTENT, payload: request.payload }), {
      separateResponseAfter: 60_000,
      logger,
    });
    const seeds = [
      rawRequest(),
      rawRequest({
        options: [uintOption(CoapOptionNumber.BLOCK1, 0x0a), uintOption(CoapOptionNumber.SIZE1, 100)],
        payload: new Uint8Array(64),
      }),
      rawRequest({
        options: [uintOption(CoapOptionNumber.OBSERVE, 0), uintOption(CoapOptionNumber.BLOCK2, 0x12)],
      }),
      serializeMessage({
        type: CoapType.ACK,
        code: CoapCode.CONTENT,
        messageId: 1,
        token: Uint8Array.of(1),
        options: [],
        payload: Uint8Array.of(1),
      }),
      Uint8Array.of(0x40, 0, 0, 1),
    ];
    let state = 0x9e3779b9;
    const random = (): number => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return (state >>> 0) / 0x100000000;
    };
    const peers = [p.clientPeer, { address: '10.9.9.9', port: 1 }];
    for (let i = 0; i < 100_000; i++) {
      let data: Uint8Array;
      if (i % 2 === 0) {
        data = Uint8Array.from({ length: Math.floor(random() * 40) }, () => Math.floor(random() * 256));
        if (data.length > 0) data[0] = 0x40 | (data[0]! & 0x3f);
      } else {
        data = Uint8Array.from(seeds[i % seeds.length]!);
        const flips = 1 + Math.floor(random() * 3);
        for (let f = 0; f < flips && data.length > 0; f++)
          data[Math.floor(random() * data.length)] = Math.floor(random() * 256);
      }
      p.serverSocket.inject(data, peers[i % 2]!);
      if (i % 1000 === 0) await flush();
    }
    await flush();
    // Handling errors are caught and logged at error level: there must be none.
    expect(failures).toEqual([]);
    // Still working afterwards.
    const response = await p.client.request({ peer: p.serverPeer, method: 'GET', payload: 'alive' });
    expect(text(response.payload)).toBe('alive');
  });
});
