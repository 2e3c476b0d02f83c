import { CoapCode, CoapType } from './codes.js';
import { decodeBlock, encodeBlock } from './block.js';
import { CoapBlockError } from './errors.js';
import { parseMessage as parseRequest, serializeMessage } from './message.js';
import type { CoapMessage } from './message.js';
import { CoapOptionNumber, findOption, getUintOption, stringOption, uintOption } from './options.js';
import { createEndpointPair, flush, sentMessages } from './test-pair.js';
import type { EndpointPair } from './test-pair.js';
import type { IncomingRequest } from './types.js';

const pattern = (size: number): Buffer =>
  Buffer.from(Array.from({ length: size }, (_, i) => (i * 31 + (i >> 7)) & 0xff));
const block = (message: CoapMessage, number: number) => {
  const option = findOption(message.options, number);
  return option === undefined ? undefined : decodeBlock(option.value);
};

let pair: EndpointPair | undefined;
afterEach(async () => {
  jest.useRealTimers();
  await pair?.close();
  pair = undefined;
});

describe('Block1 uploads (RFC 7959 §2.5)', () => {
  it('uploads a large body in blocks, each with its own token, Size1 on the first; the handler sees the whole body once', async () => {
    const received: IncomingRequest[] = [];
    pair = createEndpointPair((request) => {
      received.push(request);
      return { code: CoapCode.CHANGED };
    });
    const body = pattern(5000);
    const response = await pair.client.request({
      peer: pair.serverPeer,
      method: 'PUT',
      path: '/5/0/0',
      payload: body,
      blockSize: 64,
    });
    expect(response.code).toBe(CoapCode.CHANGED);
    expect(received).toHaveLength(1);
    expect(Buffer.from(received[0]!.payload).equals(body)).toBe(true);
    const requests = sentMessages(pair.clientSocket);
    expect(requests).toHaveLength(Math.ceil(5000 / 64));
    expect(new Set(requests.map((m) => Buffer.from(m.token).toString('hex'))).size).toBe(requests.length);
    expect(getUintOption(requests[0]!.options, CoapOptionNumber.SIZE1)).toBe(5000);
    expect(requests.map((m) => block(m, CoapOptionNumber.BLOCK1)!.num)).toEqual(requests.map((_, i) => i));
    const replies = sentMessages(pair.serverSocket);
    expect(replies.slice(0, -1).every((m) => m.code === CoapCode.CONTINUE)).toBe(true);
    expect(block(replies.at(-1)!, CoapOptionNumber.BLOCK1)).toEqual({
      num: requests.length - 1,
      more: false,
      szx: 2,
    });
  });

  it('follows a server that asks for smaller blocks', async () => {
    let got: Uint8Array | undefined;
    pair = createEndpointPair(
      (request) => {
        got = request.payload;
        return { code: CoapCode.CHANGED };
      },
      { blockSize: 256 },
    );
    const body = pattern(3000);
    await pair.client.request({ peer: pair.serverPeer, method: 'POST', path: '/x', payload: body });
    expect(Buffer.from(got!).equals(body)).toBe(true);
    const sizes = sentMessages(pair.clientSocket).map((m) => block(m, CoapOptionNumber.BLOCK1)!.szx);
    expect(sizes[0]).toBe(6);
    expect(sizes.slice(1).every((szx) => szx === 4)).toBe(true);
  });

  it('answers 4.13 with Size1 when the body is too large, up front from Size1 or on the block that overflows', async () => {
    pair = createEndpointPair(() => ({ code: CoapCode.CHANGED }), { maxBodySize: 1000 });
    const upfront = await pair.client.request({
      peer: pair.serverPeer,
      method: 'PUT',
      path: '/x',
      payload: pattern(5000),
      blockSize: 64,
    });
    expect(upfront.code).toBe(CoapCode.REQUEST_ENTITY_TOO_LARGE);
    expect(getUintOption(upfront.options, CoapOptionNumber.SIZE1)).toBe(1000);
    expect(pair.clientSocket.sent).toHaveLength(1);

    // Without Size1 the server finds out when the blocks pass the limit.
    const messages: Uint8Array[] = [];
    for (let num = 0; num < 20; num++) {
      messages.push(
        serializeMessage({
          type: CoapType.CON,
          code: CoapCode.PUT,
          messageId: 500 + num,
          token: Uint8Array.of(num),
          options: [
            stringOption(CoapOptionNumber.URI_PATH, 'y'),
            { number: CoapOptionNumber.BLOCK1, value: encodeBlock({ num, more: true, szx: 2 }) },
          ],
          payload: new Uint8Array(64),
        }),
      );
    }
    for (const message of messages) pair.serverSocket.inject(message, pair.clientPeer);
    await flush();
    const codes = sentMessages(pair.serverSocket)
      .slice(1)
      .map((m) => m.code);
    expect(codes.slice(0, 15).every((c) => c === CoapCode.CONTINUE)).toBe(true);
    expect(codes[15]).toBe(CoapCode.REQUEST_ENTITY_TOO_LARGE);
  });

  it('answers 4.08 to a block without its predecessors, and after the upload state expired', async () => {
    jest.useFakeTimers({ doNotFake: ['queueMicrotask', 'nextTick'] });
    pair = createEndpointPair(() => ({ code: CoapCode.CHANGED }), {
      transmission: { exchangeLifetime: 10_000 },
    });
    const blockMessage = (num: number, messageId: number): Uint8Array =>
      serializeMessage({
        type: CoapType.CON,
        code: CoapCode.PUT,
        messageId,
        token: Uint8Array.of(messageId),
        options: [
          stringOption(CoapOptionNumber.URI_PATH, 'z'),
          { number: CoapOptionNumber.BLOCK1, value: encodeBlock({ num, more: true, szx: 0 }) },
        ],
        payload: new Uint8Array(16),
      });
    pair.serverSocket.inject(blockMessage(2, 1), pair.clientPeer);
    pair.serverSocket.inject(blockMessage(0, 2), pair.clientPeer);
    pair.serverSocket.inject(blockMessage(1, 3), pair.clientPeer);
    await flush();
    jest.advanceTimersByTime(10_001);
    pair.serverSocket.inject(blockMessage(2, 4), pair.clientPeer);
    await flush();
    expect(sentMessages(pair.serverSocket).map((m) => m.code)).toEqual([
      CoapCode.REQUEST_ENTITY_INCOMPLETE,
      CoapCode.CONTINUE,
      CoapCode.CONTINUE,
      CoapCode.REQUEST_ENTITY_INCOMPLETE,
    ]);
  });
});

