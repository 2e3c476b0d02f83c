import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { DatagramMessage, DatagramSocket, Logger, PeerAddress, PeerIdentity } from '@lwm2m/core';
import { AbortError, ClosedError, TimeoutError, createSilentLogger, formatPeer } from '@lwm2m/core';
import { BlockAssembler, blockSize, decodeBlock, encodeBlock, sizeToSzx, sliceBlock } from './block.js';
import type { BlockOption } from './block.js';
import {
  CoapCode,
  CoapType,
  formatCode,
  isRequestCode,
  isResponseCode,
  isSuccessCode,
  methodName,
  parseMethod,
} from './codes.js';
import type { CoapMethod } from './codes.js';
import {
  CoapBlockError,
  CoapMessageError,
  CoapRequestError,
  CoapResetError,
  CoapTimeoutError,
} from './errors.js';
import { DedupCache } from './dedup-cache.js';
import { ExpiringMap } from './expiring-map.js';
import { parseMessage, serializeMessage } from './message.js';
import type { CoapMessage, CoapOption } from './message.js';
import { Observation } from './observe-client.js';
import type { ObservationControl, ObservationRegistration } from './observe-client.js';
import { ServerObservation } from './observe-server.js';
import type { Notification, NotificationSender, ObservationEndReason } from './observe-server.js';
import {
  CoapOptionNumber as O,
  findOption,
  firstUnknownCriticalOption,
  getUintOption,
  pushStringOptions,
  splitPath,
  splitQuery,
  uintOption,
  withoutOptions,
} from './options.js';
import { ByteSlab } from './byte-slab.js';
import { PeerTable } from './peer-table.js';
import type { PeerRecord } from './peer-table.js';
import { RandomPool } from './random-pool.js';
import { TimerQueue } from './timer-queue.js';
import type { TimerEntry } from './timer-queue.js';
import { DEFAULT_TRANSMISSION } from './types.js';
import { decodeUtf8, encodeUtf8 } from './utf8.js';
import type {
  CoapResponse,
  IncomingRequest,
  OutgoingRequest,
  OutgoingResponse,
  Payload,
  RequestHandler,
  RequestOptions,
  TransmissionParameters,
} from './types.js';

export interface CoapEndpointOptions {
  readonly socket: DatagramSocket;
  /** Close the socket on `close()`; default true. */
  readonly ownsSocket?: boolean;
  readonly logger?: Logger;
  /** RFC 7252 §4.8 parameters for this endpoint; unset ones take the RFC defaults. */
  readonly transmission?: Partial<TransmissionParameters>;
  /** Answers incoming requests; without one every request gets 4.04. */
  readonly handler?: RequestHandler;
  /** A CON request whose handler takes longer gets an empty ACK and later a separate response; default 1000 ms. */
  readonly separateResponseAfter?: number;
  /** Block size for block-wise transfers we start or serve (16..1024); default 1024. */
  readonly blockSize?: number;
  /** Largest body reassembled from blocks (either direction); larger uploads get 4.13. Default 8 MiB. */
  readonly maxBodySize?: number;
  /** Block-wise transfers kept at once (uploads, served downloads); oldest dropped. Default 256. */
  readonly maxTransfers?: number;
  /**
   * Peers whose message-id state is kept (one small record each, dropped EXCHANGE_LIFETIME after
   * our last message to the peer); default 100000. Beyond it an idle record is forgotten early.
   */
  readonly maxPeers?: number;
  /** Entries in the deduplication cache; default 10000. */
  readonly maxDedupEntries?: number;
  /** Token length for requests we send, 4..8; default 8. */
  readonly tokenLength?: number;
  /** Default `timeout` of `request()`; default EXCHANGE_LIFETIME. */
  readonly requestTimeout?: number;
  /** A uniform random number in [0, 1) for the ACK timeout jitter; default Math.random. */
  readonly random?: () => number;
  /** Source of token bytes (asked for a few KiB at a time); default node:crypto randomBytes. */
  readonly randomBytes?: (size: number) => Uint8Array;
  /** How often expired cache entries are swept; default 5000 ms. */
  readonly sweepInterval?: number;
  /**
   * RFC 7641 §3.3.1: when the Max-Age of the latest notification has passed (plus
   * `reregistrationMargin`) without a fresh one, re-register with GET Observe=0 and the same
   * token. Default true; `observe()` can turn it off per observation.
   */
  readonly reregisterObservations?: boolean;
  /** Time granted beyond Max-Age before re-registering (network delay, server jitter); default 2000 ms. */
  readonly reregistrationMargin?: number;
  /**
   * Apply PROBING_RATE (`transmission.probingRate`) to NON notifications too, not only to NON
   * requests. Default false: an observer never answers NON notifications, so a quiet observer
   * would be held to 1 byte/s; RFC 7641 §4.5 checks on observers with a CON notification instead.
   */
  readonly probeNotifications?: boolean;
  /**
   * RFC 7641 §4.5.1: NON notifications to one client go out on average at most once per
   * round-trip time (measured from our unretransmitted CONs to it), or once per `interval` ms
   * (default 3000) while we have no RTT estimate, e.g. for a client never heard from; up to
   * `burst` (default 4) may go back to back. A held notification is replaced by a newer state of
   * the same observation (and `notify()` then settles with the newer one). `false` turns it off.
   */
  readonly notificationPacing?: { readonly interval?: number; readonly burst?: number } | false;
}

/**
 * An observation made before a restart (by this or another process), to be taken over with
 * {@link CoapEndpoint.adoptObservation}: its peer and token, and what the registration asked.
 */
export interface AdoptObservationRequest {
  readonly peer: PeerAddress;
  /** The registration's token: bytes, or lower-case hex as stored. 4..8 bytes. */
  readonly token: Uint8Array | string;
  /**
   * The observed resource. Without it the observation can only be cancelled passively, block-wise
   * notifications cannot be completed (they are acknowledged and skipped) and it never re-registers.
   */
  readonly path?: string | readonly string[];
  /** GET (default) or FETCH (Observe-Composite): how to cancel actively, re-register, fetch blocks. */
  readonly method?: 'GET' | 'FETCH';
  readonly query?: string | readonly string[];
  readonly accept?: number;
  readonly contentFormat?: number;
  /** The FETCH body of the registration. */
  readonly payload?: Payload;
  readonly options?: readonly CoapOption[];
  /** Observe number of the last notification taken before the restart, for the §3.4 ordering rule. */
  readonly lastSequence?: number;
  /** When that notification was taken (ms since the epoch); default now. */
  readonly lastNotifiedAt?: number;
}

/** {@link CoapEndpoint.adoptObservation} options. */
export interface AdoptObservationOptions {
  /** Re-register when Max-Age passes without a notification (only with `path`); default the endpoint's setting. */
  readonly reregister?: boolean;
}

/** What {@link CoapEndpoint.movePeer} moved. */
export interface MovedPeer {
  /** Observations of ours on the peer (we observe it). */
  readonly clientObservations: number;
  /** Observations the peer holds on us (it observes us). */
  readonly serverObservations: number;
  /** Requests in flight or queued behind NSTART. */
  readonly requests: number;
  /** True when the message-id counter (with RTT and pacing state) moved; see `PeerTable.move`. */
  readonly messageIds: boolean;
}

/** {@link CoapEndpoint.observe} options. */
export interface ObserveOptions extends RequestOptions {
  /** Re-register when Max-Age passes without a notification (RFC 7641 §3.3.1); default the endpoint's setting. */
  readonly reregister?: boolean;
}

const EMPTY: Uint8Array = new Uint8Array(0);
const NO_STRINGS: readonly string[] = Object.freeze([]);
const NO_OPTIONS: readonly CoapOption[] = Object.freeze([]);
const DAY_MS = 24 * 60 * 60 * 1000;
/** Room left in a datagram for header, token and options next to one block. */
const BLOCK_HEADROOM = 128;
/** Uri-Path option lists cached per path string (LwM2M asks the same paths over and over). */
const MAX_CACHED_PATHS = 512;
/** The RFC defaults, shared by every endpoint that sets no transmission parameter of its own. */
const DEFAULT_PARAMS: TransmissionParameters = Object.freeze({ ...DEFAULT_TRANSMISSION });
/** The logger of endpoints given none; it keeps no state, so one serves them all. */
const SILENT_LOGGER: Logger = Object.freeze(createSilentLogger());

/** One block of an incoming Block1 upload, as it was taken into reassembly. */
export interface Block1Progress {
  readonly peer: PeerAddress;
  /** The peer's DTLS identity; undefined on NoSec. */
  readonly identity: PeerIdentity | undefined;
  readonly method: CoapMethod;
  /** Uri-Path segments of the upload, as in {@link IncomingRequest.path}. */
  readonly path: readonly string[];
  /** Block number and block size in bytes. */
  readonly num: number;
  readonly size: number;
  /** False on the last block (the handler runs next). */
  readonly more: boolean;
  /** Bytes of the body reassembled so far, this block included. */
  readonly received: number;
  /** The whole body's size as the peer announced it (Size1, RFC 7959 §4), if it did. */
  readonly size1: number | undefined;
  /**
   * True when this block was refused because the body exceeds `maxBodySize` (by its Size1, or by
   * the bytes so far): the upload is dropped and answered with 4.13; `received` excludes the block.
   */
  readonly tooLarge: boolean;
}

export interface CoapEndpointEvents {
  /**
   * A well-formed CoAP message (request, response, ACK, RST, notification, duplicate or not)
   * arrived from `peer`: it is awake. Emitted before the message is handled.
   */
  activity: [peer: PeerAddress];
  /**
   * A Block1 block of an incoming upload was taken into reassembly (not for duplicates or refused
   * blocks): progress of e.g. a pushed firmware package. Costs nothing when nobody listens.
   */
  block1: [progress: Block1Progress];
}

/** A CON we sent and retransmit until ACK or RST; it is its own retransmission timer. */
interface Transmission extends TimerEntry {
  readonly messageId: number;
  /** `slot * 65536 + messageId` (see {@link PeerTable}): message ids are per peer. */
  readonly key: number;
  /** Changed by `movePeer()` only. */
  peer: PeerAddress;
  readonly bytes: Uint8Array;
  readonly kind: 'request' | 'response' | 'notification' | 'ping';
  attempts: number;
  timeout: number;
  /** When first sent: an ACK to an unretransmitted CON is a round-trip time sample. */
  readonly sentAt: number;
  pending: PendingRequest | undefined;
  observation: ServerObservation | undefined;
  settle: { resolve: () => void; reject: (error: Error) => void } | undefined;
  /** A CON notification counted in its peer's `confirmableNotifications` (NSTART, RFC 7641 §4.5.1). */
  countsForNstart: boolean;
}

/** A NON we hold back under PROBING_RATE; a newer notification of the same observation replaces it. */
interface HeldNon {
  bytes: Uint8Array;
  readonly observation: ServerObservation | undefined;
  readonly pending: PendingRequest | undefined;
}

/** NON traffic to a peer that has not answered since `since` (RFC 7252 §4.7); its own release timer. */
interface ProbeState extends TimerEntry {
  readonly key: string;
  readonly peer: PeerAddress;
  readonly since: number;
  bytes: number;
  readonly held: HeldNon[];
}

/** A notification waiting for RFC 7641 §4.5.1 pacing; a newer state of its observation replaces it. */
interface PacedNotification {
  readonly observation: ServerObservation;
  notification: Notification;
  settlers: Settler[];
}

/** Notifications held back for one client; its own release timer. */
interface PacingQueue extends TimerEntry {
  readonly record: PeerRecord;
  readonly held: PacedNotification[];
}

/** A client observation's Max-Age watch: due when it should have heard a fresh notification. */
interface Reregistration extends TimerEntry {
  readonly observation: Observation;
}

/** RFC 7252 §5.10.5: Max-Age when the option is absent. */
const DEFAULT_MAX_AGE_S = 60;

interface ExchangeResult {
  readonly message: CoapMessage;
  readonly observation: Observation | undefined;
}

/** One request message we sent, waiting for its response; it is its own deadline timer. */
interface PendingRequest extends TimerEntry {
  /** Changed by `movePeer()` only, as is `peerState`. */
  peer: PeerAddress;
  /** NSTART bookkeeping of the peer (shared by its requests; no key string kept per request). */
  peerState: PeerState;
  readonly tokenKey: number;
  readonly token: Uint8Array;
  readonly code: number;
  readonly options: readonly CoapOption[];
  readonly payload: Uint8Array;
  readonly confirmable: boolean;
  readonly deadline: number;
  readonly registersObservation: boolean;
  /** `request()`: called with the whole response (a Block2 body fetched first). */
  readonly onResponse: ((response: CoapResponse) => void) | undefined;
  /** Internal steps (blocks, observe, cancel): called with the message as it came. */
  readonly onMessage: ((result: ExchangeResult) => void) | undefined;
  readonly reject: (error: Error) => void;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  transmission: Transmission | undefined;
  holdsSlot: boolean;
  /** Composite message id key of a NON request, so a Reset to it fails it at once; -1 otherwise. */
  nonKey: number;
  done: boolean;
  observation: Observation | undefined;
}

interface PeerState {
  key: string;
  active: number;
  readonly queue: PendingRequest[];
}

interface CachedBody {
  readonly code: number;
  readonly options: readonly CoapOption[];
  readonly body: Uint8Array;
}

