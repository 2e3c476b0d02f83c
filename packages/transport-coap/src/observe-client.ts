import { EventEmitter } from 'node:events';
import type { PeerAddress } from '@lwm2m/core';
import type { CoapOption } from './message.js';
import type { CoapResponse } from './types.js';

export interface ObservationEvents {
  notification: [response: CoapResponse];
  end: [reason: Error | undefined];
}

/** What the endpoint provides to a client observation; internal to the package. */
/** The registration request, kept to cancel actively and to fetch the rest of block-wise notifications. */
export interface ObservationRegistration {
  readonly code: number;
  readonly options: readonly CoapOption[];
  readonly payload: Uint8Array;
}

export interface ObservationControl {
  cancelObservation(observation: Observation, active: boolean): Promise<void>;
}

/** RFC 7641 §3.4: a notification older than 128 s no longer counts as possibly reordered. */
const REORDER_WINDOW_MS = 128_000;
const HALF_SEQUENCE = 1 << 23;

/**
 * RFC 7641 §3.4: is the notification (v2 at t2) fresher than the last one taken (v1 at t1)?
 */
export function isFresher(v1: number, t1: number, v2: number, t2: number): boolean {
  return (
    (v1 < v2 && v2 - v1 < HALF_SEQUENCE) ||
    (v1 > v2 && v1 - v2 > HALF_SEQUENCE) ||
    t2 > t1 + REORDER_WINDOW_MS
  );
}

/**
 * A client-side observation: the registration response, then each fresh notification, as an
 * AsyncIterable and as `notification` events. Breaking out of a `for await` cancels it.
 * Notifications that arrive while nobody reads are buffered up to `maxBuffered` (oldest dropped).
 */
export class Observation extends EventEmitter<ObservationEvents> implements AsyncIterable<CoapResponse> {
  /** @internal */
  readonly registration: ObservationRegistration | undefined;
  /** @internal Endpoint-internal lookup key (derived from the token); -1 when never registered. */
  readonly key: number;
  readonly token: Uint8Array;
  readonly #control: ObservationControl;
  readonly #maxBuffered: number;
  readonly #buffer: CoapResponse[] = [];
  #waiting:
    { resolve: (result: IteratorResult<CoapResponse>) => void; reject: (error: Error) => void } | undefined;
  #lastSequence: number;
  #lastTime: number;
  /** False until a sequence number is known (an adopted observation without `lastSequence`). */
  #sequenced: boolean;
  #active: boolean;
  #endError: Error | undefined;
  #response: CoapResponse;
  #peer: PeerAddress;

  constructor(
    init: {
      response: CoapResponse;
      key: number;
      token: Uint8Array;
      now: number;
      registration?: ObservationRegistration;
      established?: boolean;
      maxBuffered?: number;
      /**
       * Adopted after a restart: `response` is a stand-in that is not yielded, and the §3.4 state
       * starts from the last notification taken before (none: the first one is taken as fresh).
       */
      adopted?: { lastSequence: number | undefined; lastTime: number };
    },
    control: ObservationControl,
  ) {
    super();
    this.#response = init.response;
    this.#peer = init.response.peer;
    this.registration = init.registration;
    this.key = init.key;
    this.token = init.token;
    this.#control = control;
    this.#maxBuffered = init.maxBuffered ?? 1000;
    const adopted = init.adopted;
    this.adopted = adopted !== undefined;
    if (adopted !== undefined) {
      this.#lastSequence = adopted.lastSequence ?? 0;
      this.#lastTime = adopted.lastTime;
      this.#sequenced = adopted.lastSequence !== undefined;
      this.#active = true;
      return;
    }
    this.#lastSequence = init.response.observe ?? 0;
    this.#lastTime = init.now;
    this.#sequenced = true;
    this.#active =
      (init.established ?? true) && init.response.observe !== undefined && init.response.code >> 5 === 2;
    this.#buffer.push(init.response);
  }

  /**
   * True for an observation taken over by `CoapEndpoint.adoptObservation()`: it yields
   * notifications only, and its `response` is a stand-in (2.05, no payload, `observe` = the last
   * sequence number given).
   */
  readonly adopted: boolean;

  /**
   * Where the notifications come from and where cancel and re-registration go: the peer the
   * observation was registered with, until `CoapEndpoint.movePeer()` moves it.
   */
  get peer(): PeerAddress {
    return this.#peer;
  }

  /** @internal The observed endpoint is now reachable at `peer` (see `CoapEndpoint.movePeer`). */
  moveTo(peer: PeerAddress): void {
    this.#peer = peer;
  }

  /** The response to the registration request (a stand-in when {@link adopted}). */
  get response(): CoapResponse {
    return this.#response;
  }

  /** @internal The registration response once its block-wise body is complete. */
  replaceInitialResponse(response: CoapResponse): void {
    if (this.#buffer[0] === this.#response) this.#buffer[0] = response;
    this.#response = response;
  }

  /** False once the server refused or ended the observation, or it was cancelled. */
  get active(): boolean {
    return this.#active;
  }

  /**
   * Stops observing. Active (default): sends GET with Observe=1 (RFC 7641 §3.6) and resolves
   * when answered. Passive: forgets the token, so the next notification is answered with Reset.
   */
  async cancel(options: { active?: boolean } = {}): Promise<void> {
    if (!this.#active) return;
    await this.#control.cancelObservation(this, options.active ?? true);
  }

  /** @internal Offers a notification; returns false when it is stale by the §3.4 rule. */
  offer(response: CoapResponse, now: number): boolean {
    if (!this.#active) return false;
    const sequence = response.observe;
    if (sequence !== undefined) {
      if (this.#sequenced && !isFresher(this.#lastSequence, this.#lastTime, sequence, now)) return false;
      this.#sequenced = true;
      this.#lastSequence = sequence;
      this.#lastTime = now;
    }
    this.emit('notification', response);
    if (this.#waiting !== undefined) {
      const waiting = this.#waiting;
      this.#waiting = undefined;
      waiting.resolve({ value: response, done: false });
    } else {
      if (this.#buffer.length >= this.#maxBuffered) this.#buffer.shift();
      this.#buffer.push(response);
    }
    return true;
  }

  /** @internal Ends the observation; `error` is set when it ended because something failed. */
  finish(error?: Error): void {
    if (!this.#active && this.#waiting === undefined) {
      this.#endError ??= error;
      return;
    }
    this.#active = false;
    this.#endError = error;
    this.emit('end', error);
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting !== undefined) {
      if (error === undefined) waiting.resolve({ value: undefined, done: true });
      else waiting.reject(error);
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<CoapResponse> {
    return {
      next: () => {
        const buffered = this.#buffer.shift();
        if (buffered !== undefined) return Promise.resolve({ value: buffered, done: false });
        if (!this.#active) {
          const error = this.#endError;
          this.#endError = undefined;
          return error === undefined
            ? Promise.resolve({ value: undefined, done: true })
            : Promise.reject(error);
        }
        return new Promise((resolve, reject) => {
          this.#waiting = { resolve, reject };
        });
      },
      return: async () => {
        await this.cancel().catch(() => undefined);
        return { value: undefined, done: true };
      },
    };
  }
}
