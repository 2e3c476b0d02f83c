import type { PeerAddress, PeerIdentity } from '@lwm2m/core';
import type { CoapMethod } from './codes.js';
import type { CoapMessage, CoapOption } from './message.js';
import type { ServerObservation } from './observe-server.js';

/** Bytes, or text sent as UTF-8. */
export type Payload = Uint8Array | string;

/** What {@link CoapEndpoint.request} sends. */
export interface OutgoingRequest {
  readonly peer: PeerAddress;
  readonly method: CoapMethod;
  /** `/rd/5a3f` or `['rd', '5a3f']`; segments are sent as they are (no percent-decoding). */
  readonly path?: string | readonly string[];
  /** `ep=x&lt=60` or `['ep=x', 'lt=60']`. */
  readonly query?: string | readonly string[];
  readonly accept?: number;
  readonly contentFormat?: number;
  readonly payload?: Payload;
  /** 0 registers an observation, 1 cancels one (RFC 7641). Use {@link CoapEndpoint.observe} to follow notifications. */
  readonly observe?: number;
  /** Default true. */
  readonly confirmable?: boolean;
  /**
   * Further options sent as they are (ETag, If-Match, Uri-Host...). A Block2 option here asks for
   * that one block (RFC 7959 §2.4 random access): the response is that block alone, its Block2
   * option readable in `options`, and the rest is not fetched.
   */
  readonly options?: readonly CoapOption[];
  /** Block size for this request's Block1 upload and Block2 download (16..1024); default the endpoint's. */
  readonly blockSize?: number;
}

export interface RequestOptions {
  readonly signal?: AbortSignal;
  /** Milliseconds until the whole exchange (all blocks) gives up with a TimeoutError. */
  readonly timeout?: number;
}

/** A response as the caller sees it: block-wise bodies already reassembled. */
export interface CoapResponse {
  readonly peer: PeerAddress;
  readonly code: number;
  readonly options: readonly CoapOption[];
  readonly payload: Uint8Array;
  readonly contentFormat: number | undefined;
  /** The Observe sequence number of a notification or an observe registration answer. */
  readonly observe: number | undefined;
  readonly locationPath: readonly string[];
  /** The (last) message this response came in. */
  readonly message: CoapMessage;
}

/** A request the endpoint received, handed to the {@link RequestHandler}. */
export interface IncomingRequest {
  readonly peer: PeerAddress;
  /** Who the peer proved to be on DTLS; undefined on NoSec. */
  readonly identity: PeerIdentity | undefined;
  readonly method: CoapMethod;
  readonly path: readonly string[];
  readonly query: readonly string[];
  readonly options: readonly CoapOption[];
  /** The whole body (a Block1 upload is reassembled before the handler runs). */
  readonly payload: Uint8Array;
  readonly contentFormat: number | undefined;
  readonly accept: number | undefined;
  /** 0 asks to observe, 1 cancels (RFC 7641); undefined otherwise. */
  readonly observe: number | undefined;
  readonly confirmable: boolean;
  readonly token: Uint8Array;
  /**
   * Accepts an Observe=0 request: once the handler answers with a 2.xx code, the response
   * carries an Observe sequence number and the returned observation can `notify()`. Throws when
   * the request did not ask to observe.
   */
  acceptObserve(): ServerObservation;
}

/** What a handler answers. */
export interface OutgoingResponse {
  readonly code: number;
  readonly payload?: Payload;
  readonly contentFormat?: number;
  readonly options?: readonly CoapOption[];
  /** Location-Path of a created resource, e.g. `rd/5a3f`. */
  readonly locationPath?: string | readonly string[];
  readonly maxAge?: number;
  readonly etag?: Uint8Array;
}

export type RequestHandler = (request: IncomingRequest) => OutgoingResponse | Promise<OutgoingResponse>;

/** RFC 7252 §4.8 transmission parameters, all in milliseconds except the factors and counts. */
export interface TransmissionParameters {
  readonly ackTimeout: number;
  readonly ackRandomFactor: number;
  readonly maxRetransmit: number;
  readonly nstart: number;
  readonly exchangeLifetime: number;
  readonly nonLifetime: number;
  /**
   * RFC 7252 §4.7 PROBING_RATE in bytes per second: NON requests we send to a peer that has sent
   * us nothing since our first unanswered NON are held back so that their average rate stays
   * below this (NON notifications too with the endpoint's `probeNotifications`). `Infinity` turns
   * the limit off.
   */
  readonly probingRate: number;
}

export const DEFAULT_TRANSMISSION: TransmissionParameters = {
  ackTimeout: 2000,
  ackRandomFactor: 1.5,
  maxRetransmit: 4,
  nstart: 1,
  exchangeLifetime: 247_000,
  nonLifetime: 145_000,
  probingRate: 1,
};