describe('Block2 downloads (RFC 7959 §2.4)', () => {
  it('serves a large response block by block from one handler call and reassembles it on the client', async () => {
    let calls = 0;
    const body = pattern(5000);
    pair = createEndpointPair(() => {
      calls++;
      return { code: CoapCode.CONTENT, payload: body, contentFormat: 42 };
    });
    const response = await pair.client.request({ peer: pair.serverPeer, method: 'GET', path: '/fw' });
    expect(Buffer.from(response.payload).equals(body)).toBe(true);
    expect(response.contentFormat).toBe(42);
    expect(calls).toBe(1);
    const replies = sentMessages(pair.serverSocket);
    expect(replies).toHaveLength(Math.ceil(5000 / 1024));
    expect(getUintOption(replies[0]!.options, CoapOptionNumber.SIZE2)).toBe(5000);
    expect(replies.map((m) => block(m, CoapOptionNumber.BLOCK2))).toEqual([
      { num: 0, more: true, szx: 6 },
      { num: 1, more: true, szx: 6 },
      { num: 2, more: true, szx: 6 },
      { num: 3, more: true, szx: 6 },
      { num: 4, more: false, szx: 6 },
    ]);
  });

  it('keeps blocks within the datagram size the transport allows (e.g. DTLS)', async () => {
    const body = pattern(2000);
    pair = createEndpointPair(() => ({ code: CoapCode.CONTENT, payload: body }));
    pair.serverSocket.maxDatagramSize = () => 600;
    const response = await pair.client.request({ peer: pair.serverPeer, method: 'GET', path: '/x' });
    expect(Buffer.from(response.payload).equals(body)).toBe(true);
    const replies = sentMessages(pair.serverSocket);
    expect(replies.map((m) => block(m, CoapOptionNumber.BLOCK2)!.szx).every((szx) => szx === 4)).toBe(true);
    expect(pair.serverSocket.sent.every((entry) => entry.data.length <= 600)).toBe(true);
  });

  it('uses the smaller block size a client asks for early', async () => {
    const body = pattern(300);
    pair = createEndpointPair(() => ({ code: CoapCode.CONTENT, payload: body }));
    const response = await pair.client.request({
      peer: pair.serverPeer,
      method: 'GET',
      path: '/x',
      blockSize: 128,
    });
    expect(Buffer.from(response.payload).equals(body)).toBe(true);
    expect(sentMessages(pair.serverSocket).map((m) => block(m, CoapOptionNumber.BLOCK2)!.szx)).toEqual([
      3, 3, 3,
    ]);
  });

  it('serves a later block by running the handler again when nothing is cached, and 4.02 past the end', async () => {
    const body = pattern(100);
    pair = createEndpointPair(() => ({ code: CoapCode.CONTENT, payload: body }));
    const request = (num: number, messageId: number): Uint8Array =>
      serializeMessage({
        type: CoapType.CON,
        code: CoapCode.GET,
        messageId,
        token: Uint8Array.of(messageId),
        options: [
          stringOption(CoapOptionNumber.URI_PATH, 'x'),
          { number: CoapOptionNumber.BLOCK2, value: encodeBlock({ num, more: false, szx: 0 }) },
        ],
        payload: new Uint8Array(0),
      });
    pair.serverSocket.inject(request(6, 1), pair.clientPeer);
    pair.serverSocket.inject(request(7, 2), pair.clientPeer);
    await flush();
    const [last, beyond] = sentMessages(pair.serverSocket);
    expect(block(last!, CoapOptionNumber.BLOCK2)).toEqual({ num: 6, more: false, szx: 0 });
    expect(Buffer.from(last!.payload).equals(body.subarray(96))).toBe(true);
    expect(beyond!.code).toBe(CoapCode.BAD_OPTION);
  });

  it('rejects with CoapBlockError when the ETag changes during a download', async () => {
    pair = createEndpointPair();
    let version = 0;
    pair.serverSocket.removeAllListeners('message');
    const { serverSocket } = pair;
    serverSocket.on('message', ({ data, peer }) => {
      const message = parseRequest(data);
      const num = block(message, CoapOptionNumber.BLOCK2)?.num ?? 0;
      void serverSocket.send(
        serializeMessage({
          type: CoapType.ACK,
          code: CoapCode.CONTENT,
          messageId: message.messageId,
          token: message.token,
          options: [
            { number: CoapOptionNumber.ETAG, value: Uint8Array.of(version++) },
            { number: CoapOptionNumber.BLOCK2, value: encodeBlock({ num, more: true, szx: 0 }) },
          ],
          payload: new Uint8Array(16),
        }),
        peer,
      );
    });
    await expect(pair.client.request({ peer: pair.serverPeer, method: 'GET' })).rejects.toBeInstanceOf(
      CoapBlockError,
    );
  });
});