interface Settler {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * A CON notification awaiting its ACK, and the newest state waiting to take over its next
 * retransmission (RFC 7641 §4.5.2). Callers of `notify()` whose state was superseded learn the
 * outcome of the notification that carried a newer state.
 */
interface NotificationInTransit {
  transmission: Transmission | undefined;
  settlers: Settler[];
  next: Notification | undefined;
  nextSettlers: Settler[];
}

function peerKeyOf(peer: PeerAddress): string {
  return `${peer.address}|${peer.port}`;
}

function samePeer(a: PeerAddress, b: PeerAddress): boolean {
  return a.port === b.port && a.address === b.address;
}

/**
 * Our tokens (4..8 random bytes) are looked up by their first 30 bits, a small integer: no
 * string per datagram. The peer and the whole token are compared after the lookup.
 */
function tokenKeyOf(token: Uint8Array): number {
  if (token.length < 4) return -1;
  return ((token[0]! & 0x3f) << 24) | (token[1]! << 16) | (token[2]! << 8) | token[3]!;
}

function tokenFromHex(text: string): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(text)) throw new CoapRequestError(`token "${text}" is not hex`);
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function toBytes(payload: Payload | undefined): Uint8Array {
  if (payload === undefined) return EMPTY;
  return typeof payload === 'string' ? encodeUtf8(payload) : payload;
}

