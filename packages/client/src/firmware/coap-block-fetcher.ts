import { randomBytes } from 'node:crypto';
import { AbortError, TimeoutError } from '@lwm2m/core';
import type { DatagramMessage, DatagramSocket, PeerAddress } from '@lwm2m/core';
import {
  CoapCode,
  CoapOptionNumber,
  CoapResetError,
  CoapType,
  decodeBlock,
  encodeBlock,
  findOption,
  getUintOption,
  parseMessage,
  serializeMessage,
} from '@lwm2m/transport-coap';
import type { BlockOption, CoapMessage, CoapOption, TransmissionParameters } from '@lwm2m/transport-coap';
import type { Clock } from '@lwm2m/core';

/** One Block2 response. */
export interface FetchedBlock {
  readonly code: number;
  readonly payload: Uint8Array;
  /** Absent when the server sent the whole body in one response. */
  readonly block: BlockOption | undefined;
  readonly size2: number | undefined;
  readonly etag: Uint8Array | undefined;
}

interface Exchange {
  readonly messageId: number;
  readonly token: Uint8Array;
  readonly bytes: Uint8Array;
  readonly resolve: (block: FetchedBlock) => void;
  readonly reject: (error: Error) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
  attempts: number;
  timeout: number;
  /** The server sent an empty ACK: its response comes later as a separate message. */
  acknowledged: boolean;
  timer: unknown;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Requests single Block2 blocks of one resource (RFC 7959 §2.4 random access) over its own socket,
 * as CON GETs retransmitted per RFC 7252 §4.2. The firmware downloader needs each block on its own
 * (progress, and resuming after the last good block); the endpoint's `request()` reassembles whole
 * bodies, so this small exchange loop stands in for it. One block at a time.
 */
export class CoapBlockFetcher {
  readonly #socket: DatagramSocket;
  readonly #peer: PeerAddress;
  readonly #transmission: TransmissionParameters;
  readonly #clock: Clock;
  readonly #random: () => number;
  #messageId: number;
  #current: Exchange | undefined;
  readonly #onMessage = (message: DatagramMessage): void => this.#receive(message);

  constructor(
    socket: DatagramSocket,
    peer: PeerAddress,
    transmission: TransmissionParameters,
    clock: Clock,
    random: () => number = Math.random,
  ) {
    this.#socket = socket;
    this.#peer = peer;
    this.#transmission = transmission;
    this.#clock = clock;
    this.#random = random;
    this.#messageId = Math.floor(random() * 0x10000);
    socket.on('message', this.#onMessage);
  }

  /**
   * GETs block `num` of size 2^(szx+4) with `options` (Uri-Path, Uri-Query...). Rejects with a
   * TimeoutError after MAX_RETRANSMIT unanswered retransmissions, CoapResetError, or AbortError.
   */
  fetch(
    options: readonly CoapOption[],
    num: number,
    szx: number,
    signal?: AbortSignal,
  ): Promise<FetchedBlock> {
    if (this.#current !== undefined) return Promise.reject(new Error('one block at a time'));
    if (signal?.aborted === true)
      return Promise.reject(new AbortError('download aborted', { cause: signal.reason }));
    this.#messageId = (this.#messageId + 1) & 0xffff;
    const token = new Uint8Array(randomBytes(4));
    const message: CoapMessage = {
      type: CoapType.CON,
      code: CoapCode.GET,
      messageId: this.#messageId,
      token,
      options: [
        ...options,
        { number: CoapOptionNumber.BLOCK2, value: encodeBlock({ num, more: false, szx }) },
      ].sort((a, b) => a.number - b.number),
      payload: new Uint8Array(0),
    };
    const bytes = serializeMessage(message);
    const t = this.#transmission;
    return new Promise<FetchedBlock>((resolve, reject) => {
      const exchange: Exchange = {
        messageId: message.messageId,
        token,
        bytes,
        resolve,
        reject,
        signal,
        onAbort: () => this.#finish(exchange, new AbortError('download aborted', { cause: signal?.reason })),
        attempts: 0,
        timeout: t.ackTimeout * (1 + this.#random() * (t.ackRandomFactor - 1)),
        acknowledged: false,
        timer: undefined,
      };
      this.#current = exchange;
      signal?.addEventListener('abort', exchange.onAbort, { once: true });
      this.#transmit(exchange);
    });
  }

  /** Stops listening; a pending fetch rejects. */
  close(): void {
    this.#socket.off('message', this.#onMessage);
    if (this.#current !== undefined) this.#finish(this.#current, new AbortError('fetcher closed'));
  }

  #transmit(exchange: Exchange): void {
    this.#socket.send(exchange.bytes, this.#peer).catch(() => {
      // A failed send is a lost datagram: the retransmission timer covers it.
    });
    exchange.timer = this.#clock.setTimeout(() => this.#expired(exchange), exchange.timeout);
  }

  #expired(exchange: Exchange): void {
    if (this.#current !== exchange) return;
    if (exchange.acknowledged || exchange.attempts >= this.#transmission.maxRetransmit) {
      this.#finish(
        exchange,
        new TimeoutError(
          exchange.acknowledged ? 'separate response did not come' : 'no acknowledgement from peer',
        ),
      );
      return;
    }
    exchange.attempts++;
    exchange.timeout *= 2;
    this.#transmit(exchange);
  }

