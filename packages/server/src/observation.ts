import { EventEmitter } from 'node:events';
import type { Lwm2mNode, Lwm2mPath } from '@lwm2m/core';

/** One decoded value of an observation: the first response, then each notification. */
export type ObservationValue =
  | {
      readonly composite: false;
      readonly path: Lwm2mPath;
      readonly node: Lwm2mNode;
      /** The content format it came in. */
      readonly format: number;
      /** RFC 7641 sequence number; absent on the answer of a client that did not accept to notify. */
      readonly sequence: number | undefined;
    }
  | {
      readonly composite: true;
      /** Values by formatted path. */
      readonly nodes: ReadonlyMap<string, Lwm2mNode>;
      readonly format: number;
      readonly sequence: number | undefined;
    };

export interface ObservationEvents {
  /** A notification after the first response (the first is `observation.initial`). */
  notification: [value: ObservationValue];
  /** The observation ended: cancelled (no error), the client refused or stopped it, or it failed. */
  end: [error: Error | undefined];
}

/** @internal What the server does when an observation is cancelled. */
export interface ObservationCanceller {
  cancel(observation: Observation, active: boolean): Promise<void>;
}

/**
 * An LwM2M observation as the server sees it: the first value, then every notification, as an
 * AsyncIterable and as `notification` events. Breaking out of `for await` cancels it (actively).
 * Unread values are buffered up to 1000, oldest dropped.
 */
export class Observation extends EventEmitter<ObservationEvents> implements AsyncIterable<ObservationValue> {
  /** Lower-case hex CoAP token; the key in the observation store. */
  readonly token: string;
  readonly endpoint: string;
  readonly registrationId: string;
  readonly paths: readonly Lwm2mPath[];
  readonly composite: boolean;
  /** The value of the response that established (or refused) the observation. */
  readonly initial: ObservationValue;
  readonly #canceller: ObservationCanceller;
  readonly #buffer: ObservationValue[] = [];
  #waiting:
    { resolve: (r: IteratorResult<ObservationValue>) => void; reject: (e: Error) => void } | undefined;
  #active: boolean;
  #endError: Error | undefined;

  /** @internal */
  constructor(
    init: {
      token: string;
      endpoint: string;
      registrationId: string;
      paths: readonly Lwm2mPath[];
      composite: boolean;
      initial: ObservationValue;
      active: boolean;
    },
    canceller: ObservationCanceller,
  ) {
    super();
    this.token = init.token;
    this.endpoint = init.endpoint;
    this.registrationId = init.registrationId;
    this.paths = init.paths;
    this.composite = init.composite;
    this.initial = init.initial;
    this.#active = init.active;
    this.#canceller = canceller;
    this.#buffer.push(init.initial);
  }

  /** False once cancelled, refused or ended. */
  get active(): boolean {
    return this.#active;
  }

  /**
   * Stops observing. Active (default): tells the client (GET with Observe=1). Passive: forgets the
   * token, so the client's next notification is answered with Reset (RFC 7641 §3.6).
   */
  async cancel(options: { active?: boolean } = {}): Promise<void> {
    if (!this.#active) return;
    await this.#canceller.cancel(this, options.active ?? true);
  }

  /** @internal */
  push(value: ObservationValue): void {
    if (!this.#active) return;
    this.emit('notification', value);
    const waiting = this.#waiting;
    if (waiting !== undefined) {
      this.#waiting = undefined;
      waiting.resolve({ value, done: false });
      return;
    }
    if (this.#buffer.length >= 1000) this.#buffer.shift();
    this.#buffer.push(value);
  }

  /** @internal */
  finish(error?: Error): void {
    if (!this.#active) return;
    this.#active = false;
    this.#endError = error;
    this.emit('end', error);
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting === undefined) return;
    this.#endError = undefined;
    if (error === undefined) waiting.resolve({ value: undefined, done: true });
    else waiting.reject(error);
  }

  [Symbol.asyncIterator](): AsyncIterator<ObservationValue> {
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
