import { randomBytes as cryptoRandomBytes } from 'node:crypto';
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
import { ExpiringMap } from './expiring-map.js';
import { parseMessage, serializeMessage } from './message.js';
import type { CoapMessage, CoapOption } from './message.js';
import { Observation } from './observe-client.js';
import type { ObservationControl } from './observe-client.js';
import { ServerObservation } from './observe-server.js';
import type { Notification, NotificationSender, ObservationEndReason } from './observe-server.js';
import {
  CoapOptionNumber as O,
  findOption,
  firstUnknownCriticalOption,
  getStringOptions,
  getUintOption,
  pushStringOptions,
  splitPath,
  splitQuery,
  uintOption,
  withoutOptions,
} from './options.js';
import { DEFAULT_TRANSMISSION } from './types.js';
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
  /** Entries in the deduplication cache; default 10000. */
  readonly maxDedupEntries?: number;
  /** Token length for requests we send, 4..8; default 8. */
  readonly tokenLength?: number;
  /** Default `timeout` of `request()`; default EXCHANGE_LIFETIME. */
  readonly requestTimeout?: number;
  /** A uniform random number in [0, 1) for the ACK timeout jitter; default Math.random. */
  readonly random?: () => number;
  readonly randomBytes?: (size: number) => Uint8Array;
  /** How often expired cache entries are swept; default 5000 ms. */
  readonly sweepInterval?: number;
}

const EMPTY: Uint8Array = new Uint8Array(0);
const textEncoder = new TextEncoder();
const DAY_MS = 24 * 60 * 60 * 1000;
/** Room left in a datagram for header, token and options next to one block. */
const BLOCK_HEADROOM = 128;

/** A CON we sent and retransmit until ACK or RST. */
interface Transmission {
  readonly key: string;
  readonly peer: PeerAddress;
  readonly bytes: Uint8Array;
  readonly kind: 'request' | 'response' | 'notification' | 'ping';
  attempts: number;
  timeout: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  pending: PendingRequest | undefined;
  observation: ServerObservation | undefined;
  settle: { resolve: () => void; reject: (error: Error) => void } | undefined;
}

/** One request we sent, waiting for its response. */
interface PendingRequest {
  readonly peer: PeerAddress;
  readonly peerKey: string;
  readonly tokenKey: string;
  readonly token: Uint8Array;
  readonly code: number;
  readonly options: readonly CoapOption[];
  readonly payload: Uint8Array;
  readonly confirmable: boolean;
  readonly registersObservation: boolean;
  readonly resolve: (message: CoapMessage) => void;
  readonly reject: (error: Error) => void;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  deadline: ReturnType<typeof setTimeout> | undefined;
  transmission: Transmission | undefined;
  holdsSlot: boolean;
  nonKey: string | undefined;
  done: boolean;
  observation: Observation | undefined;
}

interface PeerState {
  active: number;
  readonly queue: PendingRequest[];
}

interface DedupEntry {
  reply: Uint8Array | undefined;
}

interface CachedBody {
  readonly code: number;
  readonly options: readonly CoapOption[];
  readonly body: Uint8Array;
}

interface NotificationQueue {
  inFlight: boolean;
  next: { notification: Notification; resolve: () => void; reject: (error: Error) => void } | undefined;
}