  #receive({ data, peer }: DatagramMessage): void {
    const exchange = this.#current;
    if (exchange === undefined || peer.port !== this.#peer.port || peer.address !== this.#peer.address)
      return;
    let message: CoapMessage;
    try {
      message = parseMessage(data);
    } catch {
      return;
    }
    if (
      (message.type === CoapType.ACK || message.type === CoapType.RST) &&
      message.messageId === exchange.messageId
    ) {
      if (message.type === CoapType.RST) {
        this.#finish(exchange, new CoapResetError('block request reset by the server'));
        return;
      }
      if (message.code === CoapCode.EMPTY) {
        // Separate response follows; stop retransmitting and wait one more MAX_TRANSMIT_WAIT-ish span.
        exchange.acknowledged = true;
        this.#clock.clearTimeout(exchange.timer);
        exchange.timer = this.#clock.setTimeout(
          () => this.#expired(exchange),
          this.#transmission.ackTimeout * 2 ** (this.#transmission.maxRetransmit + 1),
        );
        return;
      }
      if (sameBytes(message.token, exchange.token)) this.#finish(exchange, undefined, message);
      return;
    }
    if (
      (message.type === CoapType.CON || message.type === CoapType.NON) &&
      message.code >= 64 &&
      sameBytes(message.token, exchange.token)
    ) {
      if (message.type === CoapType.CON) {
        const ack = serializeMessage({
          type: CoapType.ACK,
          code: CoapCode.EMPTY,
          messageId: message.messageId,
          token: new Uint8Array(0),
          options: [],
          payload: new Uint8Array(0),
        });
        this.#socket.send(ack, this.#peer).catch(() => undefined);
      }
      this.#finish(exchange, undefined, message);
    }
  }

  #finish(exchange: Exchange, error: Error | undefined, message?: CoapMessage): void {
    if (this.#current !== exchange) return;
    this.#current = undefined;
    this.#clock.clearTimeout(exchange.timer);
    exchange.signal?.removeEventListener('abort', exchange.onAbort);
    if (error !== undefined || message === undefined) {
      exchange.reject(error ?? new Error('no response'));
      return;
    }
    const blockOption = findOption(message.options, CoapOptionNumber.BLOCK2);
    exchange.resolve({
      code: message.code,
      // The payload is a view into the datagram; keep a copy of its own.
      payload: Uint8Array.from(message.payload),
      block: blockOption === undefined ? undefined : decodeBlock(blockOption.value),
      size2: getUintOption(message.options, CoapOptionNumber.SIZE2),
      etag: findOption(message.options, CoapOptionNumber.ETAG)?.value.slice(),
    });
  }
}