function bytesEqual(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Cache key of a request for block-wise state: method, path, query, accept (not token or block options). */
function transferKey(peerKey: string, message: CoapMessage): string {
  let key = `${peerKey}#${message.code}`;
  const options = message.options;
  for (let i = 0; i < options.length; i++) {
    const option = options[i]!;
    const n = option.number;
    if (n === O.URI_PATH || n === O.URI_QUERY || n === O.ACCEPT || n === O.REQUEST_TAG || n === O.URI_HOST) {
      key += `#${n}:${hex(option.value)}`;
    }
  }
  return key;
}

/** The values of a repeatable string option; a shared empty array when there is none (the usual case). */
function stringOptions(options: readonly CoapOption[], number: number): readonly string[] {
  let values: string[] | undefined;
  for (let i = 0; i < options.length; i++) {
    const option = options[i]!;
    if (option.number === number) (values ??= []).push(decodeUtf8(option.value));
  }
  return values ?? NO_STRINGS;
}

function toResponse(
  peer: PeerAddress,
  message: CoapMessage,
  payload: Uint8Array = message.payload,
): CoapResponse {
  const options = message.options;
  return {
    peer,
    code: message.code,
    options,
    payload,
    contentFormat: options.length === 0 ? undefined : getUintOption(options, O.CONTENT_FORMAT),
    observe: options.length === 0 ? undefined : getUintOption(options, O.OBSERVE),
    locationPath: options.length === 0 ? NO_STRINGS : stringOptions(options, O.LOCATION_PATH),
    message,
  };
}

function emptyMessage(type: number, messageId: number): Uint8Array {
  return Uint8Array.of(0x40 | (type << 4), 0, messageId >> 8, messageId & 0xff);
}

/**
 * A CoAP endpoint on one datagram socket, in both roles: it answers requests through its
 * handler and sends requests to any peer from the same port (RFC 7252 message layer with
 * reliability, deduplication and NSTART; Observe per RFC 7641; block-wise per RFC 7959).
 * Emits `activity` for every well-formed message a peer sends (see {@link CoapEndpointEvents}).
 */
export class CoapEndpoint extends EventEmitter<CoapEndpointEvents> {
  readonly #socket: DatagramSocket;
  /** The socket offers the promise-free `DatagramSocket.sendNow` (looked up per call, not bound). */
  readonly #hasSendNow: boolean;
  readonly #ownsSocket: boolean;
  readonly #logger: Logger;
  readonly #params: TransmissionParameters;
  readonly #separateAfter: number;
  readonly #szx: number;
  readonly #maxBodySize: number;
  readonly #tokenLength: number;
  readonly #requestTimeout: number;
  readonly #random: () => number;
  readonly #randomBytes: (size: number) => Uint8Array;
  readonly #tokenPool: RandomPool;
  /** Views of a {@link ByteSlab} for outgoing datagrams; made with the first one. */
  #allocate: ((size: number) => Uint8Array) | undefined;
  #handler: RequestHandler | undefined;

  /** Message ids per peer (and other per-peer message-layer state). */
  readonly #peerTable: PeerTable;
  /** CONs awaiting ACK by composite message id key (peer slot and id); never reused while in use. */
  readonly #transmissions = new Map<number, Transmission>();
  /** Requests awaiting a response, by {@link tokenKeyOf} of their token. */
  readonly #pending = new Map<number, PendingRequest>();
  /*
   * Thousands of endpoints may sit in one process (a client simulator, a gateway), most of them
   * idle or only registering. So what serves one feature (observe, pacing, probing, block-wise,
   * NON requests) is made when that feature is first used, and the callbacks handed to timers are
   * shared functions (static methods taking the endpoint) or bound methods rather than a closure
   * per endpoint and purpose.
   */
  /** NON requests by composite message id key, so a Reset to one fails it at once. */
  #nonRequests: Map<number, PendingRequest> | undefined;
  readonly #peers = new Map<string, PeerState>();
  #clientObservations: Map<number, Observation> | undefined;
  /** The same observations by peer ({@link peerKeyOf}), so `movePeer()` finds a peer's without a scan. */
  #observationsByPeer: Map<string, Set<Observation>> | undefined;
  /** Multi-message exchanges in progress (uploads, downloads), whose later messages `movePeer()` redirects. */
  #contexts: Set<ExchangeContext> | undefined;
  #serverObservations: Map<string, ServerObservation> | undefined;
  #notificationsInTransit: Map<ServerObservation, NotificationInTransit> | undefined;
  #incoming: Set<IncomingExchange> | undefined;
  #pathOptions: Map<string, readonly CoapOption[]> | undefined;
  readonly #maxDedupEntries: number;
  readonly #maxTransfers: number;
  #dedup: DedupCache | undefined;
  #uploads: ExpiringMap<BlockAssembler> | undefined;
  #downloads: ExpiringMap<CachedBody> | undefined;
  #nonNotifications: ExpiringMap<ServerObservation> | undefined;
  readonly #sweepTimer: ReturnType<typeof setInterval>;
  readonly #onDatagram: (datagram: DatagramMessage) => void;
  readonly #onSocketError: (error: Error) => void;
  #onSendFailure: ((error: unknown) => void) | undefined;
  // One Node timer per queue instead of one or two per message; each queue made on first use.
  #retransmissions: TimerQueue<Transmission, CoapEndpoint> | undefined;
  #deadlines: TimerQueue<PendingRequest, CoapEndpoint> | undefined;
  #probes: Map<string, ProbeState> | undefined;
  #probeTimers: TimerQueue<ProbeState, CoapEndpoint> | undefined;
  readonly #probeNotifications: boolean;
  /** RFC 7641 §4.5.1 pacing of NON notifications: ms per notification without RTT, bucket depth; 0 = off. */
  readonly #pacingInterval: number;
  readonly #pacingBurst: number;
  #pacing: Map<PeerRecord, PacingQueue> | undefined;
  #pacedObservations: Map<ServerObservation, PacedNotification> | undefined;
  /** CON notifications waiting for an NSTART slot of their client (RFC 7641 §4.5.1). */
  #confirmableQueues: Map<PeerRecord, PacedNotification[]> | undefined;
  #pacingTimers: TimerQueue<PacingQueue, CoapEndpoint> | undefined;
  readonly #reregisterByDefault: boolean;
  readonly #reregistrationMargin: number;
  #reregistrations: Map<Observation, Reregistration> | undefined;
  #reregistrationTimers: TimerQueue<Reregistration, CoapEndpoint> | undefined;
  #separateTimers: TimerQueue<IncomingExchange, CoapEndpoint> | undefined;
  /** Set when shutdown closed the timer queues: a queue first made after that starts closed too. */
  #timersClosed = false;
  #closing: Promise<void> | undefined;
  #idInUse: ((key: number) => boolean) | undefined;

  /** @internal Given to server observations so they can send without a public method here. */
  #sender: NotificationSender | undefined;
  #observationControl: ObservationControl | undefined;

  constructor(options: CoapEndpointOptions) {
    super();
    this.#socket = options.socket;
    this.#hasSendNow = typeof options.socket.sendNow === 'function';
    this.#ownsSocket = options.ownsSocket ?? true;
    this.#logger = options.logger ?? SILENT_LOGGER;
    this.#params =
      options.transmission === undefined
        ? DEFAULT_PARAMS
        : { ...DEFAULT_TRANSMISSION, ...options.transmission };
    this.#separateAfter = options.separateResponseAfter ?? 1000;
    try {
      this.#szx = sizeToSzx(options.blockSize ?? 1024);
    } catch (error) {
      throw new CoapRequestError(`invalid blockSize ${options.blockSize}`, { cause: error });
    }
    this.#maxBodySize = options.maxBodySize ?? 8 * 1024 * 1024;
    const tokenLength = options.tokenLength ?? 8;
    if (!Number.isInteger(tokenLength) || tokenLength < 4 || tokenLength > 8) {
      throw new CoapRequestError(`tokenLength ${tokenLength} is not 4..8`);
    }
    this.#tokenLength = tokenLength;
    this.#requestTimeout = options.requestTimeout ?? this.#params.exchangeLifetime;
    this.#random = options.random ?? Math.random;
    this.#randomBytes = options.randomBytes ?? cryptoRandomBytes;
    this.#tokenPool = new RandomPool(this.#randomBytes);
    this.#handler = options.handler;
    this.#probeNotifications = options.probeNotifications ?? false;
    const pacing = options.notificationPacing ?? {};
    this.#pacingInterval = pacing === false ? 0 : Math.max(0, pacing.interval ?? 3000);
    this.#pacingBurst = pacing === false ? 1 : Math.max(1, pacing.burst ?? 4);
    this.#reregisterByDefault = options.reregisterObservations ?? true;
    this.#reregistrationMargin = options.reregistrationMargin ?? 2000;
    this.#peerTable = new PeerTable({
      lifetime: this.#params.exchangeLifetime,
      maxPeers: options.maxPeers ?? 100_000,
      randomId: CoapEndpoint.#randomId16.bind(undefined, this.#tokenPool),
      onWrap: CoapEndpoint.#warnIdWrap.bind(undefined, this.#logger),
    });
    this.#maxTransfers = options.maxTransfers ?? 256;
    this.#maxDedupEntries = options.maxDedupEntries ?? 10_000;
    this.#sweepTimer = setInterval(CoapEndpoint.#sweepDue, options.sweepInterval ?? 5000, this);
    this.#sweepTimer.unref?.();
    this.#onDatagram = this.#receive.bind(this);
    this.#onSocketError = this.#socketFailed.bind(this);
    this.#socket.on('message', this.#onDatagram);
    this.#socket.on('error', this.#onSocketError);
  }

  // ---- shared callbacks, and state made on first use (see the note above the fields) ----------

  /** A uniform random 16-bit number from the token pool: where a new peer record's message ids start. */
  static #randomId16(pool: RandomPool): number {
    const bytes = pool.take(2);
    return ((bytes[0] ?? 0) << 8) | (bytes[1] ?? 0);
  }

  static #warnIdWrap(logger: Logger, record: PeerRecord): void {
    logger.warn(
      { peer: `${record.address}:${record.port}` },
      'more than 65536 message ids to one peer within EXCHANGE_LIFETIME: reusing the oldest',
    );
  }

  static #sweepDue(endpoint: CoapEndpoint): void {
    endpoint.#sweep();
  }

  static #timerFailed(error: unknown, endpoint: CoapEndpoint): void {
    endpoint.#logger.error({ err: error }, 'coap timer callback failed');
  }

  static #retransmissionDue(transmission: Transmission, endpoint: CoapEndpoint): void {
    endpoint.#retransmit(transmission);
  }

  static #deadlineDue(pending: PendingRequest, endpoint: CoapEndpoint): void {
    endpoint.#failRequest(pending, new TimeoutError('no response within the request timeout'));
  }

  static #probeDue(probe: ProbeState, endpoint: CoapEndpoint): void {
    endpoint.#releaseHeld(probe);
  }

  static #pacingDue(queue: PacingQueue, endpoint: CoapEndpoint): void {
    endpoint.#releasePaced(queue);
  }

  static #reregistrationDue(entry: Reregistration, endpoint: CoapEndpoint): void {
    endpoint.#reregister(entry);
  }

  static #separateDue(exchange: IncomingExchange, endpoint: CoapEndpoint): void {
    endpoint.#acknowledgeLate(exchange);
  }

  #queue<T extends TimerEntry>(
    onDue: (entry: T, endpoint: CoapEndpoint) => void,
  ): TimerQueue<T, CoapEndpoint> {
    const queue = new TimerQueue<T, CoapEndpoint>(onDue, CoapEndpoint.#timerFailed, this);
    if (this.#timersClosed) queue.close();
    return queue;
  }

  #retransmissionQueue(): TimerQueue<Transmission, CoapEndpoint> {
    return (this.#retransmissions ??= this.#queue(CoapEndpoint.#retransmissionDue));
  }

  #deadlineQueue(): TimerQueue<PendingRequest, CoapEndpoint> {
    return (this.#deadlines ??= this.#queue(CoapEndpoint.#deadlineDue));
  }

  #probeQueue(): TimerQueue<ProbeState, CoapEndpoint> {
    return (this.#probeTimers ??= this.#queue(CoapEndpoint.#probeDue));
  }

  #pacingQueue(): TimerQueue<PacingQueue, CoapEndpoint> {
    return (this.#pacingTimers ??= this.#queue(CoapEndpoint.#pacingDue));
  }

  #reregistrationQueue(): TimerQueue<Reregistration, CoapEndpoint> {
    return (this.#reregistrationTimers ??= this.#queue(CoapEndpoint.#reregistrationDue));
  }

  #separateQueue(): TimerQueue<IncomingExchange, CoapEndpoint> {
    return (this.#separateTimers ??= this.#queue(CoapEndpoint.#separateDue));
  }

  #dedupCache(): DedupCache {
    return (this.#dedup ??= new DedupCache(this.#maxDedupEntries));
  }

  #uploadMap(): ExpiringMap<BlockAssembler> {
    return (this.#uploads ??= new ExpiringMap(this.#maxTransfers));
  }

  #downloadMap(): ExpiringMap<CachedBody> {
    return (this.#downloads ??= new ExpiringMap(this.#maxTransfers));
  }

  #nonNotificationMap(): ExpiringMap<ServerObservation> {
    return (this.#nonNotifications ??= new ExpiringMap(this.#maxDedupEntries));
  }

  #socketFailed(error: Error): void {
    this.#logger.warn({ err: error }, 'coap socket error');
  }

  #sendFailed(error: unknown): void {
    if (this.#closing === undefined) this.#logger.debug({ err: error }, 'coap send failed');
  }

  #isIdInUse(key: number): boolean {
    return this.#transmissions.has(key) || (this.#nonRequests?.has(key) ?? false);
  }

  #allocator(): (size: number) => Uint8Array {
    if (this.#allocate === undefined) {
      const slab = new ByteSlab();
      this.#allocate = slab.take.bind(slab);
    }
    return this.#allocate;
  }

  #notificationSender(): NotificationSender {
    return (this.#sender ??= {
      sendNotification: (observation, notification) => this.#sendNotification(observation, notification),
      removeObservation: (observation, reason) => this.#removeServerObservation(observation, reason),
    });
  }

  #clientObservationControl(): ObservationControl {
    return (this.#observationControl ??= {
      cancelObservation: (observation, active) => this.#cancelClientObservation(observation, active),
    });
  }

  /** The local address the socket is bound to. */
  address(): PeerAddress {
    return this.#socket.address();
  }

  setHandler(handler: RequestHandler | undefined): void {
    this.#handler = handler;
  }

  /** Server-side observations currently registered. */
  serverObservations(): ServerObservation[] {
    return [...(this.#serverObservations?.values() ?? [])];
  }

  /**
   * Sends a request and resolves with its response (a block-wise body reassembled). Rejects
   * with CoapTimeoutError (no ACK), CoapResetError, TimeoutError (`timeout`), AbortError,
   * ClosedError or CoapBlockError; never with an untyped error.
   */
  request(request: OutgoingRequest, options: RequestOptions = {}): Promise<CoapResponse> {
    if (this.#closing !== undefined) return Promise.reject(new ClosedError('endpoint closed'));
    const code = parseMethod(request.method);
    if (code === undefined)
      return Promise.reject(new CoapRequestError(`unknown method ${String(request.method)}`));
    let body: Uint8Array;
    let baseOptions: readonly CoapOption[];
    let blockWise: boolean;
    try {
      body = toBytes(request.payload);
      baseOptions = this.#requestOptions(request);
      blockWise = request.blockSize !== undefined || body.length > blockSize(this.#szxFor(request.peer));
    } catch (error) {
      return Promise.reject(new CoapRequestError('cannot encode request', { cause: error }));
    }
    if (blockWise) {
      return this.#send(request, code, baseOptions, body, options, false).then(({ message }) => message);
    }
    // The common case: one message each way, one Promise, no async steps in between.
    const timeout = options.timeout ?? this.#requestTimeout;
    const signal = options.signal;
    if (timeout <= 0) return Promise.reject(new TimeoutError('request timed out'));
    if (signal?.aborted === true)
      return Promise.reject(new AbortError('request aborted', { cause: signal.reason }));
    return new Promise<CoapResponse>((resolve, reject) => {
      this.#startRequest(
        request.peer,
        code,
        baseOptions,
        body,
        request.confirmable ?? true,
        Date.now() + timeout,
        signal,
        undefined,
        false,
        resolve,
        undefined,
        reject,
      );
    });
  }

  /**
   * Sends GET (or FETCH) with Observe=0 and resolves with the observation once the first
   * response arrives. When the server does not accept, the observation is inactive and yields
   * only that response.
   */
  async observe(request: OutgoingRequest, options: ObserveOptions = {}): Promise<Observation> {
    if (this.#closing !== undefined) throw new ClosedError('endpoint closed');
    const code = parseMethod(request.method);
    if (code === undefined) throw new CoapRequestError(`unknown method ${String(request.method)}`);
    const observeRequest = { ...request, observe: 0 };
    const { message, observation } = await this.#send(
      observeRequest,
      code,
      this.#requestOptions(observeRequest),
      toBytes(request.payload),
      options,
      true,
    );
    if (observation !== undefined) {
      observation.replaceInitialResponse(message);
      if ((options.reregister ?? this.#reregisterByDefault) && observation.active) {
        const entry: Reregistration = { dueAt: 0, heapIndex: -1, timerSeq: 0, observation };
        (this.#reregistrations ??= new Map()).set(observation, entry);
        this.#watchMaxAge(entry, message);
      }
      return observation;
    }
    return new Observation(
      { response: message, key: -1, token: message.message.token, now: Date.now(), established: false },
      this.#clientObservationControl(),
    );
  }

  /**
   * Takes over an observation this endpoint did not register, e.g. one kept in a store across a
   * process restart: notifications with its token from `peer` are acknowledged (CON) and delivered
   * by the returned {@link Observation} (AsyncIterable and events, §3.4 ordering, block-wise
   * notifications completed with GET/FETCH of `path`) instead of being answered with Reset. It
   * yields notifications only: there is no registration response. `cancel()` works passively
   * (forget the token; the next notification gets Reset) and, with `path`, actively (Observe=1).
   * Adopting a token this endpoint already follows for the same peer returns that observation.
   * Throws CoapRequestError for a bad token, ClosedError after `close()`.
   */
  adoptObservation(request: AdoptObservationRequest, options: AdoptObservationOptions = {}): Observation {
    if (this.#closing !== undefined) throw new ClosedError('endpoint closed');
    const token =
      typeof request.token === 'string' ? tokenFromHex(request.token) : Uint8Array.from(request.token);
    if (token.length < 4 || token.length > 8) {
      throw new CoapRequestError(`an adopted token must be 4..8 bytes, not ${token.length}`);
    }
    const peer = request.peer;
    const key = tokenKeyOf(token);
    const existing = this.#clientObservations?.get(key);
    if (existing !== undefined) {
      if (samePeer(existing.peer, peer) && bytesEqual(existing.token, token)) return existing;
      throw new CoapRequestError('the token collides with an observation this endpoint follows');
    }
    const method = request.method ?? 'GET';
    const code = method === 'FETCH' ? CoapCode.FETCH : CoapCode.GET;
    let registration: ObservationRegistration | undefined;
    if (request.path !== undefined) {
      try {
        registration = {
          code,
          options: this.#requestOptions({ ...request, observe: 0 }),
          payload: toBytes(request.payload),
        };
      } catch (error) {
        throw new CoapRequestError('cannot encode the registration of an adopted observation', {
          cause: error,
        });
      }
    }
    const now = Date.now();
    const stand: CoapMessage = {
      type: CoapType.ACK,
      code: CoapCode.CONTENT,
      messageId: 0,
      token,
      options: NO_OPTIONS,
      payload: EMPTY,
    };
    const observation = new Observation(
      {
        response: {
          peer,
          code: CoapCode.CONTENT,
          options: NO_OPTIONS,
          payload: EMPTY,
          contentFormat: undefined,
          observe: request.lastSequence,
          locationPath: NO_STRINGS,
          message: stand,
        },
        key,
        token,
        now,
        ...(registration === undefined ? {} : { registration }),
        adopted: { lastSequence: request.lastSequence, lastTime: request.lastNotifiedAt ?? now },
      },
      this.#clientObservationControl(),
    );
    this.#trackObservation(observation);
    if (registration !== undefined && (options.reregister ?? this.#reregisterByDefault)) {
      const entry: Reregistration = { dueAt: 0, heapIndex: -1, timerSeq: 0, observation };
      (this.#reregistrations ??= new Map()).set(observation, entry);
      this.#watchMaxAge(entry, observation.response);
    }
    return observation;
  }

  /**
   * The peer at `from` is now reachable at `to`, e.g. a device whose NAT mapping changed and that
   * sent its LwM2M registration Update from a new address and port. Call it when the application
   * has established that `to` is the same endpoint (a registration Update naming its registration,
   * over DTLS the same identity), best inside the handler of the request that revealed the new
   * address, before answering it. Everything we started with the peer follows:
   *
   * - client observations (we observe it): notifications are then taken from `to` only, and a
   *   notification from `from` is answered with Reset like any unknown one; cancel and
   *   re-registration go to `to`;
   * - server observations (it observes us): notifications go to `to`;
   * - requests in flight and queued behind NSTART, and the later blocks of block-wise transfers
   *   we drive: retransmissions and next messages go to `to`, a response from `to` is matched;
   * - the message-id counter, RTT estimate and notification pacing of the peer: the peer dedups
   *   our messages by *our* address, which did not change, so its ids must keep coming from the
   *   same counter (a fresh random start could repeat an id it saw within EXCHANGE_LIFETIME and
   *   be taken for a duplicate, i.e. answered with a stale response and never executed). Not
   *   when we already track exchanges with ids of our own to `to` (see `PeerTable.move`): those
   *   CONs still in flight then go on to `from`;
   * - NONs held back under PROBING_RATE go out to `to` now (the move tells the peer is alive).
   *
   * Not moved: the deduplication entries of messages *from* `from` (they say which of the
   * peer's messages we saw at that address and what we answered; a retransmission crossing the
   * rebinding is rare since the peer sends one exchange at a time (NSTART), and copying entries
   * of a cache built without an object per entry would mean a scan of it), block-wise uploads
   * it was sending us (the peer's next block from `to` gets 4.08 and it starts over, RFC 7959),
   * Block2 bodies we were serving it (recomputed by the handler when asked from `to`), and
   * requests from `from` still being handled (answered to `from`).
   *
   * Costs O(the peer's observations + requests and CONs in flight + server observations).
   */
  movePeer(from: PeerAddress, to: PeerAddress): MovedPeer {
    if (this.#closing !== undefined || samePeer(from, to)) {
      return { clientObservations: 0, serverObservations: 0, requests: 0, messageIds: false };
    }
    const fromKey = peerKeyOf(from);
    const toKey = peerKeyOf(to);
    const target: PeerAddress = {
      address: to.address,
      port: to.port,
      ...(to.family === undefined ? {} : { family: to.family }),
    };

    let clientObservations = 0;
    const observations = this.#observationsByPeer?.get(fromKey);
    if (observations !== undefined) {
      this.#observationsByPeer?.delete(fromKey);
      for (const observation of observations) {
        observation.moveTo(target);
        this.#indexObservation(observation, toKey);
        clientObservations++;
      }
    }

    let serverObservations = 0;
    const served = this.#serverObservations;
    if (served !== undefined && served.size > 0) {
      const prefix = `${fromKey}#`;
      for (const [key, observation] of [...served]) {
        if (!key.startsWith(prefix)) continue;
        const newKey = `${toKey}#${key.slice(prefix.length)}`;
        const oldDownloadKey = observation.downloadKey;
        const newDownloadKey = `${toKey}#${oldDownloadKey.slice(prefix.length)}`;
        // An observer at `to` with the same token already (it re-registered from there) wins.
        if (served.has(newKey)) continue;
        served.delete(key);
        observation.moveTo(target, newKey, newDownloadKey);
        served.set(newKey, observation);
        const body = this.#downloads?.get(oldDownloadKey);
        if (body !== undefined) {
          this.#downloads?.delete(oldDownloadKey);
          this.#downloadMap().set(newDownloadKey, body, this.#params.exchangeLifetime);
        }
        serverObservations++;
      }
    }

    const messageIds = this.#peerTable.move(from.address, from.port, to.address, to.port);
    if (messageIds) {
      // The slot, and so every composite key in flight, is now `to`'s: ACKs from `to` find them.
      for (const transmission of this.#transmissions.values()) {
        if (samePeer(transmission.peer, from)) transmission.peer = target;
      }
    }

    let requests = 0;
    const state = this.#peers.get(fromKey);
    if (state !== undefined) {
      this.#peers.delete(fromKey);
      const existing = this.#peers.get(toKey);
      if (existing === undefined) {
        state.key = toKey;
        this.#peers.set(toKey, state);
      } else {
        // Requests to both addresses: one NSTART budget from now on (briefly exceeded, never stalled).
        existing.active += state.active;
        existing.queue.push(...state.queue);
      }
    }
    const merged = this.#peers.get(toKey);
    for (const pending of this.#pending.values()) {
      if (!samePeer(pending.peer, from)) continue;
      pending.peer = target;
      if (merged !== undefined) pending.peerState = merged;
      requests++;
    }
    for (const context of this.#contexts ?? []) {
      if (samePeer(context.peer, from)) context.peer = target;
    }

    const probe = this.#probes?.get(fromKey);
    if (probe !== undefined) {
      this.#probes?.delete(fromKey);
      this.#probeTimers?.cancel(probe);
      for (const held of probe.held) {
        if (held.pending?.done !== true) this.#write(held.bytes, target);
      }
    }
    return { clientObservations, serverObservations, requests, messageIds };
  }

  /** CoAP ping (RFC 7252 §4.3): an empty CON; resolves when the peer answers with Reset. */
  ping(peer: PeerAddress, options: RequestOptions = {}): Promise<void> {
    if (this.#closing !== undefined) return Promise.reject(new ClosedError('endpoint closed'));
    return new Promise<void>((resolve, reject) => {
      const key = this.#nextKey(peer);
      const bytes = emptyMessage(CoapType.CON, key & 0xffff);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (error?: Error): void => {
        if (timer !== undefined) clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        this.#stopTransmission(transmission);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onAbort = (): void => finish(new AbortError('ping aborted'));
      const transmission = this.#startTransmission(peer, key, bytes, 'ping');
      transmission.settle = { resolve: () => finish(), reject: (error) => finish(error) };
      if (options.timeout !== undefined) {
        timer = setTimeout(
          () => finish(new TimeoutError(`no answer to ping within ${options.timeout} ms`)),
          options.timeout,
        );
      }
      if (options.signal?.aborted === true) onAbort();
      else options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Idempotent: rejects what is in flight with ClosedError, ends observations, closes an owned socket. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- client side ----------------------------------------------------------------------

  /** Options of a request in number order; a request with only a path shares a cached list. */
  #requestOptions(
    request: Pick<OutgoingRequest, 'path' | 'observe' | 'contentFormat' | 'query' | 'accept' | 'options'>,
  ): readonly CoapOption[] {
    const path = request.path === undefined ? undefined : this.#uriPathOptions(request.path);
    if (
      request.observe === undefined &&
      request.contentFormat === undefined &&
      request.query === undefined &&
      request.accept === undefined &&
      request.options === undefined
    ) {
      return path ?? [];
    }
    const options: CoapOption[] = [];
    if (request.observe !== undefined) options.push(uintOption(O.OBSERVE, request.observe));
    if (path !== undefined) options.push(...path);
    if (request.contentFormat !== undefined)
      options.push(uintOption(O.CONTENT_FORMAT, request.contentFormat));
    if (request.query !== undefined) pushStringOptions(options, O.URI_QUERY, splitQuery(request.query));
    if (request.accept !== undefined) options.push(uintOption(O.ACCEPT, request.accept));
    if (request.options !== undefined) options.push(...request.options);
    return options;
  }

  #uriPathOptions(path: string | readonly string[]): readonly CoapOption[] {
    if (typeof path !== 'string') {
      const options: CoapOption[] = [];
      pushStringOptions(options, O.URI_PATH, path);
      return options;
    }
    let options = this.#pathOptions?.get(path);
    if (options === undefined) {
      const built: CoapOption[] = [];
      pushStringOptions(built, O.URI_PATH, splitPath(path));
      options = Object.freeze(built);
      if ((this.#pathOptions?.size ?? 0) >= MAX_CACHED_PATHS) this.#pathOptions?.clear();
      (this.#pathOptions ??= new Map()).set(path, options);
    }
    return options;
  }

  async #send(
    request: OutgoingRequest,
    code: number,
    baseOptions: readonly CoapOption[],
    body: Uint8Array,
    options: RequestOptions,
    registersObservation: boolean,
  ): Promise<{ message: CoapResponse; observation: Observation | undefined }> {
    let szx = this.#szxFor(request.peer);
    // RFC 7959 §2.4: a Block2 option of the caller's asks for that one block (random access).
    const singleBlock = findOption(baseOptions, O.BLOCK2) !== undefined;
    if (request.blockSize !== undefined) {
      try {
        szx = sizeToSzx(request.blockSize);
      } catch (error) {
        throw new CoapRequestError(`invalid blockSize ${request.blockSize}`, { cause: error });
      }
    }
    const deadline = Date.now() + (options.timeout ?? this.#requestTimeout);
    const confirmable = request.confirmable ?? true;
    const context: ExchangeContext = {
      peer: request.peer,
      code,
      confirmable,
      deadline,
      signal: options.signal,
    };

    let first: ExchangeResult;
    if (body.length > blockSize(szx)) {
      first = await this.#upload(context, baseOptions, body, szx, registersObservation);
    } else {
      const early =
        !singleBlock && request.blockSize !== undefined && (code === CoapCode.GET || code === CoapCode.FETCH)
          ? [...baseOptions, { number: O.BLOCK2, value: encodeBlock({ num: 0, more: false, szx }) }]
          : baseOptions;
      first = await this.#exchange(context, early, body, undefined, registersObservation);
    }
    if (singleBlock)
      return { message: toResponse(context.peer, first.message), observation: first.observation };
    try {
      const response = await this.#completeDownload(context, baseOptions, body, first.message);
      return { message: response, observation: first.observation };
    } catch (error) {
      // The observation was registered when its first block arrived; without the rest it is useless.
      if (first.observation !== undefined)
        this.#cancelClientObservation(first.observation, false).catch(() => undefined);
      throw error;
    }
  }

  async #upload(
    context: ExchangeContext,
    baseOptions: readonly CoapOption[],
    body: Uint8Array,
    initialSzx: number,
    registersObservation: boolean,
  ): Promise<ExchangeResult> {
    (this.#contexts ??= new Set()).add(context);
    try {
      return await this.#uploadBlocks(context, baseOptions, body, initialSzx, registersObservation);
    } finally {
      this.#contexts?.delete(context);
    }
  }

  async #uploadBlocks(
    context: ExchangeContext,
    baseOptions: readonly CoapOption[],
    body: Uint8Array,
    initialSzx: number,
    registersObservation: boolean,
  ): Promise<ExchangeResult> {
    let szx = initialSzx;
    let offset = 0;
    for (;;) {
      const size = blockSize(szx);
      const num = offset / size;
      const end = Math.min(offset + size, body.length);
      const more = end < body.length;
      const options = [...baseOptions, { number: O.BLOCK1, value: encodeBlock({ num, more, szx }) }];
      if (num === 0) options.push(uintOption(O.SIZE1, body.length));
      const result = await this.#exchange(
        context,
        options,
        body.subarray(offset, end),
        undefined,
        registersObservation && !more,
      );
      if (!more || result.message.code !== CoapCode.CONTINUE) return result;
      const echo = findOption(result.message.options, O.BLOCK1);
      const block = echo === undefined ? undefined : decodeBlock(echo.value);
      // RFC 7959 §2.3: the server may ask for smaller blocks; later blocks then use its size.
      if (block !== undefined && block.szx < szx) szx = block.szx;
      offset = end;
    }
  }

  async #completeDownload(
    context: ExchangeContext,
    baseOptions: readonly CoapOption[],
    requestBody: Uint8Array,
    first: CoapMessage,
  ): Promise<CoapResponse> {
    (this.#contexts ??= new Set()).add(context);
    try {
      return await this.#downloadBlocks(context, baseOptions, requestBody, first);
    } finally {
      this.#contexts?.delete(context);
    }
  }

  async #downloadBlocks(
    context: ExchangeContext,
    baseOptions: readonly CoapOption[],
    requestBody: Uint8Array,
    first: CoapMessage,
  ): Promise<CoapResponse> {
    const option = findOption(first.options, O.BLOCK2);
    const block = option === undefined ? undefined : decodeBlock(option.value);
    if (block === undefined || !block.more) return toResponse(context.peer, first);
    if (block.num !== 0)
      throw new CoapBlockError(`first Block2 response carries block ${block.num}`, first.code);
    const size2 = getUintOption(first.options, O.SIZE2);
    if (size2 !== undefined && size2 > this.#maxBodySize) {
      throw new CoapBlockError(`response body of ${size2} bytes exceeds maxBodySize`, first.code);
    }
    const assembler = new BlockAssembler(this.#maxBodySize);
    assembler.add(0, block.szx, first.payload);
    const etag = findOption(first.options, O.ETAG)?.value;
    // Later blocks are plain requests: no Observe (RFC 7959 §2.6), no Block1 leftovers.
    const followOptions = withoutOptions(baseOptions, [O.OBSERVE, O.BLOCK1, O.BLOCK2, O.SIZE1]);
    const followBody = context.code === CoapCode.FETCH ? requestBody : EMPTY;
    let { szx } = block;
    let offset = first.payload.length;
    let last = first;
    for (;;) {
      const size = blockSize(szx);
      const options = [
        ...followOptions,
        { number: O.BLOCK2, value: encodeBlock({ num: offset / size, more: false, szx }) },
      ];
      const { message } = await this.#exchange(context, options, followBody, undefined, false);
      if (!isSuccessCode(message.code)) {
        throw new CoapBlockError(`block-wise download failed with ${formatCode(message.code)}`, message.code);
      }
      const nextOption = findOption(message.options, O.BLOCK2);
      const next = nextOption === undefined ? undefined : decodeBlock(nextOption.value);
      if (next === undefined)
        throw new CoapBlockError('block-wise download: response without Block2', message.code);
      if (!bytesEqual(etag, findOption(message.options, O.ETAG)?.value)) {
        throw new CoapBlockError(
          'block-wise download: resource changed (ETag) during the transfer',
          message.code,
        );
      }
      const result = assembler.add(next.num, next.szx, message.payload);
      if (result === 'too-large') throw new CoapBlockError('response body exceeds maxBodySize', message.code);
      if (result !== 'ok')
        throw new CoapBlockError(`block-wise download: unexpected block ${next.num}`, message.code);
      offset = assembler.size;
      szx = next.szx;
      last = message;
      if (!next.more) break;
      if (offset % blockSize(szx) !== 0)
        throw new CoapBlockError('block-wise download: short block before the end', message.code);
    }
    return { ...toResponse(context.peer, first, assembler.body()), message: last };
  }

  /** One request message and its response, as a step of a longer exchange (blocks, observe, cancel). */
  #exchange(
    context: ExchangeContext,
    options: readonly CoapOption[],
    payload: Uint8Array,
    token: Uint8Array | undefined,
    registersObservation: boolean,
  ): Promise<ExchangeResult> {
    if (this.#closing !== undefined) return Promise.reject(new ClosedError('endpoint closed'));
    if (context.deadline - Date.now() <= 0) return Promise.reject(new TimeoutError('request timed out'));
    if (context.signal?.aborted === true)
      return Promise.reject(new AbortError('request aborted', { cause: context.signal.reason }));
    return new Promise((resolve, reject) => {
      this.#startRequest(
        context.peer,
        context.code,
        options,
        payload,
        context.confirmable,
        context.deadline,
        context.signal,
        token,
        registersObservation,
        undefined,
        resolve,
        reject,
      );
    });
  }

  /** Registers one request message (deadline, abort, NSTART) and sends it or queues it behind NSTART. */
  #startRequest(
    peer: PeerAddress,
    code: number,
    options: readonly CoapOption[],
    payload: Uint8Array,
    confirmable: boolean,
    deadline: number,
    signal: AbortSignal | undefined,
    token: Uint8Array | undefined,
    registersObservation: boolean,
    onResponse: ((response: CoapResponse) => void) | undefined,
    onMessage: ((result: ExchangeResult) => void) | undefined,
    reject: (error: Error) => void,
  ): void {
    const peerState = this.#peerState(peerKeyOf(peer));
    const requestToken = token ?? this.#newToken();
    const pending: PendingRequest = {
      dueAt: 0,
      heapIndex: -1,
      timerSeq: 0,
      peer,
      peerState,
      tokenKey: tokenKeyOf(requestToken),
      token: requestToken,
      code,
      options,
      payload,
      confirmable,
      deadline,
      registersObservation,
      onResponse,
      onMessage,
      reject,
      signal,
      onAbort: undefined,
      transmission: undefined,
      holdsSlot: false,
      nonKey: -1,
      done: false,
      observation: undefined,
    };
    this.#pending.set(pending.tokenKey, pending);
    this.#deadlineQueue().schedule(pending, deadline - Date.now());
    if (signal !== undefined) {
      pending.onAbort = () =>
        this.#failRequest(pending, new AbortError('request aborted', { cause: signal.reason }));
      signal.addEventListener('abort', pending.onAbort, { once: true });
    }
    if (peerState.active < this.#params.nstart) {
      peerState.active++;
      pending.holdsSlot = true;
      this.#transmitRequest(pending);
    } else {
      peerState.queue.push(pending);
    }
  }

  #transmitRequest(pending: PendingRequest): void {
    const key = this.#nextKey(pending.peer);
    const messageId = key & 0xffff;
    let bytes: Uint8Array;
    try {
      bytes = serializeMessage(
        {
          type: pending.confirmable ? CoapType.CON : CoapType.NON,
          code: pending.code,
          messageId,
          token: pending.token,
          options: pending.options,
          payload: pending.payload,
        },
        this.#allocator(),
      );
    } catch (error) {
      this.#failRequest(pending, new CoapRequestError('cannot encode request', { cause: error }));
      return;
    }
    if (pending.confirmable) {
      const transmission = this.#startTransmission(pending.peer, key, bytes, 'request');
      transmission.pending = pending;
      pending.transmission = transmission;
    } else {
      pending.nonKey = key;
      (this.#nonRequests ??= new Map()).set(key, pending);
      this.#peerTable.hold(key);
      this.#sendNon(pending.peer, bytes, undefined, pending);
      // A NON has no ACK to wait for; holding the NSTART slot until a response that may never
      // come would stall every other request to this peer, so it is released once sent.
      this.#releaseSlot(pending);
    }
  }

  #failRequest(pending: PendingRequest, error: Error): void {
    if (pending.done) return;
    this.#finishRequest(pending);
    pending.reject(error);
  }

  #resolveRequest(pending: PendingRequest, message: CoapMessage): void {
    if (pending.done) return;
    this.#finishRequest(pending);
    if (
      pending.registersObservation &&
      isSuccessCode(message.code) &&
      findOption(message.options, O.OBSERVE) !== undefined
    ) {
      // Registered before the caller's continuation runs, so a notification right behind the
      // response finds its observation instead of being answered with Reset.
      const observation = new Observation(
        {
          response: toResponse(pending.peer, message),
          key: pending.tokenKey,
          token: pending.token,
          now: Date.now(),
          registration: {
            code: pending.code,
            options: withoutOptions(pending.options, [O.BLOCK1, O.BLOCK2, O.SIZE1]),
            payload: pending.payload,
          },
        },
        this.#clientObservationControl(),
      );
      this.#trackObservation(observation);
      pending.observation = observation;
    }
    if (pending.onMessage !== undefined) {
      pending.onMessage({ message, observation: pending.observation });
      return;
    }
    const onResponse = pending.onResponse!;
    // Whole unless it is a Block2 block the caller did not ask for by number (RFC 7959 §2.4).
    if (
      findOption(message.options, O.BLOCK2) === undefined ||
      findOption(pending.options, O.BLOCK2) !== undefined
    ) {
      onResponse(toResponse(pending.peer, message));
      return;
    }
    // A Block2 answer to a plain request: fetch the rest before resolving.
    const context: ExchangeContext = {
      peer: pending.peer,
      code: pending.code,
      confirmable: pending.confirmable,
      deadline: pending.deadline,
      signal: pending.signal,
    };
    this.#completeDownload(context, pending.options, pending.payload, message).then(
      onResponse,
      pending.reject,
    );
  }

  #finishRequest(pending: PendingRequest): void {
    pending.done = true;
    this.#deadlines?.cancel(pending);
    if (pending.onAbort !== undefined) pending.signal?.removeEventListener('abort', pending.onAbort);
    if (this.#pending.get(pending.tokenKey) === pending) this.#pending.delete(pending.tokenKey);
    if (pending.transmission !== undefined) this.#stopTransmission(pending.transmission);
    if (pending.nonKey >= 0 && this.#nonRequests?.get(pending.nonKey) === pending) {
      this.#nonRequests?.delete(pending.nonKey);
      this.#peerTable.release(pending.nonKey);
    }
    this.#releaseSlot(pending);
  }

  #releaseSlot(pending: PendingRequest): void {
    const state = pending.peerState;
    if (!pending.holdsSlot) {
      const index = state.queue.indexOf(pending);
      if (index >= 0) state.queue.splice(index, 1);
    } else {
      pending.holdsSlot = false;
      state.active--;
      let next = state.queue.shift();
      while (next !== undefined && next.done) next = state.queue.shift();
      if (next !== undefined) {
        state.active++;
        next.holdsSlot = true;
        this.#transmitRequest(next);
      }
    }
    // Forget idle peers; a request started later makes a new state (the old one is then unreferenced).
    if (state.active === 0 && state.queue.length === 0 && this.#peers.get(state.key) === state)
      this.#peers.delete(state.key);
  }

  #peerState(peerKey: string): PeerState {
    let state = this.#peers.get(peerKey);
    if (state === undefined) {
      state = { key: peerKey, active: 0, queue: [] };
      this.#peers.set(peerKey, state);
    }
    return state;
  }

  #newToken(): Uint8Array {
    for (;;) {
      const token = this.#tokenPool.take(this.#tokenLength);
      const key = tokenKeyOf(token);
      if (!this.#pending.has(key) && !this.#clientObservations?.has(key)) return token;
    }
  }

  async #cancelClientObservation(observation: Observation, active: boolean): Promise<void> {
    this.#endClientObservation(observation, undefined);
    if (!active || this.#closing !== undefined) return;
    const peer = observation.peer;
    // RFC 7641 §3.6: the same request with Observe=1 and the same token.
    const request = observation.registration;
    if (request === undefined) return;
    const options = [...withoutOptions(request.options, [O.OBSERVE]), uintOption(O.OBSERVE, 1)];
    try {
      await this.#exchange(
        {
          peer,
          code: request.code,
          confirmable: true,
          deadline: Date.now() + this.#requestTimeout,
          signal: undefined,
        },
        options,
        request.payload,
        observation.token,
        false,
      );
    } catch (error) {
      // The observation already ended here; an unanswered (or cut short by close()) deregistration
      // leaves the passive cancel of §3.6: the next notification for the token gets Reset.
      this.#logger.debug({ err: error, peer: formatPeer(peer) }, 'active observe cancel not answered');
    }
  }

  #onNotification(observation: Observation, peer: PeerAddress, message: CoapMessage): void {
    const option = findOption(message.options, O.BLOCK2);
    const block = option === undefined ? undefined : decodeBlock(option.value);
    if (block === undefined || !block.more) {
      this.#offerNotification(observation, toResponse(peer, message));
      return;
    }
    const registration = observation.registration;
    if (registration === undefined) {
      this.#logger.debug(
        { peer: formatPeer(peer) },
        'block-wise notification of an adopted observation without path skipped',
      );
      return;
    }
    // RFC 7959 §2.6: the rest of a large notification is fetched with plain GETs.
    const context: ExchangeContext = {
      peer,
      code: registration.code,
      confirmable: true,
      deadline: Date.now() + this.#requestTimeout,
      signal: undefined,
    };
    this.#completeDownload(context, registration.options, registration.payload, message).then(
      (response) => this.#offerNotification(observation, { ...response, message }),
      (error: unknown) =>
        this.#logger.debug({ err: error }, 'could not fetch the rest of a block-wise notification'),
    );
  }

  /** `renewed`: the response answers a re-registration, so it restarts the Max-Age watch even when not fresher. */
  #offerNotification(observation: Observation, response: CoapResponse, renewed = false): void {
    const fresh = observation.offer(response, Date.now());
    if (!isSuccessCode(response.code) || response.observe === undefined) {
      // RFC 7641 §3.2: a notification without Observe or with an error code ends the observation.
      this.#endClientObservation(observation, undefined);
      return;
    }
    const entry = this.#reregistrations?.get(observation);
    if (entry !== undefined && (fresh || renewed)) this.#watchMaxAge(entry, response);
  }

  #trackObservation(observation: Observation): void {
    (this.#clientObservations ??= new Map()).set(observation.key, observation);
    this.#indexObservation(observation, peerKeyOf(observation.peer));
  }

  #indexObservation(observation: Observation, peerKey: string): void {
    let set = this.#observationsByPeer?.get(peerKey);
    if (set === undefined) {
      set = new Set();
      (this.#observationsByPeer ??= new Map()).set(peerKey, set);
    }
    set.add(observation);
  }

  #untrackObservation(observation: Observation): void {
    if (this.#clientObservations?.get(observation.key) !== observation) return;
    this.#clientObservations?.delete(observation.key);
    const peerKey = peerKeyOf(observation.peer);
    const set = this.#observationsByPeer?.get(peerKey);
    if (set?.delete(observation) === true && set.size === 0) this.#observationsByPeer?.delete(peerKey);
  }

  #endClientObservation(observation: Observation, error: Error | undefined): void {
    this.#untrackObservation(observation);
    const entry = this.#reregistrations?.get(observation);
    if (entry !== undefined) {
      this.#reregistrations?.delete(observation);
      this.#reregistrationTimers?.cancel(entry);
    }
    observation.finish(error);
  }

  /** Re-arms the RFC 7641 §3.3.1 watch from the Max-Age of the latest notification. */
  #watchMaxAge(entry: Reregistration, response: CoapResponse): void {
    const maxAge = getUintOption(response.options, O.MAX_AGE) ?? DEFAULT_MAX_AGE_S;
    this.#reregistrationQueue().schedule(entry, maxAge * 1000 + this.#reregistrationMargin);
  }

  /** Max-Age passed without a fresh notification: register again with the same token (RFC 7641 §3.3.1). */
  #reregister(entry: Reregistration): void {
    const { observation } = entry;
    const registration = observation.registration;
    if (!observation.active || this.#closing !== undefined || registration === undefined) {
      this.#reregistrations?.delete(observation);
      return;
    }
    const peer = observation.peer;
    const context: ExchangeContext = {
      peer,
      code: registration.code,
      confirmable: true,
      deadline: Date.now() + this.#requestTimeout,
      signal: undefined,
    };
    this.#exchange(context, registration.options, registration.payload, observation.token, false).then(
      ({ message }) => {
        if (!observation.active) return;
        const block = findOption(message.options, O.BLOCK2);
        if (block === undefined) {
          this.#offerNotification(observation, toResponse(observation.peer, message), true);
          return;
        }
        this.#completeDownload(context, registration.options, registration.payload, message).then(
          (response) => this.#offerNotification(observation, { ...response, message }, true),
          (error: unknown) => this.#endClientObservation(observation, asError(error)),
        );
      },
      (error: unknown) => {
        // The server is gone or refuses: the observation is lost, and its reader learns why.
        if (observation.active) this.#endClientObservation(observation, asError(error));
      },
    );
  }

  // ---- message layer ---------------------------------------------------------------------

  /** Composite key (peer slot, id) of the next message id toward `peer`, skipping ids still tracked. */
  #nextKey(peer: PeerAddress): number {
    return this.#peerTable.nextKey(
      this.#peerTable.get(peer.address, peer.port),
      (this.#idInUse ??= this.#isIdInUse.bind(this)),
    );
  }

  #write(bytes: Uint8Array, peer: PeerAddress): void {
    if (!this.#hasSendNow) {
      this.#socket.send(bytes, peer).catch((this.#onSendFailure ??= this.#sendFailed.bind(this)));
      return;
    }
    try {
      this.#socket.sendNow!(bytes, peer);
    } catch (error) {
      // sendNow must not throw; one that does anyway must not take the endpoint down.
      this.#sendFailed(error);
    }
  }

  /** Sends a NON we initiate, within PROBING_RATE toward a peer that has not answered (RFC 7252 §4.7). */
  #sendNon(
    peer: PeerAddress,
    bytes: Uint8Array,
    observation: ServerObservation | undefined,
    pending: PendingRequest | undefined,
  ): void {
    const rate = this.#params.probingRate;
    if (!(rate < Infinity)) {
      this.#write(bytes, peer);
      return;
    }
    const key = peerKeyOf(peer);
    const probe = this.#probes?.get(key);
    const now = Date.now();
    if (probe === undefined) {
      // Nothing unanswered yet: this NON is the probe.
      const state: ProbeState = {
        dueAt: 0,
        heapIndex: -1,
        timerSeq: 0,
        key,
        peer,
        since: now,
        bytes: bytes.length,
        held: [],
      };
      (this.#probes ??= new Map()).set(key, state);
      this.#write(bytes, peer);
      return;
    }
    if (probe.held.length === 0 && this.#probeAllows(probe, bytes.length, now)) {
      probe.bytes += bytes.length;
      this.#write(bytes, peer);
      return;
    }
    if (observation !== undefined) {
      const waiting = probe.held.find((held) => held.observation === observation);
      if (waiting !== undefined) {
        waiting.bytes = bytes;
        return;
      }
    }
    probe.held.push({ bytes, observation, pending });
    if (probe.heapIndex < 0) this.#scheduleRelease(probe, now);
  }

  #probeAllows(probe: ProbeState, size: number, now: number): boolean {
    return probe.bytes + size <= (this.#params.probingRate * (now - probe.since)) / 1000;
  }

  #scheduleRelease(probe: ProbeState, now: number): void {
    const head = probe.held[0];
    if (head === undefined) return;
    const at = probe.since + ((probe.bytes + head.bytes.length) * 1000) / this.#params.probingRate;
    this.#probeQueue().schedule(probe, Math.max(0, Math.ceil(at - now)));
  }

  #releaseHeld(probe: ProbeState): void {
    const now = Date.now();
    while (probe.held.length > 0) {
      const head = probe.held[0]!;
      if (head.pending?.done === true) {
        probe.held.shift();
        continue;
      }
      if (!this.#probeAllows(probe, head.bytes.length, now)) break;
      probe.held.shift();
      probe.bytes += head.bytes.length;
      this.#write(head.bytes, probe.peer);
    }
    this.#scheduleRelease(probe, now);
  }

  /** The peer sent something: it is responsive again, and what was held back goes out. */
  #heardFrom(peer: PeerAddress): void {
    const key = peerKeyOf(peer);
    const probe = this.#probes?.get(key);
    if (probe === undefined) return;
    this.#probes?.delete(key);
    this.#probeTimers?.cancel(probe);
    for (const held of probe.held) {
      if (held.pending?.done !== true) this.#write(held.bytes, peer);
    }
  }

  #startTransmission(
    peer: PeerAddress,
    key: number,
    bytes: Uint8Array,
    kind: Transmission['kind'],
  ): Transmission {
    const { ackTimeout, ackRandomFactor } = this.#params;
    const transmission: Transmission = {
      dueAt: 0,
      heapIndex: -1,
      timerSeq: 0,
      messageId: key & 0xffff,
      key,
      peer,
      bytes,
      kind,
      attempts: 0,
      timeout: ackTimeout * (1 + (ackRandomFactor - 1) * this.#random()),
      sentAt: Date.now(),
      pending: undefined,
      observation: undefined,
      settle: undefined,
      countsForNstart: false,
    };
    this.#transmissions.set(key, transmission);
    this.#peerTable.hold(key);
    this.#retransmissionQueue().schedule(transmission, transmission.timeout);
    this.#write(bytes, peer);
    return transmission;
  }

  #retransmit(transmission: Transmission): void {
    if (this.#transmissions.get(transmission.key) !== transmission) return;
    if (transmission.attempts >= this.#params.maxRetransmit) {
      this.#stopTransmission(transmission);
      this.#transmissionFailed(
        transmission,
        new CoapTimeoutError(
          `no ACK from ${formatPeer(transmission.peer)} after ${transmission.attempts} retransmissions`,
        ),
      );
      return;
    }
    const observation = transmission.observation;
    if (transmission.kind === 'notification' && observation !== undefined) {
      const state = this.#notificationsInTransit?.get(observation);
      if (state !== undefined && state.transmission === transmission && state.next !== undefined) {
        this.#takeOverNotification(transmission, observation, state);
        return;
      }
    }
    transmission.attempts++;
    transmission.timeout *= 2;
    this.#retransmissionQueue().schedule(transmission, transmission.timeout);
    this.#write(transmission.bytes, transmission.peer);
  }

  #stopTransmission(transmission: Transmission): void {
    if (transmission.countsForNstart) {
      transmission.countsForNstart = false;
      const record = this.#peerTable.bySlot(transmission.key);
      if (record !== undefined) this.#confirmableNotificationDone(record);
    }
    this.#retransmissions?.cancel(transmission);
    if (this.#transmissions.get(transmission.key) === transmission) {
      this.#transmissions.delete(transmission.key);
      this.#peerTable.release(transmission.key);
    }
  }

  #transmissionFailed(transmission: Transmission, error: Error): void {
    switch (transmission.kind) {
      case 'request':
        if (transmission.pending !== undefined) this.#failRequest(transmission.pending, error);
        break;
      case 'ping':
        if (error instanceof CoapResetError) transmission.settle?.resolve();
        else transmission.settle?.reject(error);
        break;
      case 'notification':
        // Settle first: the callers learn the real cause before the observation ends.
        transmission.settle?.reject(error);
        if (transmission.observation !== undefined) {
          this.#removeServerObservation(
            transmission.observation,
            error instanceof CoapResetError ? 'reset' : 'timeout',
          );
        }
        break;
      case 'response':
        if (transmission.observation !== undefined) {
          this.#removeServerObservation(
            transmission.observation,
            error instanceof CoapResetError ? 'reset' : 'timeout',
          );
        }
        this.#logger.debug(
          { err: error, peer: formatPeer(transmission.peer) },
          'separate response not acknowledged',
        );
        break;
    }
  }

  #receive(datagram: DatagramMessage): void {
    if (this.#closing !== undefined) return;
    let message: CoapMessage;
    try {
      message = parseMessage(datagram.data);
    } catch (error) {
      // RFC 7252 §4.2: a CON we cannot parse is rejected with Reset; anything else is dropped.
      if (error instanceof CoapMessageError && error.type === CoapType.CON && error.messageId !== undefined) {
        this.#sendReset(datagram.peer, error.messageId);
      }
      return;
    }
    if ((this.#probes?.size ?? 0) > 0) this.#heardFrom(datagram.peer);
    try {
      // listenerCount first: emit() builds an argument array even when nobody listens.
      if (this.listenerCount('activity') > 0) this.emit('activity', datagram.peer);
    } catch (error) {
      this.#logger.error({ err: error }, 'coap activity listener threw');
    }
    try {
      this.#dispatch(message, datagram);
    } catch (error) {
      // A bug here must not take the socket listener down with it.
      this.#logger.error({ err: error }, 'coap message handling failed');
    }
  }

  #dispatch(message: CoapMessage, datagram: DatagramMessage): void {
    const peer = datagram.peer;
    switch (message.type) {
      case CoapType.ACK:
        if (message.code === 0 || isResponseCode(message.code)) this.#onAck(message, peer);
        return;
      case CoapType.RST:
        if (message.code === 0) this.#onReset(message, peer);
        return;
      default:
        break;
    }
    const confirmable = message.type === CoapType.CON;
    if (message.code === 0) {
      // A CON empty message is a ping (RFC 7252 §4.3); a NON empty one means nothing.
      if (confirmable) this.#sendReset(peer, message.messageId);
      return;
    }
    const requestCode = isRequestCode(message.code);
    if (!requestCode && !isResponseCode(message.code)) {
      if (confirmable) this.#sendReset(peer, message.messageId);
      return;
    }
    const seen = this.#dedup?.find(peer.address, peer.port, message.messageId) ?? 0;
    if (seen !== 0) {
      const reply = this.#dedup?.reply(seen);
      if (reply !== undefined) this.#write(reply, peer);
      return;
    }
    const handle = this.#dedupCache().add(
      peer.address,
      peer.port,
      message.messageId,
      confirmable ? this.#params.exchangeLifetime : this.#params.nonLifetime,
    );
    if (requestCode) this.#onRequest(message, datagram, handle);
    else this.#onResponse(message, peer, handle);
  }

  #onAck(message: CoapMessage, peer: PeerAddress): void {
    const key = this.#peerTable.keyOf(peer.address, peer.port, message.messageId);
    if (key < 0) return;
    const transmission = this.#transmissions.get(key);
    if (transmission === undefined || !samePeer(transmission.peer, peer)) return;
    // Karn's rule: only an answer to a message sent once measures the round trip.
    if (transmission.attempts === 0) this.#sampleRtt(key, Date.now() - transmission.sentAt);
    if (transmission.kind === 'request') {
      const pending = transmission.pending;
      if (pending === undefined) return;
      if (message.code !== 0 && !bytesEqual(message.token, pending.token)) return;
      this.#stopTransmission(transmission);
      pending.transmission = undefined;
      if (message.code === 0) {
        // Empty ACK: the response comes separately; let the next queued request go (NSTART).
        if (pending.holdsSlot) this.#releaseSlot(pending);
        return;
      }
      this.#resolveRequest(pending, message);
      return;
    }
    this.#stopTransmission(transmission);
    transmission.settle?.resolve();
  }

  #sampleRtt(key: number, sample: number): void {
    const record = this.#peerTable.bySlot(key);
    if (record === undefined) return;
    // RFC 6298's smoothing (alpha 1/8).
    record.rtt = record.rtt < 0 ? sample : record.rtt + (sample - record.rtt) / 8;
  }

  #onReset(message: CoapMessage, peer: PeerAddress): void {
    const id = this.#peerTable.keyOf(peer.address, peer.port, message.messageId);
    const transmission = id < 0 ? undefined : this.#transmissions.get(id);
    if (transmission !== undefined && samePeer(transmission.peer, peer)) {
      this.#stopTransmission(transmission);
      this.#transmissionFailed(transmission, new CoapResetError(`${formatPeer(peer)} answered with Reset`));
      return;
    }
    const nonRequest = id < 0 ? undefined : this.#nonRequests?.get(id);
    if (nonRequest !== undefined && samePeer(nonRequest.peer, peer)) {
      this.#failRequest(nonRequest, new CoapResetError(`${formatPeer(peer)} answered with Reset`));
      return;
    }
    // RFC 7641 §3.6: a Reset in reply to a NON notification cancels the observation.
    const key = `${peerKeyOf(peer)}#${message.messageId}`;
    const observation = this.#nonNotifications?.get(key);
    if (observation !== undefined) {
      this.#nonNotifications?.delete(key);
      this.#removeServerObservation(observation, 'reset');
    }
  }

  #onResponse(message: CoapMessage, peer: PeerAddress, dedupHandle: number): void {
    const key = tokenKeyOf(message.token);
    let pending = this.#pending.get(key);
    if (pending !== undefined && !(samePeer(pending.peer, peer) && bytesEqual(pending.token, message.token)))
      pending = undefined;
    let observation = pending === undefined ? this.#clientObservations?.get(key) : undefined;
    if (
      observation !== undefined &&
      !(samePeer(observation.peer, peer) && bytesEqual(observation.token, message.token))
    )
      observation = undefined;
    // A known token from another address is not taken, even when it looks like the observed
    // device after a NAT rebinding: on NoSec tokens travel in clear, so anyone on the path (or who
    // once was) could inject notifications, or answers to our requests, into a device's stream by
    // replaying its token from an address of their own. Only the application can tell that a new
    // address is the same device (a registration Update naming its registration; over DTLS, the
    // same identity) and then calls movePeer(); until then such a message gets the Reset below,
    // sent to the stranger's address, which leaves our observation at the real peer untouched.
    if (pending === undefined && observation === undefined) {
      // RFC 7252 §5.3.2 / RFC 7641 §3.6: reject a response nobody waits for (passive cancel).
      this.#dedup?.setReply(dedupHandle, this.#sendReset(peer, message.messageId));
      return;
    }
    if (message.type === CoapType.CON) {
      const ack = emptyMessage(CoapType.ACK, message.messageId);
      this.#dedup?.setReply(dedupHandle, ack);
      this.#write(ack, peer);
    }
    if (pending !== undefined) this.#resolveRequest(pending, message);
    else if (observation !== undefined) this.#onNotification(observation, peer, message);
  }

  #sendReset(peer: PeerAddress, messageId: number): Uint8Array {
    const bytes = emptyMessage(CoapType.RST, messageId);
    this.#write(bytes, peer);
    return bytes;
  }

  // ---- server side -----------------------------------------------------------------------

  #onRequest(message: CoapMessage, datagram: DatagramMessage, dedupHandle: number): void {
    const exchange = new IncomingExchange(message, datagram, dedupHandle, this.#notificationSender());
    const method = methodName(message.code);
    if (method === undefined) {
      this.#respond(exchange, { code: CoapCode.METHOD_NOT_ALLOWED });
      return;
    }
    const unknown = firstUnknownCriticalOption(message.options);
    if (unknown !== undefined) {
      // RFC 7252 §5.4.1: 4.02 for a CON; a NON is rejected (silently dropped here).
      if (message.type === CoapType.CON) {
        this.#respond(exchange, { code: CoapCode.BAD_OPTION, payload: `unknown critical option ${unknown}` });
      }
      return;
    }
    if (exchange.observe === 1) this.#removeServerObservationByKey(exchange.tokenKey, 'deregistered');
    else if (exchange.observe === 0) {
      const previous = this.#serverObservations?.get(exchange.tokenKey);
      if (previous !== undefined) {
        // RFC 7641 §4.1: the same observer registering again replaces its entry; continuing the
        // sequence keeps the answer fresh by the client's §3.4 rule (a re-registration, §3.3.1).
        exchange.initialSequence = previous.nextSequence();
        this.#removeServerObservation(previous, 'replaced');
      }
    }

    const block1Option = findOption(message.options, O.BLOCK1);
    if (block1Option !== undefined && !this.#collectBlock1(exchange, block1Option.value)) return;

    const block2Option = findOption(message.options, O.BLOCK2);
    if (block2Option !== undefined) {
      const block2 = decodeBlock(block2Option.value);
      if (block2 === undefined) {
        this.#respond(exchange, { code: CoapCode.BAD_OPTION, payload: 'bad Block2 option' });
        return;
      }
      exchange.block2 = block2;
      if (block2.num > 0) {
        const cached = this.#downloads?.get(transferKey(exchange.peerKey, message));
        if (cached !== undefined) {
          this.#respondBody(exchange, cached.code, cached.options, cached.body);
          return;
        }
      }
    }
    this.#runHandler(exchange, method);
  }

  /** Stores one Block1 block; returns true when the body is complete and the handler should run. */
  #collectBlock1(exchange: IncomingExchange, value: Uint8Array): boolean {
    const block = decodeBlock(value);
    if (block === undefined) {
      this.#respond(exchange, { code: CoapCode.BAD_OPTION, payload: 'bad Block1 option' });
      return false;
    }
    const key = transferKey(exchange.peerKey, exchange.message);
    let assembler = this.#uploads?.get(key);
    if (block.num === 0) {
      const size1 = getUintOption(exchange.message.options, O.SIZE1);
      if (size1 !== undefined && size1 > this.#maxBodySize) {
        if (this.listenerCount('block1') > 0) this.#emitBlock1(exchange, block, 0, true);
        this.#respondTooLarge(exchange);
        return false;
      }
      assembler = new BlockAssembler(this.#maxBodySize);
      this.#uploadMap().set(key, assembler, this.#params.exchangeLifetime);
    } else if (assembler === undefined) {
      this.#respond(exchange, { code: CoapCode.REQUEST_ENTITY_INCOMPLETE });
      return false;
    }
    if (block.more && exchange.message.payload.length !== blockSize(block.szx)) {
      this.#uploads?.delete(key);
      this.#respond(exchange, { code: CoapCode.BAD_REQUEST, payload: 'block size does not match SZX' });
      return false;
    }
    const result = assembler.add(block.num, block.szx, exchange.message.payload);
    if (block.num === 0) assembler.announcedSize = getUintOption(exchange.message.options, O.SIZE1);
    if ((result === 'ok' || result === 'too-large') && this.listenerCount('block1') > 0)
      this.#emitBlock1(exchange, block, assembler.size, result === 'too-large', assembler.announcedSize);
    if (result === 'gap') {
      this.#uploads?.delete(key);
      this.#respond(exchange, { code: CoapCode.REQUEST_ENTITY_INCOMPLETE });
      return false;
    }
    if (result === 'too-large') {
      this.#uploads?.delete(key);
      this.#respondTooLarge(exchange);
      return false;
    }
    const szx = Math.min(block.szx, this.#szx);
    if (block.more) {
      this.#uploadMap().set(key, assembler, this.#params.exchangeLifetime);
      this.#respond(exchange, {
        code: CoapCode.CONTINUE,
        options: [{ number: O.BLOCK1, value: encodeBlock({ num: block.num, more: true, szx }) }],
      });
      return false;
    }
    this.#uploads?.delete(key);
    exchange.payload = assembler.body();
    exchange.block1Echo = { num: block.num, more: false, szx: block.szx };
    return true;
  }

  #emitBlock1(
    exchange: IncomingExchange,
    block: BlockOption,
    received: number,
    tooLarge: boolean,
    announced?: number,
  ): void {
    const progress: Block1Progress = {
      peer: exchange.peer,
      identity: exchange.identity,
      method: methodName(exchange.message.code) ?? 'POST',
      path: exchange.path,
      num: block.num,
      size: blockSize(block.szx),
      more: block.more,
      received,
      size1: getUintOption(exchange.message.options, O.SIZE1) ?? announced,
      tooLarge,
    };
    try {
      this.emit('block1', progress);
    } catch (error) {
      this.#logger.error({ err: error }, 'coap block1 listener threw');
    }
  }

  #respondTooLarge(exchange: IncomingExchange): void {
    this.#respond(exchange, {
      code: CoapCode.REQUEST_ENTITY_TOO_LARGE,
      options: [uintOption(O.SIZE1, this.#maxBodySize)],
    });
  }

  #runHandler(exchange: IncomingExchange, method: CoapMethod): void {
    exchange.method = method;
    const handler = this.#handler;
    if (handler === undefined) {
      this.#respond(exchange, { code: CoapCode.NOT_FOUND });
      return;
    }
    let result: OutgoingResponse | Promise<OutgoingResponse>;
    try {
      result = handler(exchange);
    } catch (error) {
      this.#logger.warn({ err: error }, 'coap request handler threw');
      this.#respond(exchange, { code: CoapCode.INTERNAL_SERVER_ERROR });
      return;
    }
    if (!isPromiseLike(result)) {
      this.#respond(exchange, result);
      return;
    }
    (this.#incoming ??= new Set()).add(exchange);
    if (exchange.message.type === CoapType.CON) this.#separateQueue().schedule(exchange, this.#separateAfter);
    result.then(
      (response) => this.#respond(exchange, response),
      (error: unknown) => {
        this.#logger.warn({ err: error }, 'coap request handler failed');
        this.#respond(exchange, { code: CoapCode.INTERNAL_SERVER_ERROR });
      },
    );
  }

  /** A handler is slow: acknowledge now, answer later (RFC 7252 §5.2.2). */
  #acknowledgeLate(exchange: IncomingExchange): void {
    if (exchange.done || this.#closing !== undefined) return;
    exchange.ackSent = true;
    const bytes = emptyMessage(CoapType.ACK, exchange.message.messageId);
    this.#dedup?.setReply(exchange.dedupHandle, bytes);
    this.#write(bytes, exchange.peer);
  }

  #respond(exchange: IncomingExchange, response: OutgoingResponse): void {
    if (exchange.done || this.#closing !== undefined) return;
    let options: CoapOption[];
    let body: Uint8Array;
    try {
      if (typeof response !== 'object' || response === null || !isResponseCode(response.code)) {
        throw new CoapRequestError('handler returned no valid response code');
      }
      options = responseOptions(response);
      body = toBytes(response.payload);
    } catch (error) {
      this.#logger.warn({ err: error }, 'invalid response from coap request handler');
      options = [];
      body = EMPTY;
      response = { code: CoapCode.INTERNAL_SERVER_ERROR };
    }
    if (exchange.block1Echo !== undefined) {
      options.push({ number: O.BLOCK1, value: encodeBlock(exchange.block1Echo) });
    }
    const observation = exchange.observation;
    if (observation !== undefined) {
      if (isSuccessCode(response.code) && observation.active) {
        (this.#serverObservations ??= new Map()).set(observation.key, observation);
        observation.markRegistered();
        observation.lastConfirmableAt = Date.now();
        options.push(uintOption(O.OBSERVE, observation.nextSequence()));
      } else {
        observation.end('error-response');
      }
    }
    this.#respondBody(exchange, response.code, options, body);
  }

  /** Sends a response, cutting the body into Block2 blocks when it is larger than one block. */
  #respondBody(
    exchange: IncomingExchange,
    code: number,
    options: readonly CoapOption[],
    body: Uint8Array,
  ): void {
    const requested = exchange.block2;
    const ours = this.#szxFor(exchange.peer);
    const szx = Math.min(ours, requested?.szx ?? ours);
    const num = requested?.num ?? 0;
    if (body.length <= blockSize(szx) && num === 0) {
      this.#sendResponse(exchange, code, options, body);
      return;
    }
    const slice = sliceBlock(body, num, szx);
    if (slice === undefined) {
      this.#sendResponse(exchange, CoapCode.BAD_OPTION, [], encodeUtf8('Block2 beyond the end of the body'));
      return;
    }
    const blockOptions = withoutOptions(options, [O.BLOCK2, O.SIZE2]);
    if (num === 0 && slice.more) {
      this.#downloadMap().set(
        transferKey(exchange.peerKey, exchange.message),
        { code, options: withoutOptions(options, [O.OBSERVE, O.BLOCK1]), body },
        this.#params.exchangeLifetime,
      );
    }
    blockOptions.push({ number: O.BLOCK2, value: encodeBlock({ num, more: slice.more, szx }) });
    if (num === 0) blockOptions.push(uintOption(O.SIZE2, body.length));
    this.#sendResponse(exchange, code, blockOptions, slice.data);
  }

  #sendResponse(
    exchange: IncomingExchange,
    code: number,
    options: readonly CoapOption[],
    payload: Uint8Array,
  ): void {
    exchange.done = true;
    this.#incoming?.delete(exchange);
    this.#separateTimers?.cancel(exchange);
    const message = exchange.message;
    const confirmable = message.type === CoapType.CON;
    const piggybacked = confirmable && !exchange.ackSent;
    const key = piggybacked ? -1 : this.#nextKey(exchange.peer);
    const messageId = piggybacked ? message.messageId : key & 0xffff;
    let bytes: Uint8Array;
    try {
      bytes = serializeMessage(
        {
          type: piggybacked ? CoapType.ACK : confirmable ? CoapType.CON : CoapType.NON,
          code,
          messageId,
          token: message.token,
          options,
          payload,
        },
        this.#allocator(),
      );
    } catch (error) {
      this.#logger.warn({ err: error }, 'cannot encode coap response');
      bytes = serializeMessage({
        type: piggybacked ? CoapType.ACK : confirmable ? CoapType.CON : CoapType.NON,
        code: CoapCode.INTERNAL_SERVER_ERROR,
        messageId,
        token: message.token,
        options: [],
        payload: EMPTY,
      });
    }
    if (confirmable && !piggybacked) {
      // Separate response: a CON of its own (RFC 7252 §5.2.2); duplicates of the request keep getting the empty ACK.
      const transmission = this.#startTransmission(exchange.peer, key, bytes, 'response');
      if (exchange.observation?.registered === true) transmission.observation = exchange.observation;
      return;
    }
    this.#dedup?.setReply(exchange.dedupHandle, bytes);
    this.#write(bytes, exchange.peer);
  }

  #sendNotification(observation: ServerObservation, notification: Notification): Promise<void> {
    if (this.#closing !== undefined) return Promise.reject(new ClosedError('endpoint closed'));
    if (!observation.active || this.#serverObservations?.get(observation.key) !== observation) {
      return Promise.reject(new ClosedError('observation ended'));
    }
    try {
      notificationContent(notification);
    } catch (error) {
      return Promise.reject(new CoapRequestError('invalid notification', { cause: error }));
    }
    return new Promise<void>((resolve, reject) => {
      const paced = this.#pacedObservations?.get(observation);
      if (paced !== undefined) {
        // A newer state replaces the one held back by pacing (RFC 7641 §4.5.1), whatever its type.
        paced.notification = notification;
        paced.settlers.push({ resolve, reject });
        return;
      }
      const inTransit = this.#notificationsInTransit?.get(observation);
      if (inTransit === undefined) {
        this.#transmitNotification(observation, notification, [{ resolve, reject }], undefined);
        return;
      }
      // RFC 7641 §4.5.2: the newest state replaces whatever waits, and goes out in place of the
      // in-transit notification's next retransmission (or right after its ACK).
      inTransit.next = notification;
      inTransit.nextSettlers.push({ resolve, reject });
    });
  }

  /**
   * Sends one notification. `previous` is the CON notification it takes over: the new one then
   * goes out as that one's next retransmission would have (same counter and timeout schedule).
   */
  #transmitNotification(
    observation: ServerObservation,
    notification: Notification,
    settlers: Settler[],
    previous: Transmission | undefined,
    paced = false,
    dequeued = false,
  ): void {
    let bytes: Uint8Array;
    let success: boolean;
    let key: number;
    let messageId: number;
    const now = Date.now();
    const confirmable =
      previous !== undefined || (notification.confirmable ?? now - observation.lastConfirmableAt >= DAY_MS);
    if (!confirmable && !paced && this.#pacingInterval > 0 && !this.#takePacingToken(observation, now)) {
      this.#holdPaced(observation, notification, settlers, now);
      return;
    }
    // RFC 7641 §4.5.1: at most NSTART CON notifications outstanding to one client, all its
    // observations together; the others wait in order (a takeover reuses the slot it replaces).
    const record = confirmable
      ? this.#peerTable.get(observation.peer.address, observation.peer.port)
      : undefined;
    if (
      record !== undefined &&
      previous === undefined &&
      (record.confirmableNotifications >= this.#params.nstart ||
        (!dequeued && this.#confirmableQueues?.has(record)))
    ) {
      this.#holdConfirmable(record, observation, notification, settlers);
      return;
    }
    try {
      const { code, options, body } = notificationContent(notification);
      success = isSuccessCode(code);
      if (success) options.push(uintOption(O.OBSERVE, observation.nextSequence()));
      const szx = this.#szxFor(observation.peer);
      let payload = body;
      if (body.length > blockSize(szx)) {
        const slice = sliceBlock(body, 0, szx)!;
        payload = slice.data;
        this.#downloadMap().set(
          observation.downloadKey,
          { code, options: withoutOptions(options, [O.OBSERVE]), body },
          this.#params.exchangeLifetime,
        );
        options.push(
          { number: O.BLOCK2, value: encodeBlock({ num: 0, more: true, szx }) },
          uintOption(O.SIZE2, body.length),
        );
      }
      key = this.#nextKey(observation.peer);
      messageId = key & 0xffff;
      bytes = serializeMessage(
        {
          type: confirmable ? CoapType.CON : CoapType.NON,
          code,
          messageId,
          token: observation.token,
          options,
          payload,
        },
        this.#allocator(),
      );
    } catch (error) {
      const failure = new CoapRequestError('cannot encode notification', { cause: error });
      for (const settler of settlers) settler.reject(failure);
      // A failed takeover leaves nothing in transit: settle what waited on the superseded one.
      const state = previous === undefined ? undefined : this.#notificationsInTransit?.get(observation);
      if (state !== undefined) this.#notificationSettled(observation, state, failure);
      return;
    }
    if (!success) this.#removeServerObservation(observation, 'error-response');
    if (!confirmable) {
      if (success)
        this.#nonNotificationMap().set(
          `${peerKeyOf(observation.peer)}#${messageId}`,
          observation,
          this.#params.nonLifetime,
        );
      if (this.#probeNotifications)
        this.#sendNon(observation.peer, bytes, success ? observation : undefined, undefined);
      else this.#write(bytes, observation.peer);
      for (const settler of settlers) settler.resolve();
      return;
    }
    observation.lastConfirmableAt = now;
    let state = this.#notificationsInTransit?.get(observation);
    if (state === undefined) {
      state = { transmission: undefined, settlers: [], next: undefined, nextSettlers: [] };
      (this.#notificationsInTransit ??= new Map()).set(observation, state);
    }
    state.settlers.push(...settlers);
    const transmission = this.#startTransmission(observation.peer, key, bytes, 'notification');
    const slotRecord = this.#peerTable.bySlot(key);
    if (slotRecord !== undefined) {
      transmission.countsForNstart = true;
      slotRecord.confirmableNotifications++;
    }
    if (previous !== undefined) {
      this.#retransmissions?.cancel(transmission);
      transmission.attempts = previous.attempts + 1;
      transmission.timeout = previous.timeout * 2;
      this.#retransmissionQueue().schedule(transmission, transmission.timeout);
    }
    transmission.observation = success ? observation : undefined;
    const inTransit = state;
    inTransit.transmission = transmission;
    transmission.settle = {
      resolve: () => this.#notificationSettled(observation, inTransit, undefined),
      reject: (error) => this.#notificationSettled(observation, inTransit, error),
    };
  }

  /** RFC 7641 §4.5.1 token bucket of the client: one token per RTT (or per interval without one). */
  #refillPacing(record: PeerRecord, now: number): void {
    const interval = record.rtt >= 0 ? Math.max(1, record.rtt) : this.#pacingInterval;
    if (record.notificationTokens < 0) record.notificationTokens = this.#pacingBurst;
    else {
      record.notificationTokens = Math.min(
        this.#pacingBurst,
        record.notificationTokens + (now - record.notificationTokensAt) / interval,
      );
    }
    record.notificationTokensAt = now;
  }

  /** Takes a token for a NON notification now; false when it has to wait (or others wait already). */
  #takePacingToken(observation: ServerObservation, now: number): boolean {
    const record = this.#peerTable.get(observation.peer.address, observation.peer.port);
    if (this.#pacing?.has(record)) return false;
    this.#refillPacing(record, now);
    if (record.notificationTokens < 1) return false;
    record.notificationTokens -= 1;
    return true;
  }

  #holdPaced(
    observation: ServerObservation,
    notification: Notification,
    settlers: Settler[],
    now: number,
  ): void {
    const record = this.#peerTable.get(observation.peer.address, observation.peer.port);
    let queue = this.#pacing?.get(record);
    if (queue === undefined) {
      queue = { dueAt: 0, heapIndex: -1, timerSeq: 0, record, held: [] };
      (this.#pacing ??= new Map()).set(record, queue);
      record.refs++; // keep the record (and its bucket) while something waits on it
    }
    const entry: PacedNotification = { observation, notification, settlers };
    queue.held.push(entry);
    (this.#pacedObservations ??= new Map()).set(observation, entry);
    if (queue.heapIndex < 0) this.#schedulePacing(queue, now);
  }

  #schedulePacing(queue: PacingQueue, now: number): void {
    const record = queue.record;
    this.#refillPacing(record, now);
    const interval = record.rtt >= 0 ? Math.max(1, record.rtt) : this.#pacingInterval;
    this.#pacingQueue().schedule(queue, Math.max(0, Math.ceil((1 - record.notificationTokens) * interval)));
  }

  #releasePaced(queue: PacingQueue): void {
    const now = Date.now();
    const record = queue.record;
    this.#refillPacing(record, now);
    while (queue.held.length > 0 && record.notificationTokens >= 1) {
      const entry = queue.held.shift()!;
      this.#pacedObservations?.delete(entry.observation);
      if (!entry.observation.active || this.#closing !== undefined) {
        const ended = new ClosedError(this.#closing !== undefined ? 'endpoint closed' : 'observation ended');
        for (const settler of entry.settlers) settler.reject(ended);
        continue;
      }
      record.notificationTokens -= 1;
      this.#transmitNotification(entry.observation, entry.notification, entry.settlers, undefined, true);
    }
    if (queue.held.length > 0) {
      this.#schedulePacing(queue, now);
      return;
    }
    this.#pacing?.delete(record);
    if (record.refs > 0) record.refs--;
  }

  /** An observation ended: what pacing or NSTART held for it is dropped. */
  #dropPaced(observation: ServerObservation, error: Error): void {
    const entry = this.#pacedObservations?.get(observation);
    if (entry === undefined) return;
    this.#pacedObservations?.delete(observation);
    let found = false;
    for (const queue of this.#pacing?.values() ?? []) {
      const index = queue.held.indexOf(entry);
      if (index < 0) continue;
      queue.held.splice(index, 1);
      found = true;
      break;
    }
    if (!found) {
      for (const held of this.#confirmableQueues?.values() ?? []) {
        const index = held.indexOf(entry);
        if (index < 0) continue;
        held.splice(index, 1);
        break;
      }
    }
    for (const settler of entry.settlers) settler.reject(error);
  }

  /** A CON notification waits for an NSTART slot of its client; a newer state of its observation replaces it. */
  #holdConfirmable(
    record: PeerRecord,
    observation: ServerObservation,
    notification: Notification,
    settlers: Settler[],
  ): void {
    let held = this.#confirmableQueues?.get(record);
    if (held === undefined) {
      held = [];
      (this.#confirmableQueues ??= new Map()).set(record, held);
      record.refs++; // keep the record (and its count) while something waits on it
    }
    const entry: PacedNotification = { observation, notification, settlers };
    held.push(entry);
    (this.#pacedObservations ??= new Map()).set(observation, entry);
  }

  /**
   * A CON notification to `record`'s peer was acknowledged, failed or was superseded. Waiting ones
   * go out on a microtask, so that a takeover (which stops the old message and sends the new one
   * in one step) keeps its slot instead of losing it to the queue.
   */
  #confirmableNotificationDone(record: PeerRecord): void {
    if (record.confirmableNotifications > 0) record.confirmableNotifications--;
    if (this.#confirmableQueues?.has(record)) queueMicrotask(() => this.#releaseConfirmable(record));
  }

  #releaseConfirmable(record: PeerRecord): void {
    const held = this.#confirmableQueues?.get(record);
    if (held === undefined) return;
    while (held.length > 0 && record.confirmableNotifications < this.#params.nstart) {
      const entry = held.shift()!;
      this.#pacedObservations?.delete(entry.observation);
      if (!entry.observation.active || this.#closing !== undefined) {
        const ended = new ClosedError(this.#closing !== undefined ? 'endpoint closed' : 'observation ended');
        for (const settler of entry.settlers) settler.reject(ended);
        continue;
      }
      this.#transmitNotification(
        entry.observation,
        entry.notification,
        entry.settlers,
        undefined,
        false,
        true,
      );
    }
    if (held.length > 0) return;
    this.#confirmableQueues?.delete(record);
    if (record.refs > 0) record.refs--;
  }

  /** The retransmission slot of an unacknowledged CON notification goes to the newest state. */
  #takeOverNotification(
    previous: Transmission,
    observation: ServerObservation,
    state: NotificationInTransit,
  ): void {
    this.#stopTransmission(previous);
    // A Reset to the superseded message still cancels the observation (RFC 7641 §3.6).
    this.#nonNotificationMap().set(
      `${peerKeyOf(observation.peer)}#${previous.messageId}`,
      observation,
      this.#params.exchangeLifetime,
    );
    const next = state.next!;
    const settlers = state.nextSettlers;
    state.next = undefined;
    state.nextSettlers = [];
    this.#transmitNotification(observation, next, settlers, previous);
  }

  #notificationSettled(
    observation: ServerObservation,
    state: NotificationInTransit,
    error: Error | undefined,
  ): void {
    if (this.#notificationsInTransit?.get(observation) !== state) return;
    this.#notificationsInTransit?.delete(observation);
    for (const settler of state.settlers) {
      if (error === undefined) settler.resolve();
      else settler.reject(error);
    }
    state.settlers = [];
    const next = state.next;
    const nextSettlers = state.nextSettlers;
    state.next = undefined;
    state.nextSettlers = [];
    if (next === undefined) return;
    if (error !== undefined || !observation.active || this.#closing !== undefined) {
      const failure =
        error ?? new ClosedError(this.#closing !== undefined ? 'endpoint closed' : 'observation ended');
      for (const settler of nextSettlers) settler.reject(failure);
      return;
    }
    // Acknowledged while a newer state waited: send that one now.
    this.#transmitNotification(observation, next, nextSettlers, undefined);
  }

  #removeServerObservationByKey(key: string, reason: ObservationEndReason): void {
    const observation = this.#serverObservations?.get(key);
    if (observation !== undefined) this.#removeServerObservation(observation, reason);
  }

  #removeServerObservation(observation: ServerObservation, reason: ObservationEndReason): void {
    if (this.#serverObservations?.get(observation.key) === observation) {
      this.#serverObservations?.delete(observation.key);
    }
    const inTransit = this.#notificationsInTransit?.get(observation);
    if (inTransit !== undefined) {
      this.#notificationsInTransit?.delete(observation);
      if (inTransit.transmission !== undefined) this.#stopTransmission(inTransit.transmission);
      const ended = new ClosedError(reason === 'closed' ? 'endpoint closed' : 'observation ended');
      for (const settler of [...inTransit.settlers, ...inTransit.nextSettlers]) settler.reject(ended);
    }
    if ((this.#pacedObservations?.size ?? 0) > 0)
      this.#dropPaced(
        observation,
        new ClosedError(reason === 'closed' ? 'endpoint closed' : 'observation ended'),
      );
    observation.end(reason);
  }

  /** Our block size exponent toward `peer`: the configured one, smaller if the transport's datagrams are (DTLS). */
  #szxFor(peer: PeerAddress): number {
    const max = this.#socket.maxDatagramSize?.(peer);
    let szx = this.#szx;
    if (max === undefined) return szx;
    while (szx > 0 && blockSize(szx) + BLOCK_HEADROOM > max) szx--;
    return szx;
  }

  // ---- housekeeping ----------------------------------------------------------------------

  #sweep(): void {
    // A silent peer's probing record is forgotten once it holds nothing back, its average is
    // within PROBING_RATE and NON_LIFETIME has passed: the next NON starts a new probe.
    const now = Date.now();
    for (const probe of this.#probes?.values() ?? []) {
      if (
        probe.held.length === 0 &&
        now - probe.since >= this.#params.nonLifetime &&
        this.#probeAllows(probe, 0, now)
      ) {
        this.#probes?.delete(probe.key);
      }
    }
    this.#dedup?.sweep();
    this.#peerTable.sweep();
    this.#uploads?.sweep();
    this.#downloads?.sweep();
    this.#nonNotifications?.sweep();
  }

  async #shutdown(): Promise<void> {
    clearInterval(this.#sweepTimer);
    // Queues not made yet come closed from here on, as the ones closed below would be.
    this.#timersClosed = true;
    this.#socket.off('message', this.#onDatagram);
    const closed = new ClosedError('endpoint closed');
    for (const pending of [...this.#pending.values()]) this.#failRequest(pending, closed);
    for (const transmission of [...this.#transmissions.values()]) {
      this.#stopTransmission(transmission);
      if (transmission.kind === 'ping' || transmission.kind === 'notification')
        transmission.settle?.reject(closed);
    }
    this.#retransmissions?.close();
    this.#deadlines?.close();
    this.#separateTimers?.close();
    this.#incoming?.clear();
    this.#reregistrationTimers?.close();
    this.#reregistrations?.clear();
    this.#probeTimers?.close();
    this.#probes?.clear();
    this.#pacingTimers?.close();
    for (const observation of [...(this.#clientObservations?.values() ?? [])]) observation.finish();
    this.#clientObservations?.clear();
    this.#observationsByPeer?.clear();
    this.#contexts?.clear();
    for (const observation of [...(this.#serverObservations?.values() ?? [])])
      this.#removeServerObservation(observation, 'closed');
    this.#dedup?.clear();
    this.#uploads?.clear();
    this.#downloads?.clear();
    this.#nonNotifications?.clear();
    for (const observation of [...(this.#pacedObservations?.keys() ?? [])])
      this.#dropPaced(observation, closed);
    this.#pacing?.clear();
    this.#confirmableQueues?.clear();
    this.#peerTable.clear();
    this.#socket.off('error', this.#onSocketError);
    if (this.#ownsSocket) await this.#socket.close();
  }
}

/** A multi-message exchange (blocks, observe, cancel); `peer` changes with `movePeer()`. */
interface ExchangeContext {
  peer: PeerAddress;
  readonly code: number;
  readonly confirmable: boolean;
  readonly deadline: number;
  readonly signal: AbortSignal | undefined;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function isPromiseLike<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** Code, options (without Observe) and body of a notification; throws on values that cannot be encoded. */
function notificationContent(notification: Notification): {
  code: number;
  options: CoapOption[];
  body: Uint8Array;
} {
  const code = notification.code ?? CoapCode.CONTENT;
  if (!isResponseCode(code)) throw new CoapRequestError(`notification code ${code} is not a response code`);
  return { code, options: responseOptions({ ...notification, code }), body: toBytes(notification.payload) };
}

function responseOptions(response: OutgoingResponse): CoapOption[] {
  const options: CoapOption[] = [];
  if (response.etag !== undefined) options.push({ number: O.ETAG, value: response.etag });
  if (response.locationPath !== undefined)
    pushStringOptions(options, O.LOCATION_PATH, splitPath(response.locationPath));
  if (response.contentFormat !== undefined)
    options.push(uintOption(O.CONTENT_FORMAT, response.contentFormat));
  if (response.maxAge !== undefined) options.push(uintOption(O.MAX_AGE, response.maxAge));
  if (response.options !== undefined) options.push(...response.options);
  return options;
}

/** One request being answered: what the handler sees, plus the state needed to answer it. */
class IncomingExchange implements IncomingRequest, TimerEntry {
  readonly peer: PeerAddress;
  readonly identity: PeerIdentity | undefined;
  method: CoapMethod = 'GET';
  readonly options: readonly CoapOption[];
  payload: Uint8Array;
  readonly contentFormat: number | undefined;
  readonly accept: number | undefined;
  readonly observe: number | undefined;
  readonly confirmable: boolean;
  readonly token: Uint8Array;

  readonly message: CoapMessage;
  /** This request's entry in the deduplication cache, where its reply is recorded for replay. */
  readonly dedupHandle: number;
  readonly #sender: NotificationSender;
  block1Echo: BlockOption | undefined = undefined;
  block2: BlockOption | undefined = undefined;
  observation: ServerObservation | undefined = undefined;
  /** Observe number of the registration answer: continues a replaced observation's sequence. */
  initialSequence = 2;
  ackSent = false;
  done = false;
  // The separate-response timer (see TimerEntry).
  dueAt = 0;
  heapIndex = -1;
  timerSeq = 0;
  readonly path: readonly string[];
  readonly query: readonly string[];
  // Built on first use: only block-wise transfers and observations need them.
  #peerKey: string | undefined = undefined;
  #tokenKey: string | undefined = undefined;

  constructor(
    message: CoapMessage,
    datagram: DatagramMessage,
    dedupHandle: number,
    sender: NotificationSender,
  ) {
    this.message = message;
    this.peer = datagram.peer;
    this.identity = datagram.identity;
    this.dedupHandle = dedupHandle;
    this.#sender = sender;
    const options = message.options;
    this.options = options;
    this.payload = message.payload;
    const some = options.length > 0;
    this.path = some ? stringOptions(options, O.URI_PATH) : NO_STRINGS;
    this.query = some ? stringOptions(options, O.URI_QUERY) : NO_STRINGS;
    this.contentFormat = some ? getUintOption(options, O.CONTENT_FORMAT) : undefined;
    this.accept = some ? getUintOption(options, O.ACCEPT) : undefined;
    this.observe = some ? getUintOption(options, O.OBSERVE) : undefined;
    this.confirmable = message.type === CoapType.CON;
    this.token = message.token;
  }

  get peerKey(): string {
    return (this.#peerKey ??= peerKeyOf(this.peer));
  }

  /** Server observations are keyed by peer and the observer's token (any length, so a string). */
  get tokenKey(): string {
    return (this.#tokenKey ??= `${this.peerKey}#${hex(this.token)}`);
  }

  acceptObserve(): ServerObservation {
    if (this.observe !== 0 || (this.method !== 'GET' && this.method !== 'FETCH')) {
      throw new CoapRequestError('acceptObserve() on a request that does not ask to observe');
    }
    this.observation ??= new ServerObservation(
      {
        peer: this.peer,
        identity: this.identity,
        token: Uint8Array.from(this.token),
        path: this.path,
        query: this.query,
        accept: this.accept,
        key: this.tokenKey,
        downloadKey: transferKey(this.peerKey, this.message),
        initialSequence: this.initialSequence,
      },
      this.#sender,
    );
    return this.observation;
  }
}

export function createCoapEndpoint(options: CoapEndpointOptions): CoapEndpoint {
  return new CoapEndpoint(options);
}
