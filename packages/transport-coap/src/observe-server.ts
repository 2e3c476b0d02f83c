import { EventEmitter } from 'node:events';
import type { PeerAddress, PeerIdentity } from '@lwm2m/core';
import type { OutgoingResponse } from './types.js';

/** Why a server-side observation ended. */
export type ObservationEndReason =
  'deregistered' | 'reset' | 'timeout' | 'error-response' | 'replaced' | 'cancelled' | 'closed';

export interface ServerObservationEvents {
  cancel: [reason: ObservationEndReason];
}

/**
 * A notification to send: 2.05 unless `code` says otherwise. `confirmable` chooses CON or NON;
 * when unset, NON except that a CON goes out at least every 24 h (RFC 7641 §4.5).
 */
export interface Notification extends Omit<OutgoingResponse, 'code'> {
  readonly code?: number;
  readonly confirmable?: boolean;
}

/** What the endpoint provides to an observation so it can send; kept internal to the package. */
export interface NotificationSender {
  sendNotification(observation: ServerObservation, notification: Notification): Promise<void>;
  removeObservation(observation: ServerObservation, reason: ObservationEndReason): void;
}

const SEQUENCE_MODULO = 1 << 24;

/**
 * One observer of one resource (RFC 7641 server side). Created by
 * `IncomingRequest.acceptObserve()`; lives until the observer deregisters (GET Observe=1),
 * rejects a notification with Reset, fails to acknowledge a CON notification, or `cancel()`.
 */
export class ServerObservation extends EventEmitter<ServerObservationEvents> {
  readonly identity: PeerIdentity | undefined;
  readonly token: Uint8Array;
  readonly path: readonly string[];
  readonly query: readonly string[];
  readonly accept: number | undefined;
  #peer: PeerAddress;
  #key: string;
  #downloadKey: string;
  /** @internal When the last CON notification (or the registration answer) went out. */
  lastConfirmableAt = 0;
  #sequence: number;
  #active = true;
  #registered = false;
  readonly #sender: NotificationSender;

  constructor(
    init: {
      peer: PeerAddress;
      identity: PeerIdentity | undefined;
      token: Uint8Array;
      path: readonly string[];
      query: readonly string[];
      accept: number | undefined;
      key: string;
      downloadKey: string;
      initialSequence: number;
    },
    sender: NotificationSender,
  ) {
    super();
    this.#peer = init.peer;
    this.identity = init.identity;
    this.token = init.token;
    this.path = init.path;
    this.query = init.query;
    this.accept = init.accept;
    this.#key = init.key;
    this.#downloadKey = init.downloadKey;
    this.#sequence = init.initialSequence % SEQUENCE_MODULO;
    this.#sender = sender;
  }

  /** The observer: where notifications go (moved by `CoapEndpoint.movePeer()`). */
  get peer(): PeerAddress {
    return this.#peer;
  }

  /** @internal Endpoint-internal lookup key (peer and token). */
  get key(): string {
    return this.#key;
  }

  /** @internal Where the endpoint caches a notification body that goes out block-wise. */
  get downloadKey(): string {
    return this.#downloadKey;
  }

  /** @internal The observer is now reachable at `peer`; the endpoint re-files it under the new keys. */
  moveTo(peer: PeerAddress, key: string, downloadKey: string): void {
    this.#peer = peer;
    this.#key = key;
    this.#downloadKey = downloadKey;
  }

  get active(): boolean {
    return this.#active;
  }

  /** True once the registration response went out with an Observe option. */
  get registered(): boolean {
    return this.#registered;
  }

  /** @internal The next 24-bit Observe value. */
  nextSequence(): number {
    const value = this.#sequence;
    this.#sequence = (this.#sequence + 1) % SEQUENCE_MODULO;
    return value;
  }

  /** @internal */
  markRegistered(): void {
    this.#registered = true;
  }

  /**
   * Sends a notification (a 2.05 unless `code` says otherwise; a non-2.xx code ends the
   * observation after it is sent). Resolves when a NON is sent or a CON is acknowledged;
   * rejects with CoapTimeoutError / CoapResetError (and the observation ends), or ClosedError.
   */
  notify(notification: Notification): Promise<void> {
    return this.#sender.sendNotification(this, notification);
  }

  /** Ends the observation locally (the observer learns it when its next notification is rejected or never comes). */
  cancel(): void {
    this.#sender.removeObservation(this, 'cancelled');
  }

  /** @internal Called by the endpoint once, when the observation is removed. */
  end(reason: ObservationEndReason): void {
    if (!this.#active) return;
    this.#active = false;
    this.emit('cancel', reason);
  }
}