describe('random access to one Block2 block (RFC 7959 §2.4)', () => {
  const asked = (num: number, szx: number) => [
    { number: CoapOptionNumber.BLOCK2, value: encodeBlock({ num, more: false, szx }) },
  ];

  it('returns just the block asked for, with its Block2 option, without fetching the rest', async () => {
    const body = pattern(5000);
    let calls = 0;
    pair = createEndpointPair(() => {
      calls++;
      return { code: CoapCode.CONTENT, payload: body, contentFormat: 42 };
    });
    const response = await pair.client.request({
      peer: pair.serverPeer,
      method: 'GET',
      path: '/fw',
      options: asked(7, 5), // block 7 of 512 bytes
    });
    expect(response.code).toBe(CoapCode.CONTENT);
    expect(Buffer.from(response.payload).equals(body.subarray(7 * 512, 8 * 512))).toBe(true);
    expect(block(response.message, CoapOptionNumber.BLOCK2)).toEqual({ num: 7, more: true, szx: 5 });
    expect(decodeBlock(findOption(response.options, CoapOptionNumber.BLOCK2)!.value)).toEqual({
      num: 7,
      more: true,
      szx: 5,
    });
    expect(response.contentFormat).toBe(42);
    expect(sentMessages(pair.clientSocket)).toHaveLength(1);
    expect(calls).toBe(1);
  });

  it('returns the last block with more=false, and block 0 alone (Size2 readable)', async () => {
    const body = pattern(1100);
    pair = createEndpointPair(() => ({ code: CoapCode.CONTENT, payload: body }));
    const last = await pair.client.request({
      peer: pair.serverPeer,
      method: 'GET',
      path: '/x',
      options: asked(2, 5),
    });
    expect(block(last.message, CoapOptionNumber.BLOCK2)).toEqual({ num: 2, more: false, szx: 5 });
    expect(Buffer.from(last.payload).equals(body.subarray(1024))).toBe(true);
    const first = await pair.client.request({
      peer: pair.serverPeer,
      method: 'GET',
      path: '/x',
      options: asked(0, 4),
      blockSize: 256,
    });
    expect(first.payload).toHaveLength(256);
    expect(getUintOption(first.options, CoapOptionNumber.SIZE2)).toBe(1100);
    expect(sentMessages(pair.clientSocket)).toHaveLength(2);
    // Past the end: the server's answer, as it is.
    const beyond = await pair.client.request({
      peer: pair.serverPeer,
      method: 'GET',
      path: '/x',
      options: asked(9, 5),
    });
    expect(beyond.code).toBe(CoapCode.BAD_OPTION);
  });
});