function peerKeyOf(peer: PeerAddress): string {
  return `${peer.address}|${peer.port}`;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function toBytes(payload: Payload | undefined): Uint8Array {
  if (payload === undefined) return EMPTY;
  return typeof payload === 'string' ? textEncoder.encode(payload) : payload;
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

function toResponse(
  peer: PeerAddress,
  message: CoapMessage,
  payload: Uint8Array = message.payload,
): CoapResponse {
  return {
    peer,
    code: message.code,
    options: message.options,
    payload,
    contentFormat: getUintOption(message.options, O.CONTENT_FORMAT),
    observe: getUintOption(message.options, O.OBSERVE),
    locationPath: getStringOptions(message.options, O.LOCATION_PATH),
    message,
  };
}

/**
 * A CoAP endpoint on one datagram socket, in both roles: it answers requests through its
 * handler and sends requests to any peer from the same port (RFC 7252 message layer with
 * reliability, deduplication and NSTART; Observe per RFC 7641; block-wise per RFC 7959).
 */
export class CoapEndpoint {
  readonly #socket: DatagramSocket;
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
  #handler: RequestHandler | undefined;

  #messageId: number;
  readonly #transmissions = new Map<string, Transmission>();
  readonly #pending = new Map<string, PendingRequest>();
  /** NON requests by (peer, message id), so a Reset to one fails it at once. */
  readonly #nonRequests = new Map<string, PendingRequest>();
  readonly #peers = new Map<string, PeerState>();
  readonly #clientObservations = new Map<string, Observation>();
  readonly #serverObservations = new Map<string, ServerObservation>();
  readonly #notificationQueues = new Map<string, NotificationQueue>();
  readonly #incoming = new Set<IncomingExchange>();
  readonly #dedup: ExpiringMap<DedupEntry>;
  readonly #uploads: ExpiringMap<BlockAssembler>;
  readonly #downloads: ExpiringMap<CachedBody>;
  readonly #nonNotifications: ExpiringMap<ServerObservation>;
  readonly #sweepTimer: ReturnType<typeof setInterval>;
  readonly #onDatagram = (datagram: DatagramMessage): void => this.#receive(datagram);
  readonly #onSocketError = (error: Error): void => this.#logger.warn({ err: error }, 'coap socket error');
  // Bound once per endpoint and given the exchange as a timer argument: no closure per message.
  readonly #onRetransmitTimer = (transmission: Transmission): void => this.#retransmit(transmission);
  readonly #onSeparateTimer = (exchange: IncomingExchange): void => this.#acknowledgeLate(exchange);
  #closing: Promise<void> | undefined;

  /** @internal Given to server observations so they can send without a public method here. */
  readonly #sender: NotificationSender = {
    sendNotification: (observation, notification) => this.#sendNotification(observation, notification),
    removeObservation: (observation, reason) => this.#removeServerObservation(observation, reason),
  };

  readonly #observationControl: ObservationControl = {
    cancelObservation: (observation, active) => this.#cancelClientObservation(observation, active),
  };

  constructor(options: CoapEndpointOptions) {
    this.#socket = options.socket;
    this.#ownsSocket = options.ownsSocket ?? true;
    this.#logger = options.logger ?? createSilentLogger();
    this.#params = { ...DEFAULT_TRANSMISSION, ...options.transmission };
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
    this.#handler = options.handler;
    const idBytes = this.#randomBytes(2);
    this.#messageId = ((idBytes[0] ?? 0) << 8) | (idBytes[1] ?? 0);
    const maxTransfers = options.maxTransfers ?? 256;
    this.#dedup = new ExpiringMap(options.maxDedupEntries ?? 10_000);
    this.#uploads = new ExpiringMap(maxTransfers);
    this.#downloads = new ExpiringMap(maxTransfers);
    this.#nonNotifications = new ExpiringMap(options.maxDedupEntries ?? 10_000);
    this.#sweepTimer = setInterval(() => this.#sweep(), options.sweepInterval ?? 5000);
    this.#sweepTimer.unref?.();
    this.#socket.on('message', this.#onDatagram);
    this.#socket.on('error', this.#onSocketError);
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
    return [...this.#serverObservations.values()];
  }

  /**
   * Sends a request and resolves with its response (a block-wise body reassembled). Rejects
   * with CoapTimeoutError (no ACK), CoapResetError, TimeoutError (`timeout`), AbortError,
   * ClosedError or CoapBlockError; never with an untyped error.
   */
  async request(request: OutgoingRequest, options: RequestOptions = {}): Promise<CoapResponse> {
    const { message } = await this.#send(request, options, false);
    return message;
  }

  /**
   * Sends GET (or FETCH) with Observe=0 and resolves with the observation once the first
   * response arrives. When the server does not accept, the observation is inactive and yields
   * only that response.
   */
  async observe(request: OutgoingRequest, options: RequestOptions = {}): Promise<Observation> {
    const { message, observation } = await this.#send({ ...request, observe: 0 }, options, true);
    if (observation !== undefined) {
      observation.replaceInitialResponse(message);
      return observation;
    }
    return new Observation(
      { response: message, key: '', token: message.message.token, now: Date.now(), established: false },
      this.#observationControl,
    );
  }

  /** CoAP ping (RFC 7252 §4.3): an empty CON; resolves when the peer answers with Reset. */
  ping(peer: PeerAddress, options: RequestOptions = {}): Promise<void> {
    if (this.#closing !== undefined) return Promise.reject(new ClosedError('endpoint closed'));
    return new Promise<void>((resolve, reject) => {
      const peerKey = peerKeyOf(peer);
      const messageId = this.#nextMessageId();
      const bytes = serializeMessage({
        type: CoapType.CON,
        code: 0,
        messageId,
        token: EMPTY,
        options: [],
        payload: EMPTY,
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (error?: Error): void => {
        if (timer !== undefined) clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        const current = this.#transmissions.get(transmission.key);
        if (current === transmission) this.#stopTransmission(transmission);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onAbort = (): void => finish(new AbortError('ping aborted'));
      const transmission = this.#startTransmission(peer, peerKey, messageId, bytes, 'ping');
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

  async #send(
    request: OutgoingRequest,
    options: RequestOptions,
    registersObservation: boolean,
  ): Promise<{ message: CoapResponse; observation: Observation | undefined }> {
    if (this.#closing !== undefined) throw new ClosedError('endpoint closed');
    const code = parseMethod(request.method);
    if (code === undefined) throw new CoapRequestError(`unknown method ${String(request.method)}`);
    let szx = this.#szxFor(request.peer);
    if (request.blockSize !== undefined) {
      try {
        szx = sizeToSzx(request.blockSize);
      } catch (error) {
        throw new CoapRequestError(`invalid blockSize ${request.blockSize}`, { cause: error });
      }
    }
    const deadline = Date.now() + (options.timeout ?? this.#requestTimeout);
    const baseOptions = requestOptions(request);
    const body = toBytes(request.payload);
    const confirmable = request.confirmable ?? true;
    const context: ExchangeContext = {
      peer: request.peer,
      code,
      confirmable,
      deadline,
      signal: options.signal,
    };

    let first: { message: CoapMessage; observation: Observation | undefined };
    if (body.length > blockSize(szx)) {
      first = await this.#upload(context, baseOptions, body, szx, registersObservation);
    } else {
      const early =
        request.blockSize !== undefined && (code === CoapCode.GET || code === CoapCode.FETCH)
          ? [...baseOptions, { number: O.BLOCK2, value: encodeBlock({ num: 0, more: false, szx }) }]
          : baseOptions;
      first = await this.#exchange(context, early, body, undefined, registersObservation);
    }
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
  ): Promise<{ message: CoapMessage; observation: Observation | undefined }> {
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

  /** One request message and its response (with CON retransmission, NSTART, timeout, abort). */
  #exchange(
    context: ExchangeContext,
    options: readonly CoapOption[],
    payload: Uint8Array,
    token: Uint8Array | undefined,
    registersObservation: boolean,
  ): Promise<{ message: CoapMessage; observation: Observation | undefined }> {
    if (this.#closing !== undefined) return Promise.reject(new ClosedError('endpoint closed'));
    const remaining = context.deadline - Date.now();
    if (remaining <= 0) return Promise.reject(new TimeoutError('request timed out'));
    if (context.signal?.aborted === true)
      return Promise.reject(new AbortError('request aborted', { cause: context.signal.reason }));
    return new Promise((resolve, reject) => {
      const peerKey = peerKeyOf(context.peer);
      const requestToken = token ?? this.#newToken(peerKey);
      const pending: PendingRequest = {
        peer: context.peer,
        peerKey,
        tokenKey: `${peerKey}#${hex(requestToken)}`,
        token: requestToken,
        code: context.code,
        options,
        payload,
        confirmable: context.confirmable,
        registersObservation,
        resolve: (message) => resolve({ message, observation: pending.observation }),
        reject,
        signal: context.signal,
        onAbort: undefined,
        deadline: undefined,
        transmission: undefined,
        holdsSlot: false,
        nonKey: undefined,
        done: false,
        observation: undefined,
      };
      this.#pending.set(pending.tokenKey, pending);
      pending.deadline = setTimeout(
        () => this.#failRequest(pending, new TimeoutError(`no response within the request timeout`)),
        remaining,
      );
      if (context.signal !== undefined) {
        const signal = context.signal;
        pending.onAbort = () =>
          this.#failRequest(pending, new AbortError('request aborted', { cause: signal.reason }));
        signal.addEventListener('abort', pending.onAbort, { once: true });
      }
      const state = this.#peerState(peerKey);
      if (state.active < this.#params.nstart) {
        state.active++;
        pending.holdsSlot = true;
        this.#transmitRequest(pending);
      } else {
        state.queue.push(pending);
      }
    });
  }

  #transmitRequest(pending: PendingRequest): void {
    const messageId = this.#nextMessageId();
    let bytes: Uint8Array;
    try {
      bytes = serializeMessage({
        type: pending.confirmable ? CoapType.CON : CoapType.NON,
        code: pending.code,
        messageId,
        token: pending.token,
        options: pending.options,
        payload: pending.payload,
      });
    } catch (error) {
      this.#failRequest(pending, new CoapRequestError('cannot encode request', { cause: error }));
      return;
    }
    if (pending.confirmable) {
      const transmission = this.#startTransmission(
        pending.peer,
        pending.peerKey,
        messageId,
        bytes,
        'request',
      );
      transmission.pending = pending;
      pending.transmission = transmission;
    } else {
      pending.nonKey = `${pending.peerKey}#${messageId}`;
      this.#nonRequests.set(pending.nonKey, pending);
      this.#write(bytes, pending.peer);
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
        this.#observationControl,
      );
      this.#clientObservations.set(pending.tokenKey, observation);
      pending.observation = observation;
    }
    pending.resolve(message);
  }

  #finishRequest(pending: PendingRequest): void {
    pending.done = true;
    if (pending.deadline !== undefined) clearTimeout(pending.deadline);
    if (pending.onAbort !== undefined) pending.signal?.removeEventListener('abort', pending.onAbort);
    if (this.#pending.get(pending.tokenKey) === pending) this.#pending.delete(pending.tokenKey);
    if (pending.transmission !== undefined) this.#stopTransmission(pending.transmission);
    if (pending.nonKey !== undefined) this.#nonRequests.delete(pending.nonKey);
    this.#releaseSlot(pending);
  }

  #releaseSlot(pending: PendingRequest): void {
    const state = this.#peers.get(pending.peerKey);
    if (state === undefined) return;
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
    if (state.active === 0 && state.queue.length === 0) this.#peers.delete(pending.peerKey);
  }

  #peerState(peerKey: string): PeerState {
    let state = this.#peers.get(peerKey);
    if (state === undefined) {
      state = { active: 0, queue: [] };
      this.#peers.set(peerKey, state);
    }
    return state;
  }

  #newToken(peerKey: string): Uint8Array {
    for (;;) {
      const token = this.#randomBytes(this.#tokenLength);
      const key = `${peerKey}#${hex(token)}`;
      if (!this.#pending.has(key) && !this.#clientObservations.has(key)) return token;
    }
  }

  async #cancelClientObservation(observation: Observation, active: boolean): Promise<void> {
    if (this.#clientObservations.get(observation.key) === observation)
      this.#clientObservations.delete(observation.key);
    observation.finish();
    if (!active || this.#closing !== undefined) return;
    const peer = observation.response.peer;
    // RFC 7641 §3.6: the same request with Observe=1 and the same token.
    const request = observation.registration;
    if (request === undefined) return;
    const options = [...withoutOptions(request.options, [O.OBSERVE]), uintOption(O.OBSERVE, 1)];
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
  }

  #onNotification(observation: Observation, peer: PeerAddress, message: CoapMessage): void {
    const option = findOption(message.options, O.BLOCK2);
    const block = option === undefined ? undefined : decodeBlock(option.value);
    if (block === undefined || !block.more) {
      this.#offerNotification(observation, toResponse(peer, message));
      return;
    }
    const registration = observation.registration;
    if (registration === undefined) return;
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

  #offerNotification(observation: Observation, response: CoapResponse): void {
    observation.offer(response, Date.now());
    if (!isSuccessCode(response.code) || response.observe === undefined) {
      // RFC 7641 §3.2: a notification without Observe or with an error code ends the observation.
      if (this.#clientObservations.get(observation.key) === observation)
        this.#clientObservations.delete(observation.key);
      observation.finish();
    }
  }

  // ---- message layer ---------------------------------------------------------------------

  #nextMessageId(): number {
    this.#messageId = (this.#messageId + 1) & 0xffff;
    return this.#messageId;
  }

  #write(bytes: Uint8Array, peer: PeerAddress): void {
    this.#socket.send(bytes, peer).catch((error: unknown) => {
      if (this.#closing === undefined)
        this.#logger.debug({ err: error, peer: formatPeer(peer) }, 'coap send failed');
    });
  }

  #startTransmission(
    peer: PeerAddress,
    peerKey: string,
    messageId: number,
    bytes: Uint8Array,
    kind: Transmission['kind'],
  ): Transmission {
    const { ackTimeout, ackRandomFactor } = this.#params;
    const transmission: Transmission = {
      key: `${peerKey}#${messageId}`,
      peer,
      bytes,
      kind,
      attempts: 0,
      timeout: ackTimeout * (1 + (ackRandomFactor - 1) * this.#random()),
      timer: undefined,
      pending: undefined,
      observation: undefined,
      settle: undefined,
    };
    this.#transmissions.set(transmission.key, transmission);
    transmission.timer = setTimeout(this.#onRetransmitTimer, transmission.timeout, transmission);
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
    transmission.attempts++;
    transmission.timeout *= 2;
    transmission.timer = setTimeout(this.#onRetransmitTimer, transmission.timeout, transmission);
    this.#write(transmission.bytes, transmission.peer);
  }

  #stopTransmission(transmission: Transmission): void {
    if (transmission.timer !== undefined) clearTimeout(transmission.timer);
    transmission.timer = undefined;
    if (this.#transmissions.get(transmission.key) === transmission)
      this.#transmissions.delete(transmission.key);
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
        if (transmission.observation !== undefined) {
          this.#removeServerObservation(
            transmission.observation,
            error instanceof CoapResetError ? 'reset' : 'timeout',
          );
        }
        transmission.settle?.reject(error);
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
    const peerKey = peerKeyOf(peer);
    const dedupKey = `${peerKey}#${message.messageId}`;
    const seen = this.#dedup.get(dedupKey);
    if (seen !== undefined) {
      if (seen.reply !== undefined) this.#write(seen.reply, peer);
      return;
    }
    const entry: DedupEntry = { reply: undefined };
    this.#dedup.set(dedupKey, entry, confirmable ? this.#params.exchangeLifetime : this.#params.nonLifetime);
    if (requestCode) this.#onRequest(message, datagram, peerKey, entry);
    else this.#onResponse(message, peer, peerKey, entry);
  }

  #onAck(message: CoapMessage, peer: PeerAddress): void {
    const transmission = this.#transmissions.get(`${peerKeyOf(peer)}#${message.messageId}`);
    if (transmission === undefined) return;
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

  #onReset(message: CoapMessage, peer: PeerAddress): void {
    const peerKey = peerKeyOf(peer);
    const key = `${peerKey}#${message.messageId}`;
    const transmission = this.#transmissions.get(key);
    if (transmission !== undefined) {
      this.#stopTransmission(transmission);
      this.#transmissionFailed(transmission, new CoapResetError(`${formatPeer(peer)} answered with Reset`));
      return;
    }
    const nonRequest = this.#nonRequests.get(key);
    if (nonRequest !== undefined) {
      this.#failRequest(nonRequest, new CoapResetError(`${formatPeer(peer)} answered with Reset`));
      return;
    }
    // RFC 7641 §3.6: a Reset in reply to a NON notification cancels the observation.
    const observation = this.#nonNotifications.get(key);
    if (observation !== undefined) {
      this.#nonNotifications.delete(key);
      this.#removeServerObservation(observation, 'reset');
    }
  }

  #onResponse(message: CoapMessage, peer: PeerAddress, peerKey: string, entry: DedupEntry): void {
    const tokenKey = `${peerKey}#${hex(message.token)}`;
    const confirmable = message.type === CoapType.CON;
    const pending = this.#pending.get(tokenKey);
    const observation = pending === undefined ? this.#clientObservations.get(tokenKey) : undefined;
    if (pending === undefined && observation === undefined) {
      // RFC 7252 §5.3.2 / RFC 7641 §3.6: reject a response nobody waits for (passive cancel).
      entry.reply = this.#sendReset(peer, message.messageId);
      return;
    }
    if (confirmable) {
      entry.reply = serializeMessage({
        type: CoapType.ACK,
        code: 0,
        messageId: message.messageId,
        token: EMPTY,
        options: [],
        payload: EMPTY,
      });
      this.#write(entry.reply, peer);
    }
    if (pending !== undefined) this.#resolveRequest(pending, message);
    else if (observation !== undefined) this.#onNotification(observation, peer, message);
  }

  #sendReset(peer: PeerAddress, messageId: number): Uint8Array {
    const bytes = serializeMessage({
      type: CoapType.RST,
      code: 0,
      messageId,
      token: EMPTY,
      options: [],
      payload: EMPTY,
    });
    this.#write(bytes, peer);
    return bytes;
  }

  // ---- server side -----------------------------------------------------------------------

  #onRequest(message: CoapMessage, datagram: DatagramMessage, peerKey: string, entry: DedupEntry): void {
    const exchange = new IncomingExchange(message, datagram, peerKey, entry, this.#sender);
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
    else if (exchange.observe === 0) this.#removeServerObservationByKey(exchange.tokenKey, 'replaced');

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
        const cached = this.#downloads.get(transferKey(peerKey, message));
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
    let assembler = this.#uploads.get(key);
    if (block.num === 0) {
      const size1 = getUintOption(exchange.message.options, O.SIZE1);
      if (size1 !== undefined && size1 > this.#maxBodySize) {
        this.#respondTooLarge(exchange);
        return false;
      }
      assembler = new BlockAssembler(this.#maxBodySize);
      this.#uploads.set(key, assembler, this.#params.exchangeLifetime);
    } else if (assembler === undefined) {
      this.#respond(exchange, { code: CoapCode.REQUEST_ENTITY_INCOMPLETE });
      return false;
    }
    if (block.more && exchange.message.payload.length !== blockSize(block.szx)) {
      this.#uploads.delete(key);
      this.#respond(exchange, { code: CoapCode.BAD_REQUEST, payload: 'block size does not match SZX' });
      return false;
    }
    const result = assembler.add(block.num, block.szx, exchange.message.payload);
    if (result === 'gap') {
      this.#uploads.delete(key);
      this.#respond(exchange, { code: CoapCode.REQUEST_ENTITY_INCOMPLETE });
      return false;
    }
    if (result === 'too-large') {
      this.#uploads.delete(key);
      this.#respondTooLarge(exchange);
      return false;
    }
    const szx = Math.min(block.szx, this.#szx);
    if (block.more) {
      this.#uploads.set(key, assembler, this.#params.exchangeLifetime);
      this.#respond(exchange, {
        code: CoapCode.CONTINUE,
        options: [{ number: O.BLOCK1, value: encodeBlock({ num: block.num, more: true, szx }) }],
      });
      return false;
    }
    this.#uploads.delete(key);
    exchange.payload = assembler.body();
    exchange.block1Echo = { num: block.num, more: false, szx: block.szx };
    return true;
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
    this.#incoming.add(exchange);
    if (exchange.message.type === CoapType.CON) {
      exchange.separateTimer = setTimeout(this.#onSeparateTimer, this.#separateAfter, exchange);
    }
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
    exchange.separateTimer = undefined;
    if (exchange.done || this.#closing !== undefined) return;
    exchange.ackSent = true;
    const bytes = serializeMessage({
      type: CoapType.ACK,
      code: 0,
      messageId: exchange.message.messageId,
      token: EMPTY,
      options: [],
      payload: EMPTY,
    });
    exchange.entry.reply = bytes;
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
        this.#serverObservations.set(observation.key, observation);
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
      this.#sendResponse(
        exchange,
        CoapCode.BAD_OPTION,
        [],
        textEncoder.encode('Block2 beyond the end of the body'),
      );
      return;
    }
    const blockOptions = withoutOptions(options, [O.BLOCK2, O.SIZE2]);
    if (num === 0 && slice.more) {
      this.#downloads.set(
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
    this.#incoming.delete(exchange);
    if (exchange.separateTimer !== undefined) clearTimeout(exchange.separateTimer);
    const message = exchange.message;
    const confirmable = message.type === CoapType.CON;
    const piggybacked = confirmable && !exchange.ackSent;
    const messageId = piggybacked ? message.messageId : this.#nextMessageId();
    let bytes: Uint8Array;
    try {
      bytes = serializeMessage({
        type: piggybacked ? CoapType.ACK : confirmable ? CoapType.CON : CoapType.NON,
        code,
        messageId,
        token: message.token,
        options,
        payload,
      });
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
      const transmission = this.#startTransmission(
        exchange.peer,
        exchange.peerKey,
        messageId,
        bytes,
        'response',
      );
      if (exchange.observation?.registered === true) transmission.observation = exchange.observation;
      return;
    }
    exchange.entry.reply = bytes;
    this.#write(bytes, exchange.peer);
  }

  #sendNotification(observation: ServerObservation, notification: Notification): Promise<void> {
    if (this.#closing !== undefined) return Promise.reject(new ClosedError('endpoint closed'));
    if (!observation.active || this.#serverObservations.get(observation.key) !== observation) {
      return Promise.reject(new ClosedError('observation ended'));
    }
    const queue = this.#notificationQueue(observation.key);
    if (queue.inFlight) {
      // RFC 7641 §4.5.2: only the newest state matters; a notification waiting behind an
      // unacknowledged CON is replaced by a newer one.
      return new Promise((resolve, reject) => {
        queue.next?.resolve();
        queue.next = { notification, resolve, reject };
      });
    }
    return this.#transmitNotification(observation, notification, queue);
  }

  #notificationQueue(key: string): NotificationQueue {
    let queue = this.#notificationQueues.get(key);
    if (queue === undefined) {
      queue = { inFlight: false, next: undefined };
      this.#notificationQueues.set(key, queue);
    }
    return queue;
  }

  #transmitNotification(
    observation: ServerObservation,
    notification: Notification,
    queue: NotificationQueue,
  ): Promise<void> {
    let options: CoapOption[];
    let body: Uint8Array;
    const code = notification.code ?? CoapCode.CONTENT;
    try {
      options = responseOptions({ ...notification, code });
      body = toBytes(notification.payload);
    } catch (error) {
      return Promise.reject(new CoapRequestError('invalid notification', { cause: error }));
    }
    const success = isSuccessCode(code);
    if (success) options.push(uintOption(O.OBSERVE, observation.nextSequence()));
    const now = Date.now();
    const confirmable = notification.confirmable ?? now - observation.lastConfirmableAt >= DAY_MS;
    const szx = this.#szxFor(observation.peer);
    let payload = body;
    if (body.length > blockSize(szx)) {
      const slice = sliceBlock(body, 0, szx)!;
      payload = slice.data;
      this.#downloads.set(
        observation.downloadKey,
        { code, options: withoutOptions(options, [O.OBSERVE]), body },
        this.#params.exchangeLifetime,
      );
      options.push(
        { number: O.BLOCK2, value: encodeBlock({ num: 0, more: true, szx }) },
        uintOption(O.SIZE2, body.length),
      );
    }
    const messageId = this.#nextMessageId();
    let bytes: Uint8Array;
    try {
      bytes = serializeMessage({
        type: confirmable ? CoapType.CON : CoapType.NON,
        code,
        messageId,
        token: observation.token,
        options,
        payload,
      });
    } catch (error) {
      return Promise.reject(new CoapRequestError('cannot encode notification', { cause: error }));
    }
    const peerKey = peerKeyOf(observation.peer);
    if (!success) this.#removeServerObservation(observation, 'error-response');
    if (!confirmable) {
      if (success)
        this.#nonNotifications.set(`${peerKey}#${messageId}`, observation, this.#params.nonLifetime);
      this.#write(bytes, observation.peer);
      return Promise.resolve();
    }
    observation.lastConfirmableAt = now;
    queue.inFlight = true;
    return new Promise<void>((resolve, reject) => {
      const transmission = this.#startTransmission(
        observation.peer,
        peerKey,
        messageId,
        bytes,
        'notification',
      );
      transmission.observation = success ? observation : undefined;
      transmission.settle = {
        resolve: () => {
          resolve();
          this.#notificationDone(observation, queue);
        },
        reject: (error) => {
          reject(error);
          this.#notificationDone(observation, queue);
        },
      };
    });
  }

  #notificationDone(observation: ServerObservation, queue: NotificationQueue): void {
    queue.inFlight = false;
    const next = queue.next;
    queue.next = undefined;
    if (next === undefined) return;
    if (!observation.active || this.#closing !== undefined) {
      next.reject(
        this.#closing !== undefined
          ? new ClosedError('endpoint closed')
          : new ClosedError('observation ended'),
      );
      return;
    }
    this.#transmitNotification(observation, next.notification, queue).then(next.resolve, next.reject);
  }

  #removeServerObservationByKey(key: string, reason: ObservationEndReason): void {
    const observation = this.#serverObservations.get(key);
    if (observation !== undefined) this.#removeServerObservation(observation, reason);
  }

  #removeServerObservation(observation: ServerObservation, reason: ObservationEndReason): void {
    if (this.#serverObservations.get(observation.key) === observation) {
      this.#serverObservations.delete(observation.key);
      const queue = this.#notificationQueues.get(observation.key);
      this.#notificationQueues.delete(observation.key);
      queue?.next?.reject(new ClosedError('observation ended'));
    }
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
    this.#dedup.sweep();
    this.#uploads.sweep();
    this.#downloads.sweep();
    this.#nonNotifications.sweep();
  }

  async #shutdown(): Promise<void> {
    clearInterval(this.#sweepTimer);
    this.#socket.off('message', this.#onDatagram);
    const closed = new ClosedError('endpoint closed');
    for (const pending of [...this.#pending.values()]) this.#failRequest(pending, closed);
    for (const transmission of [...this.#transmissions.values()]) {
      this.#stopTransmission(transmission);
      if (transmission.kind === 'ping' || transmission.kind === 'notification')
        transmission.settle?.reject(closed);
    }
    for (const exchange of this.#incoming) {
      if (exchange.separateTimer !== undefined) clearTimeout(exchange.separateTimer);
    }
    this.#incoming.clear();
    for (const observation of [...this.#clientObservations.values()]) observation.finish();
    this.#clientObservations.clear();
    for (const observation of [...this.#serverObservations.values()])
      this.#removeServerObservation(observation, 'closed');
    this.#dedup.clear();
    this.#uploads.clear();
    this.#downloads.clear();
    this.#nonNotifications.clear();
    this.#socket.off('error', this.#onSocketError);
    if (this.#ownsSocket) await this.#socket.close();
  }
}

interface ExchangeContext {
  readonly peer: PeerAddress;
  readonly code: number;
  readonly confirmable: boolean;
  readonly deadline: number;
  readonly signal: AbortSignal | undefined;
}

function isPromiseLike<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function requestOptions(request: OutgoingRequest): CoapOption[] {
  const options: CoapOption[] = [];
  if (request.observe !== undefined) options.push(uintOption(O.OBSERVE, request.observe));
  if (request.path !== undefined) pushStringOptions(options, O.URI_PATH, splitPath(request.path));
  if (request.contentFormat !== undefined) options.push(uintOption(O.CONTENT_FORMAT, request.contentFormat));
  if (request.query !== undefined) pushStringOptions(options, O.URI_QUERY, splitQuery(request.query));
  if (request.accept !== undefined) options.push(uintOption(O.ACCEPT, request.accept));
  if (request.options !== undefined) options.push(...request.options);
  return options;
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
class IncomingExchange implements IncomingRequest {
  readonly peer: PeerAddress;
  readonly identity: PeerIdentity | undefined;
  method: CoapMethod = 'GET';
  readonly path: readonly string[];
  readonly query: readonly string[];
  readonly options: readonly CoapOption[];
  payload: Uint8Array;
  readonly contentFormat: number | undefined;
  readonly accept: number | undefined;
  readonly observe: number | undefined;
  readonly confirmable: boolean;
  readonly token: Uint8Array;

  readonly message: CoapMessage;
  readonly peerKey: string;
  readonly tokenKey: string;
  readonly entry: DedupEntry;
  readonly #sender: NotificationSender;
  block1Echo: BlockOption | undefined;
  block2: BlockOption | undefined;
  observation: ServerObservation | undefined;
  separateTimer: ReturnType<typeof setTimeout> | undefined;
  ackSent = false;
  done = false;

  constructor(
    message: CoapMessage,
    datagram: DatagramMessage,
    peerKey: string,
    entry: DedupEntry,
    sender: NotificationSender,
  ) {
    this.message = message;
    this.peer = datagram.peer;
    this.identity = datagram.identity;
    this.peerKey = peerKey;
    this.tokenKey = `${peerKey}#${hex(message.token)}`;
    this.entry = entry;
    this.#sender = sender;
    this.options = message.options;
    this.path = getStringOptions(message.options, O.URI_PATH);
    this.query = getStringOptions(message.options, O.URI_QUERY);
    this.payload = message.payload;
    this.contentFormat = getUintOption(message.options, O.CONTENT_FORMAT);
    this.accept = getUintOption(message.options, O.ACCEPT);
    this.observe = getUintOption(message.options, O.OBSERVE);
    this.confirmable = message.type === CoapType.CON;
    this.token = message.token;
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
        initialSequence: 2,
      },
      this.#sender,
    );
    return this.observation;
  }
}

export function createCoapEndpoint(options: CoapEndpointOptions): CoapEndpoint {
  return new CoapEndpoint(options);
}
