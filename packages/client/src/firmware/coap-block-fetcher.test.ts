import type { DatagramMessage } from '@lwm2m/core';
import {
  DEFAULT_TRANSMISSION,
  CoapCode,
  CoapOptionNumber,
  CoapType,
  createMemorySocketPair,
  decodeBlock,
  encodeBlock,
  findOption,
  parseMessage,
  serializeMessage,
} from '@lwm2m/transport-coap';
import type { CoapMessage, TransmissionParameters } from '@lwm2m/transport-coap';
import { systemClock } from '@lwm2m/core';
import { CoapBlockFetcher } from './coap-block-fetcher.js';

const SERVER = { address: '10.0.0.1', port: 5683 };
const CLIENT = { address: '10.0.0.2', port: 40000 };
const TRANSMISSION: TransmissionParameters = {
  ...DEFAULT_TRANSMISSION,
  ackTimeout: 20,
  ackRandomFactor: 1,
  maxRetransmit: 2,
  nstart: 1,
  exchangeLifetime: 1000,
  nonLifetime: 1000,
};
const PATH = [{ number: CoapOptionNumber.URI_PATH, value: new TextEncoder().encode('fw') }];

function reply(
  request: CoapMessage,
  type: number,
  messageId: number,
  code: number,
  payload = new Uint8Array(0),
  block = true,
): Uint8Array {
  const asked = decodeBlock(findOption(request.options, CoapOptionNumber.BLOCK2)!.value)!;
  return serializeMessage({
    type,
    code,
    messageId,
    token: type === CoapType.ACK && code === CoapCode.EMPTY ? new Uint8Array(0) : request.token,
    options: block
      ? [
          {
            number: CoapOptionNumber.BLOCK2,
            value: encodeBlock({ num: asked.num, more: true, szx: asked.szx }),
          },
        ]
      : [],
    payload,
  });
}

describe('CoapBlockFetcher', () => {
  it('takes a piggybacked block after a lost request and a separate response after an empty ACK', async () => {
    const [server, client] = createMemorySocketPair(SERVER, CLIENT);
    const fetcher = new CoapBlockFetcher(client, SERVER, TRANSMISSION, systemClock);
    const seen: CoapMessage[] = [];
    let separate = false;
    let loseNext = true;
    server.on('message', ({ data }: DatagramMessage) => {
      const request = parseMessage(data);
      if (request.type === CoapType.ACK) return;
      seen.push(request);
      if (loseNext) {
        loseNext = false; // this transmission is "lost"
        return;
      }
      if (!separate) {
        void server.send(
          reply(request, CoapType.ACK, request.messageId, CoapCode.CONTENT, new Uint8Array([1, 2, 3])),
          CLIENT,
        );
        return;
      }
      void server.send(
        reply(request, CoapType.ACK, request.messageId, CoapCode.EMPTY, undefined, false),
        CLIENT,
      );
      setTimeout(
        () =>
          void server.send(reply(request, CoapType.CON, 777, CoapCode.CONTENT, new Uint8Array([9])), CLIENT),
        60,
      );
    });

    const first = await fetcher.fetch(PATH, 3, 2);
    expect(first.code).toBe(CoapCode.CONTENT);
    expect([...first.payload]).toEqual([1, 2, 3]);
    expect(first.block).toEqual({ num: 3, more: true, szx: 2 });
    // The retransmission carries the same message id and token.
    expect(seen).toHaveLength(2);
    expect(seen[1]!.messageId).toBe(seen[0]!.messageId);

    separate = true;
    const acks: CoapMessage[] = [];
    server.on('message', ({ data }: DatagramMessage) => {
      const message = parseMessage(data);
      if (message.type === CoapType.ACK) acks.push(message);
    });
    const second = await fetcher.fetch(PATH, 4, 2);
    expect([...second.payload]).toEqual([9]);
    // The separate CON response was acknowledged.
    expect(acks.map((a) => a.messageId)).toEqual([777]);
    fetcher.close();
  });

  it('rejects with a TimeoutError after MAX_RETRANSMIT, with CoapResetError on a Reset, and on abort', async () => {
    const [server, client] = createMemorySocketPair(SERVER, CLIENT);
    const fetcher = new CoapBlockFetcher(client, SERVER, TRANSMISSION, systemClock);
    let sent = 0;
    let reset = false;
    server.on('message', ({ data }: DatagramMessage) => {
      sent++;
      const request = parseMessage(data);
      if (reset)
        void server.send(
          serializeMessage({
            type: CoapType.RST,
            code: 0,
            messageId: request.messageId,
            token: new Uint8Array(0),
            options: [],
            payload: new Uint8Array(0),
          }),
          CLIENT,
        );
    });
    await expect(fetcher.fetch(PATH, 0, 6)).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
    expect(sent).toBe(3);
    reset = true;
    await expect(fetcher.fetch(PATH, 0, 6)).rejects.toMatchObject({ code: 'ERR_COAP_RESET' });
    reset = false;
    const controller = new AbortController();
    const pending = fetcher.fetch(PATH, 0, 6, controller.signal);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    fetcher.close();
  });
});