describe("'block1' progress events of incoming uploads", () => {
  it('fires once per block taken into reassembly, with the running total and Size1', async () => {
    pair = createEndpointPair(() => ({ code: CoapCode.CHANGED }));
    const events: unknown[] = [];
    pair.server.on('block1', (info) =>
      events.push({
        path: info.path.join('/'),
        num: info.num,
        size: info.size,
        more: info.more,
        received: info.received,
        size1: info.size1,
        method: info.method,
        peer: info.peer.port,
      }),
    );
    const body = pattern(300);
    await pair.client.request({
      peer: pair.serverPeer,
      method: 'PUT',
      path: '/5/0/0',
      payload: body,
      blockSize: 128,
    });
    expect(events).toEqual([
      {
        path: '5/0/0',
        num: 0,
        size: 128,
        more: true,
        received: 128,
        size1: 300,
        method: 'PUT',
        peer: pair.clientPeer.port,
      },
      {
        path: '5/0/0',
        num: 1,
        size: 128,
        more: true,
        received: 256,
        size1: 300,
        method: 'PUT',
        peer: pair.clientPeer.port,
      },
      {
        path: '5/0/0',
        num: 2,
        size: 128,
        more: false,
        received: 300,
        size1: 300,
        method: 'PUT',
        peer: pair.clientPeer.port,
      },
    ]);
  });

  it('does not fire for a duplicate or out-of-order block, tells a too-large one, and a throwing listener breaks nothing', async () => {
    pair = createEndpointPair(() => ({ code: CoapCode.CHANGED }), { maxBodySize: 200 });
    const nums: number[] = [];
    const tooLarge: { num: number; received: number }[] = [];
    pair.server.on('block1', (info) => {
      nums.push(info.num);
      if (info.tooLarge) tooLarge.push({ num: info.num, received: info.received });
      throw new Error('listener bug');
    });
    const put = (num: number, more: boolean, messageId: number): Uint8Array =>
      serializeMessage({
        type: CoapType.CON,
        code: CoapCode.PUT,
        messageId,
        token: Uint8Array.of(messageId),
        options: [
          stringOption(CoapOptionNumber.URI_PATH, 'x'),
          { number: CoapOptionNumber.BLOCK1, value: encodeBlock({ num, more, szx: 2 }) },
        ],
        payload: new Uint8Array(64),
      });
    pair.serverSocket.inject(put(0, true, 1), pair.clientPeer);
    pair.serverSocket.inject(put(1, true, 2), pair.clientPeer);
    pair.serverSocket.inject(put(1, true, 3), pair.clientPeer); // block 1 again (a new message id)
    pair.serverSocket.inject(put(3, true, 4), pair.clientPeer); // a gap: 4.08
    await flush();
    expect(nums).toEqual([0, 1]);
    pair.serverSocket.inject(put(0, true, 5), pair.clientPeer);
    pair.serverSocket.inject(put(1, true, 6), pair.clientPeer);
    pair.serverSocket.inject(put(2, true, 7), pair.clientPeer);
    pair.serverSocket.inject(put(3, true, 8), pair.clientPeer); // over maxBodySize: 4.13
    await flush();
    expect(nums).toEqual([0, 1, 0, 1, 2, 3]);
    expect(tooLarge).toEqual([{ num: 3, received: 192 }]);
    // A body announced too large (Size1) is refused at its first block.
    pair.serverSocket.inject(
      serializeMessage({
        type: CoapType.CON,
        code: CoapCode.PUT,
        messageId: 9,
        token: Uint8Array.of(9),
        options: [
          stringOption(CoapOptionNumber.URI_PATH, 'y'),
          { number: CoapOptionNumber.BLOCK1, value: encodeBlock({ num: 0, more: true, szx: 2 }) },
          uintOption(CoapOptionNumber.SIZE1, 1000),
        ],
        payload: new Uint8Array(64),
      }),
      pair.clientPeer,
    );
    await flush();
    expect(tooLarge).toEqual([
      { num: 3, received: 192 },
      { num: 0, received: 0 },
    ]);
    const codes = sentMessages(pair.serverSocket).map((m) => m.code);
    expect(codes).toEqual([
      CoapCode.CONTINUE,
      CoapCode.CONTINUE,
      CoapCode.CONTINUE,
      CoapCode.REQUEST_ENTITY_INCOMPLETE,
      CoapCode.CONTINUE,
      CoapCode.CONTINUE,
      CoapCode.CONTINUE,
      CoapCode.REQUEST_ENTITY_TOO_LARGE,
      CoapCode.REQUEST_ENTITY_TOO_LARGE,
    ]);
  });
});
