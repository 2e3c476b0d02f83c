import { EventEmitter } from 'node:events';
import {
  ClosedError,
  ContentFormat,
  createCoreObjectRegistry,
  createMemorySecurityStore,
  createSilentLogger,
  formatPath,
  identityMatches,
  parsePath,
  systemClock,
  TimeoutError,
} from '@lwm2m/core';
import type {
  Clock,
  DatagramSocket,
  Logger,
  Lwm2mNode,
  Lwm2mPath,
  ObjectRegistry,
  PeerAddress,
  PeerIdentity,
  ResourceValue,
  SecurityStore,
} from '@lwm2m/core';
import { createCodec, formatAttributeQuery, parseDiscoverLinks } from '@lwm2m/codecs';
import type {
  AttributeName,
  DiscoverLink,
  Lwm2mCodec,
  NotificationAttributes,
  TimestampedNodes,
} from '@lwm2m/codecs';
import { CoapCode, createCoapEndpoint, isSuccessCode } from '@lwm2m/transport-coap';
import type {
  AdoptObservationRequest,
  CoapEndpoint,
  CoapEndpointOptions,
  CoapResponse,
  IncomingRequest,
  Observation as CoapObservation,
  OutgoingRequest,
  OutgoingResponse,
} from '@lwm2m/transport-coap';
import { createDeadlineQueue } from './deadline-queue.js';
import type { DeadlineQueue } from './deadline-queue.js';
import {
  ClientNotRegisteredError,
  InvalidRequestError,
  RegistrationEndedError,
  RequestFailedError,
} from './errors.js';
import { compositeFormat, defaultFormat, isSingleValuePath, multiValueFormat } from './format-choice.js';
import { createMemoryRegistrationStore } from './memory-registration-store.js';
import { Observation } from './observation.js';
import type { ObservationValue } from './observation.js';
import type { ObservationStore, StoredObservation } from './observation-store.js';
import { createMemoryObservationStore } from './observation-store.js';
import { createPresenceTracker } from './presence.js';
import type { PresenceTracker } from './presence.js';
import type { Registration } from './registration.js';
import { createObjectLinksReader } from './object-links-reader.js';
import { createRegistrationIdSource } from './registration-ids.js';
import { parseRegisterQuery, parseUpdateQuery } from './registration-params.js';
import type { ObjectLinks, RegisterParams, RegistrationRefusal } from './registration-params.js';
import { levelCheck } from './log-level.js';
import type { RegistrationStore } from './registration-store.js';
import { buildWriteNode, formatExecuteArguments } from './values.js';
import type { ExecuteArguments } from './values.js';

/** RFC 7252 §4.8.2 MAX_TRANSMIT_WAIT with the default parameters: the default awake window. */
export const MAX_TRANSMIT_WAIT = 93_000;

/** What the authorizer is asked about. */
export interface AuthorizationRequest {
  readonly operation: 'register' | 'update' | 'deregister' | 'send';
  readonly endpoint: string;
  readonly peer: PeerAddress;
  readonly transport: string;
  /** The DTLS identity, absent on NoSec (already checked against the security store). */
  readonly identity: PeerIdentity | undefined;
  /** The current registration for update, deregister and send. */
  readonly registration?: Registration;
}

/** Resolves false (or throws) to refuse a request with 4.03 Forbidden. */
export type Authorizer = (request: AuthorizationRequest) => boolean | Promise<boolean>;

export interface ServerStores {
  readonly registrations?: RegistrationStore;
  readonly observations?: ObservationStore;
  readonly security?: SecurityStore;
}

export interface ServerOptions {
  /** Datagram sockets by transport name (`coap`, `coaps`); the server runs a CoAP endpoint on each. */
  readonly sockets?: Readonly<Record<string, DatagramSocket>>;
  /** Ready CoAP endpoints by transport name, for your own CoAP settings. The server sets their handler. */
  readonly endpoints?: Readonly<Record<string, CoapEndpoint>>;
  /** Settings for the endpoints made from `sockets`. */
  readonly coap?: Omit<CoapEndpointOptions, 'socket' | 'handler' | 'logger'>;
  /** Object definitions for decoding; the core objects by default. */
  readonly registry?: ObjectRegistry;
  readonly stores?: ServerStores;
  readonly authorizer?: Authorizer;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Queue mode: how long a client stays awake after its last message (default MAX_TRANSMIT_WAIT, 93 s). */
  readonly queueMode?: { readonly awakeTime?: number };
  /** Default `timeout` of every operation in ms (queue wait included); default 60 s. */
  readonly defaultTimeout?: number;
  /** Time a registration is kept beyond its lifetime, for a late Update; default 10 s. */
  readonly expiryGrace?: number;
  /**
   * Take over the observations found in the observation store at `listen()` (made by an earlier
   * process): their notifications arrive as `notification` events. Default true when an
   * observation store is given.
   */
  readonly resumeObservations?: boolean;
}

/** Options every operation takes. */
export interface OperationOptions {
  readonly signal?: AbortSignal;
  /** Milliseconds for the whole operation, including the wait for a sleeping queue-mode client. */
  readonly timeout?: number;
}

export interface FormatOptions extends OperationOptions {
  /** Content format to use instead of the one chosen from the client's registration. */
  readonly format?: number;
}

export interface WriteOptions extends FormatOptions {
  /** `replace` (PUT, default) or `update` (POST: partial update of an object instance). */
  readonly mode?: 'replace' | 'update';
}

/** A notification of an observation, as the server's `notification` event gives it. */
export interface NotificationEvent {
  readonly registration: Registration;
  readonly token: string;
  /** The live Observation object; undefined for one resumed from the store after a restart. */
  readonly observation: Observation | undefined;
  readonly value: ObservationValue;
}

/** A Send (`POST /dp`) from a client. */
export interface SendEvent {
  readonly registration: Registration;
  readonly format: number;
  /** Values grouped by time; one group without `time` when the payload carries none. */
  readonly data: readonly TimestampedNodes[];
}

export interface ServerEvents {
  registered: [registration: Registration, replaced: Registration | undefined];
  updated: [registration: Registration, previous: Registration];
  deregistered: [registration: Registration];
  expired: [registration: Registration];
  notification: [event: NotificationEvent];
  send: [event: SendEvent];
  awake: [registration: Registration];
  sleeping: [registration: Registration];
}

const DEFAULT_TIMEOUT = 60_000;
const NOT_FOUND: OutgoingResponse = { code: CoapCode.NOT_FOUND };
const METHOD_NOT_ALLOWED: OutgoingResponse = { code: CoapCode.METHOD_NOT_ALLOWED };
const DEFAULT_GRACE = 10_000;

function peerKey(transport: string, address: string, port: number): string {
  return `${transport}|${address}|${port}`;
}

function refusalResponse(refusal: RegistrationRefusal): OutgoingResponse {
  return {
    code: refusal.code === 'unsupported-version' ? CoapCode.PRECONDITION_FAILED : CoapCode.BAD_REQUEST,
    payload: refusal.message,
  };
}

function toPathTuple(path: string | Lwm2mPath): Lwm2mPath {
  return typeof path === 'string' ? parsePath(path) : path;
}

function textOf(payload: Uint8Array): string {
  return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
}

/** What it takes to (re-)adopt an observation at a client's address. */
interface ObservationState {
  readonly token: string;
  readonly paths: readonly Lwm2mPath[];
  readonly composite: boolean;
  /** The content format asked for (Accept). */
  readonly format: number | undefined;
  /** RFC 7641 §3.4 state carried over when the observation moves. */
  lastSequence: number | undefined;
  lastNotifiedAt: number;
}

/** An observation this process follows: made here, or resumed from the store (no Observation object). */
interface LiveObservation extends ObservationState {
  readonly observation: Observation | undefined;
  /** The CoAP observation at the client's current address; replaced when the client moves. */
  coap: CoapObservation;
  /** The registration as of its last Register/Update seen here. */
  registration: Registration;
}

/**
 * A new registration, built in one step with every field present or absent from the start (no
 * spread of temporaries on the Register hot path).
 */
function newRegistration(
  id: string,
  params: RegisterParams,
  links: ObjectLinks,
  transport: string,
  peer: PeerAddress,
  identity: PeerIdentity | undefined,
  now: number,
  expiresAt: number,
): Registration {
  const registration: { -readonly [K in keyof Registration]: Registration[K] } = {
    id,
    endpoint: params.endpoint,
    lifetime: params.lifetime,
    version: params.version,
    binding: params.binding,
    queueMode: params.queueMode,
    rootPath: links.rootPath,
    objectLinks: links.text,
    transport,
    address: peer.address,
    port: peer.port,
    registeredAt: now,
    updatedAt: now,
    expiresAt,
  };
  if (params.sms !== undefined) registration.sms = params.sms;
  if (links.supportedFormats !== undefined) registration.supportedFormats = links.supportedFormats;
  if (params.attributes !== undefined) registration.attributes = params.attributes;
  if (identity !== undefined) registration.identity = identity;
  return registration;
}

/**
 * An LwM2M server on one or more CoAP endpoints: the registration interface (`/rd`), Send
 * (`/dp`), device management and observation towards registered clients, and queue mode.
 */
export class Lwm2mServer extends EventEmitter<ServerEvents> {
  readonly registrations: RegistrationStore;
  readonly observationStore: ObservationStore;
  readonly security: SecurityStore;
  readonly registry: ObjectRegistry;
  readonly codec: Lwm2mCodec;
  readonly #endpoints = new Map<string, CoapEndpoint>();
  readonly #logger: Logger;
  readonly #debugEnabled: () => boolean;
  readonly #infoEnabled: () => boolean;
  readonly #nextId = createRegistrationIdSource();
  readonly #readObjectLinks = createObjectLinksReader();
  readonly #clock: Clock;
  readonly #authorizer: Authorizer | undefined;
  readonly #defaultTimeout: number;
  readonly #grace: number;
  readonly #expiry: DeadlineQueue<string>;
  readonly #presence: PresenceTracker;
  /** Observations followed by this process (made here or resumed from the store), by token. */
  readonly #live = new Map<string, LiveObservation>();
  /** The same, by registration id: an Update from a new address moves them. */
  readonly #liveByRegistration = new Map<string, Set<LiveObservation>>();
  readonly #resume: boolean;
  readonly #activityListeners: [CoapEndpoint, (peer: PeerAddress) => void][] = [];
  #listening: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: ServerOptions) {
    super();
    this.#logger = options.logger ?? createSilentLogger();
    this.#debugEnabled = levelCheck(options.logger, 'debug');
    this.#infoEnabled = levelCheck(options.logger, 'info');
    this.#clock = options.clock ?? systemClock;
    this.registry = options.registry ?? createCoreObjectRegistry();
    this.codec = createCodec({ registry: this.registry, now: () => this.#clock.now() });
    this.registrations = options.stores?.registrations ?? createMemoryRegistrationStore();
    this.observationStore = options.stores?.observations ?? createMemoryObservationStore();
    this.security = options.stores?.security ?? createMemorySecurityStore();
    this.#authorizer = options.authorizer;
    this.#defaultTimeout = options.defaultTimeout ?? DEFAULT_TIMEOUT;
    this.#grace = options.expiryGrace ?? DEFAULT_GRACE;
    this.#expiry = createDeadlineQueue<string>(this.#clock, (id) => void this.#expire(id));
    this.#presence = createPresenceTracker(this.#clock, options.queueMode?.awakeTime ?? MAX_TRANSMIT_WAIT, {
      onAwake: (endpoint) => void this.#emitPresence('awake', endpoint),
      onSleeping: (endpoint) => void this.#emitPresence('sleeping', endpoint),
    });

    this.#resume = options.resumeObservations ?? options.stores?.observations !== undefined;
    for (const [name, socket] of Object.entries(options.sockets ?? {})) {
      this.#addEndpoint(name, createCoapEndpoint({ ...options.coap, socket, logger: this.#logger }));
    }
    for (const [name, endpoint] of Object.entries(options.endpoints ?? {})) this.#addEndpoint(name, endpoint);
    if (this.#endpoints.size === 0)
      throw new InvalidRequestError('createServer needs at least one socket or endpoint');
  }

  #addEndpoint(name: string, endpoint: CoapEndpoint): void {
    if (this.#endpoints.has(name))
      throw new InvalidRequestError(`transport name ${JSON.stringify(name)} used twice`);
    this.#endpoints.set(name, endpoint);
  }

  /** The local address of a transport (e.g. to learn the port picked for port 0). */
  address(transport?: string): PeerAddress {
    const endpoint =
      transport === undefined ? this.#endpoints.values().next().value : this.#endpoints.get(transport);
    if (endpoint === undefined) throw new InvalidRequestError(`no transport ${JSON.stringify(transport)}`);
    return endpoint.address();
  }

  /** Starts answering clients; loads the stores (expiry schedule, resumed observations). Idempotent. */
  listen(): Promise<void> {
    if (this.#closing !== undefined) return Promise.reject(new ClosedError('server closed'));
    this.#listening ??= this.#start();
    return this.#listening;
  }

  async #start(): Promise<void> {
    for await (const registration of this.registrations.all()) {
      this.#expiry.schedule(registration.id, registration.expiresAt);
    }
    if (this.#resume) {
      for await (const stored of this.observationStore.all()) await this.#resumeObservation(stored);
    }
    for (const [name, endpoint] of this.#endpoints) {
      endpoint.setHandler((request) => this.#guard(name, request));
      const onActivity = (peer: PeerAddress): void => {
        // Every datagram passes here: no key string unless a queue-mode client is tracked.
        if (this.#presence.size > 0) this.#presence.activity(peerKey(name, peer.address, peer.port));
      };
      endpoint.on('activity', onActivity);
      this.#activityListeners.push([endpoint, onActivity]);
    }
  }

  #route(transport: string, request: IncomingRequest): OutgoingResponse | Promise<OutgoingResponse> {
    const path = request.path;
    const method = request.method;
    if (path[0] === 'rd' && path.length <= 2) {
      if (path.length === 1)
        return method === 'POST' ? this.#register(transport, request) : METHOD_NOT_ALLOWED;
      const id = path[1] as string;
      if (method === 'POST') return this.#update(transport, request, id);
      if (method === 'DELETE') return this.#deregister(transport, request, id);
      return METHOD_NOT_ALLOWED;
    }
    if (path[0] === 'dp' && path.length === 1)
      return method === 'POST' ? this.#send(transport, request) : METHOD_NOT_ALLOWED;
    return NOT_FOUND;
  }

  /** A handler bug answers 5.00 instead of leaving the client without an answer. */
  #guard(transport: string, request: IncomingRequest): OutgoingResponse | Promise<OutgoingResponse> {
    let response: OutgoingResponse | Promise<OutgoingResponse>;
    try {
      response = this.#route(transport, request);
    } catch (error) {
      return this.#handlerFailed(error);
    }
    return response instanceof Promise
      ? response.catch((error: unknown) => this.#handlerFailed(error))
      : response;
  }

  #handlerFailed(error: unknown): OutgoingResponse {
    this.#logger.error({ err: error }, 'lwm2m server: request handling failed');
    return { code: CoapCode.INTERNAL_SERVER_ERROR };
  }

  /** Stops: ends live observations here (they stay in the store), fails waiting requests, closes the endpoints. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#stop();
    return this.#closing;
  }

  async #stop(): Promise<void> {
    await this.#listening?.catch(() => undefined);
    this.#expiry.clear();
    this.#presence.close();
    for (const [endpoint, listener] of this.#activityListeners) endpoint.off('activity', listener);
    const live = [...this.#live.values()];
    this.#live.clear();
    this.#liveByRegistration.clear();
    for (const entry of live) entry.observation?.finish(new ClosedError('server closed'));
    await Promise.all([...this.#endpoints.values()].map((endpoint) => endpoint.close()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- registration interface ------------------------------------------------------------

  async #checkSecurity(endpoint: string, identity: PeerIdentity | undefined): Promise<boolean> {
    const info = await this.security.getByEndpoint(endpoint);
    if (identity === undefined) return info === undefined;
    return info !== undefined && identityMatches(info, identity);
  }

  async #authorize(request: AuthorizationRequest): Promise<boolean> {
    if (this.#authorizer === undefined) return true;
    try {
      return (await this.#authorizer(request)) === true;
    } catch (error) {
      this.#logger.warn({ err: error, endpoint: request.endpoint }, 'authorizer threw; refusing');
      return false;
    }
  }

  /** Whether a request on an existing registration may go on: its DTLS identity, then the authorizer. */
  async #allowed(
    operation: 'update' | 'deregister' | 'send',
    transport: string,
    request: IncomingRequest,
    registration: Registration,
  ): Promise<boolean> {
    if (!(await this.#checkSecurity(registration.endpoint, request.identity))) return false;
    return this.#authorize({
      operation,
      endpoint: registration.endpoint,
      peer: request.peer,
      transport,
      identity: request.identity,
      registration,
    });
  }

  async #register(transport: string, request: IncomingRequest): Promise<OutgoingResponse> {
    const params = parseRegisterQuery(request.query);
    if (!params.ok) return refusalResponse(params);
    if (request.payload.byteLength === 0)
      return { code: CoapCode.BAD_REQUEST, payload: 'object links are required' };
    const links = this.#readObjectLinks(request.payload, request.contentFormat);
    if (!links.ok) return refusalResponse(links);
    const peer = request.peer;
    const identity = request.identity;
    if (!(await this.#checkSecurity(params.endpoint, identity))) {
      if (this.#infoEnabled())
        this.#logger.info(
          { endpoint: params.endpoint, peer },
          'registration refused: identity does not match',
        );
      return { code: CoapCode.FORBIDDEN };
    }
    if (
      this.#authorizer !== undefined &&
      !(await this.#authorize({
        operation: 'register',
        endpoint: params.endpoint,
        peer,
        transport,
        identity,
      }))
    ) {
      return { code: CoapCode.FORBIDDEN };
    }

    const now = this.#clock.now();
    const registration = newRegistration(
      this.#nextId(),
      params,
      links,
      transport,
      peer,
      identity,
      now,
      now + params.lifetime * 1000 + this.#grace,
    );
    const replaced = await this.registrations.add(registration);
    if (replaced !== undefined) await this.#forget(replaced, 'replaced by a new registration');
    this.#expiry.schedule(registration.id, registration.expiresAt);
    if (registration.queueMode)
      this.#presence.track(
        registration.endpoint,
        peerKey(transport, registration.address, registration.port),
      );
    if (this.#debugEnabled())
      this.#logger.debug({ endpoint: registration.endpoint, id: registration.id }, 'registered');
    this.emit('registered', registration, replaced);
    return { code: CoapCode.CREATED, locationPath: ['rd', registration.id] };
  }

  async #update(transport: string, request: IncomingRequest, id: string): Promise<OutgoingResponse> {
    const current = await this.registrations.get(id);
    if (current === undefined) return { code: CoapCode.NOT_FOUND };
    const params = parseUpdateQuery(request.query, current.version);
    if (!params.ok) return refusalResponse(params);
    let links: ObjectLinks | undefined;
    if (request.payload.byteLength > 0) {
      const parsed = this.#readObjectLinks(request.payload, request.contentFormat);
      if (!parsed.ok) return refusalResponse(parsed);
      links = parsed;
    }
    if (!(await this.#allowed('update', transport, request, current))) return { code: CoapCode.FORBIDDEN };
    const now = this.#clock.now();
    const lifetime = params.lifetime ?? current.lifetime;
    const result = await this.registrations.update(id, {
      ...(params.lifetime === undefined ? {} : { lifetime: params.lifetime }),
      ...(params.binding === undefined ? {} : { binding: params.binding }),
      ...(params.queueMode === undefined ? {} : { queueMode: params.queueMode }),
      ...(params.sms === undefined ? {} : { sms: params.sms }),
      ...(links === undefined
        ? {}
        : {
            objectLinks: links.text,
            rootPath: links.rootPath,
            ...(links.supportedFormats === undefined ? {} : { supportedFormats: links.supportedFormats }),
          }),
      transport,
      address: request.peer.address,
      port: request.peer.port,
      updatedAt: now,
      expiresAt: now + lifetime * 1000 + this.#grace,
    });
    if (result === undefined) return { code: CoapCode.NOT_FOUND };
    const registration = result.current;
    this.#expiry.schedule(registration.id, registration.expiresAt);
    const previous = result.previous;
    if (
      previous.transport === transport &&
      (previous.address !== registration.address || previous.port !== registration.port)
    ) {
      // NAT rebinding: everything the endpoint has going with the old address (observations,
      // requests in flight, message ids) moves before the client hears 2.04.
      this.#endpoints
        .get(transport)
        ?.movePeer({ address: previous.address, port: previous.port }, request.peer);
    }
    this.#followRegistration(registration);
    if (registration.queueMode) {
      this.#presence.track(
        registration.endpoint,
        peerKey(transport, registration.address, registration.port),
      );
    } else if (this.#presence.isTracked(registration.endpoint)) {
      this.#presence.untrack(
        registration.endpoint,
        new RegistrationEndedError(registration.endpoint, 'left queue mode'),
      );
    }
    this.emit('updated', registration, result.previous);
    return { code: CoapCode.CHANGED };
  }

  async #deregister(transport: string, request: IncomingRequest, id: string): Promise<OutgoingResponse> {
    const current = await this.registrations.get(id);
    if (current === undefined) return { code: CoapCode.NOT_FOUND };
    if (!(await this.#allowed('deregister', transport, request, current)))
      return { code: CoapCode.FORBIDDEN };
    const removed = await this.registrations.remove(id);
    if (removed === undefined) return { code: CoapCode.NOT_FOUND };
    await this.#forget(removed, 'deregistered');
    this.emit('deregistered', removed);
    return { code: CoapCode.DELETED };
  }

  async #expire(id: string): Promise<void> {
    try {
      const removed = await this.registrations.remove(id, { expiredAt: this.#clock.now() });
      if (removed === undefined) {
        // Updated by another process meanwhile (shared store): follow its new deadline.
        const current = await this.registrations.get(id);
        if (current !== undefined) this.#expiry.schedule(id, current.expiresAt);
        return;
      }
      await this.#forget(removed, 'expired');
      this.#logger.debug({ endpoint: removed.endpoint, id }, 'registration expired');
      this.emit('expired', removed);
    } catch (error) {
      this.#logger.error({ err: error, id }, 'registration expiry failed');
    }
  }

  /** Drops what belonged to a registration that ended: its expiry, queue state and observations. */
  async #forget(registration: Registration, reason: string): Promise<void> {
    this.#expiry.cancel(registration.id);
    if (this.#presence.isTracked(registration.endpoint)) {
      this.#presence.untrack(
        registration.endpoint,
        new RegistrationEndedError(registration.endpoint, reason),
      );
    }
    const stored = await this.observationStore.removeByRegistration(registration.id);
    const ended = new RegistrationEndedError(registration.endpoint, reason);
    for (const observation of stored) {
      const entry = this.#live.get(observation.token);
      if (entry !== undefined) this.#endLive(entry, ended);
    }
    // Followed here but gone from the store (removed by another process): they end too.
    for (const entry of [...(this.#liveByRegistration.get(registration.id) ?? [])])
      this.#endLive(entry, ended);
  }

  async #emitPresence(event: 'awake' | 'sleeping', endpoint: string): Promise<void> {
    try {
      const registration = await this.registrations.getByEndpoint(endpoint);
      if (registration !== undefined) this.emit(event, registration);
    } catch (error) {
      this.#logger.error({ err: error, endpoint }, `${event} event failed`);
    }
  }

  // ---- Send ----------------------------------------------------------------------------------

  async #send(transport: string, request: IncomingRequest): Promise<OutgoingResponse> {
    const registration = await this.registrations.getByAddress(
      transport,
      request.peer.address,
      request.peer.port,
    );
    // TS Core §6.4.1 (Send): a client without a registration with this server gets 4.04.
    if (registration === undefined) return { code: CoapCode.NOT_FOUND, payload: 'not registered' };
    if (!(await this.#allowed('send', transport, request, registration))) return { code: CoapCode.FORBIDDEN };
    const format = request.contentFormat;
    let data: TimestampedNodes[];
    try {
      if (format === ContentFormat.SENML_JSON || format === ContentFormat.SENML_CBOR) {
        data = this.codec.decodeTimestamped(format, request.payload, []);
      } else if (format === ContentFormat.LWM2M_CBOR) {
        data = [{ nodes: this.codec.decodeComposite(format, request.payload) }];
      } else {
        return {
          code: CoapCode.UNSUPPORTED_CONTENT_FORMAT,
          payload: 'Send takes SenML JSON, SenML CBOR or LwM2M CBOR',
        };
      }
    } catch (error) {
      return {
        code: CoapCode.BAD_REQUEST,
        payload: error instanceof Error ? error.message : 'undecodable payload',
      };
    }
    this.emit('send', { registration, format, data });
    return { code: CoapCode.CHANGED };
  }

  // ---- device management -----------------------------------------------------------------------

  /** The current registration of an endpoint, or undefined. */
  getRegistration(endpoint: string): Promise<Registration | undefined> {
    return this.registrations.getByEndpoint(endpoint);
  }

  /** Whether a queue-mode client is awake now (non-queue-mode clients are always reachable). */
  isAwake(endpoint: string): boolean {
    return this.#presence.isAwake(endpoint);
  }

  /**
   * Sends one request to a registered client: at the address of its last Register/Update, through
   * the transport it used, after it wakes when in queue mode. Error codes reject with RequestFailedError.
   */
  async #exchange<T>(
    endpointName: string,
    operation: string,
    options: OperationOptions,
    send: (endpoint: CoapEndpoint, registration: Registration, timeout: number) => Promise<T>,
  ): Promise<{ registration: Registration; result: T }> {
    if (this.#closing !== undefined) throw new ClosedError('server closed');
    const deadline = this.#clock.now() + (options.timeout ?? this.#defaultTimeout);
    let registration = await this.registrations.getByEndpoint(endpointName);
    if (registration === undefined) throw new ClientNotRegisteredError(endpointName);
    if (registration.queueMode) {
      if (!this.#presence.isTracked(endpointName)) {
        // Registered through another process or before a restart: asleep until it speaks.
        this.#presence.track(
          endpointName,
          peerKey(registration.transport, registration.address, registration.port),
          false,
        );
      }
      await this.#presence.waitAwake(endpointName, deadline, options.signal);
      // It may have moved (Update from a new address) while we waited.
      registration = (await this.registrations.getByEndpoint(endpointName)) ?? registration;
    }
    const endpoint = this.#endpoints.get(registration.transport);
    if (endpoint === undefined) {
      throw new InvalidRequestError(
        `${operation}: transport ${JSON.stringify(registration.transport)} of ${endpointName} is not served here`,
      );
    }
    const remaining = deadline - this.#clock.now();
    if (remaining <= 0) throw new TimeoutError(`${operation} timed out`);
    const result = await send(endpoint, registration, remaining);
    return { registration, result };
  }

  #target(registration: Registration, path: Lwm2mPath): string[] {
    const segments = registration.rootPath.split('/').filter((s) => s !== '');
    for (const id of path) segments.push(String(id));
    return segments;
  }

  async #request(
    endpointName: string,
    operation: string,
    path: Lwm2mPath,
    options: OperationOptions,
    build: (registration: Registration) => Omit<OutgoingRequest, 'peer' | 'path'>,
    expected: number,
  ): Promise<{ registration: Registration; response: CoapResponse }> {
    const { registration, result } = await this.#exchange(
      endpointName,
      operation,
      options,
      (endpoint, reg, timeout) =>
        endpoint.request(
          { ...build(reg), peer: { address: reg.address, port: reg.port }, path: this.#target(reg, path) },
          { timeout, ...(options.signal === undefined ? {} : { signal: options.signal }) },
        ),
    );
    if (result.code !== expected) {
      throw new RequestFailedError(
        `${operation} ${formatPath(path)} on ${endpointName}`,
        result.code,
        result.payload.byteLength > 0 ? textOf(result.payload) : undefined,
      );
    }
    return { registration, response: result };
  }

  #decode(response: CoapResponse, path: Lwm2mPath): { node: Lwm2mNode; format: number } {
    // TS Core: a response without Content-Format is text/plain.
    const format = response.contentFormat ?? ContentFormat.TEXT;
    return { node: this.codec.decode(format, response.payload, path), format };
  }

  #readAccept(registration: Registration, path: Lwm2mPath): number | undefined {
    if (isSingleValuePath(path, this.registry)) return undefined;
    // Ask only for what the client must or said it can do; otherwise let it choose.
    if (registration.version === '1.0' || registration.supportedFormats !== undefined)
      return multiValueFormat(registration);
    return undefined;
  }

  /** Read (GET): the value at a path, decoded. */
  async read(endpoint: string, path: string | Lwm2mPath, options: FormatOptions = {}): Promise<Lwm2mNode> {
    const target = toPathTuple(path);
    if (target.length === 0)
      throw new InvalidRequestError('read needs an object, instance, resource or resource instance path');
    const { response } = await this.#request(
      endpoint,
      'read',
      target,
      options,
      (registration) => {
        const accept = options.format ?? this.#readAccept(registration, target);
        return { method: 'GET', ...(accept === undefined ? {} : { accept }) };
      },
      CoapCode.CONTENT,
    );
    return this.#decode(response, target).node;
  }

  /** Discover (GET, Accept link-format): the client's objects, instances, resources and attributes under a path. */
  async discover(
    endpoint: string,
    path: string | Lwm2mPath,
    options: OperationOptions = {},
  ): Promise<DiscoverLink[]> {
    const target = toPathTuple(path);
    const { registration, response } = await this.#request(
      endpoint,
      'discover',
      target,
      options,
      () => ({ method: 'GET', accept: ContentFormat.LINK }),
      CoapCode.CONTENT,
    );
    return parseDiscoverLinks(textOf(response.payload), { rootPath: registration.rootPath });
  }

  /**
   * Write: PUT (replace, default) or POST (`mode: 'update'`, partial update). `value` is a node, or
   * a plain value for a resource or resource instance path (typed from the object registry).
   */
  async write(
    endpoint: string,
    path: string | Lwm2mPath,
    value: Lwm2mNode | ResourceValue,
    options: WriteOptions = {},
  ): Promise<void> {
    const target = toPathTuple(path);
    const node = buildWriteNode(target, value, this.registry);
    await this.#request(
      endpoint,
      'write',
      target,
      options,
      (registration) => {
        const single = node.kind === 'resource' || node.kind === 'resourceInstance';
        const format =
          options.format ??
          (single ? defaultFormat(registration, target, this.registry) : multiValueFormat(registration));
        const chosen =
          single && node.type === 'opaque' && options.format === undefined ? ContentFormat.OPAQUE : format;
        return {
          method: options.mode === 'update' ? 'POST' : 'PUT',
          contentFormat: chosen,
          payload: this.codec.encode(chosen, node, target),
        };
      },
      CoapCode.CHANGED,
    );
  }

  /** Write-Attributes (PUT with only a query): `set` values, `unset` names to remove (1.1+). */
  async writeAttributes(
    endpoint: string,
    path: string | Lwm2mPath,
    attributes: { readonly set?: NotificationAttributes; readonly unset?: readonly AttributeName[] },
    options: OperationOptions = {},
  ): Promise<void> {
    const target = toPathTuple(path);
    let query: string[];
    try {
      query = formatAttributeQuery(attributes);
    } catch (error) {
      throw new InvalidRequestError(
        `bad attributes: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    if (query.length === 0) throw new InvalidRequestError('writeAttributes needs at least one attribute');
    await this.#request(
      endpoint,
      'write-attributes',
      target,
      options,
      () => ({ method: 'PUT', query }),
      CoapCode.CHANGED,
    );
  }

  /** Execute (POST on a resource), with arguments as text (`0='v',1`) or by number. */
  async execute(
    endpoint: string,
    path: string | Lwm2mPath,
    args?: ExecuteArguments,
    options: OperationOptions = {},
  ): Promise<void> {
    const target = toPathTuple(path);
    if (target.length !== 3) throw new InvalidRequestError('execute needs a resource path');
    const payload = args === undefined ? undefined : formatExecuteArguments(args);
    await this.#request(
      endpoint,
      'execute',
      target,
      options,
      () => ({
        method: 'POST',
        ...(payload === undefined || payload === '' ? {} : { payload, contentFormat: ContentFormat.TEXT }),
      }),
      CoapCode.CHANGED,
    );
  }

  /**
   * Create (POST on an object) of one instance. Resolves with the new instance's path, from the
   * Location-Path the client answered or the instance id given.
   */
  async create(
    endpoint: string,
    objectPath: string | Lwm2mPath | number,
    instance: Lwm2mNode,
    options: FormatOptions = {},
  ): Promise<Lwm2mPath> {
    const target = typeof objectPath === 'number' ? ([objectPath] as const) : toPathTuple(objectPath);
    if (target.length !== 1) throw new InvalidRequestError('create needs an object path');
    if (instance.kind !== 'objectInstance')
      throw new InvalidRequestError('create takes an object instance node');
    const objectId = target[0] as number;
    const node: Lwm2mNode = { kind: 'object', id: objectId, instances: new Map([[instance.id, instance]]) };
    const { response } = await this.#request(
      endpoint,
      'create',
      target,
      options,
      (registration) => {
        const format = options.format ?? multiValueFormat(registration);
        return { method: 'POST', contentFormat: format, payload: this.codec.encode(format, node, target) };
      },
      CoapCode.CREATED,
    );
    const location = response.locationPath;
    const last = location[location.length - 1];
    const created = last !== undefined && /^[0-9]+$/.test(last) ? Number(last) : instance.id;
    return [objectId, created];
  }

  /** Delete (DELETE) of an object instance. */
  async delete(endpoint: string, path: string | Lwm2mPath, options: OperationOptions = {}): Promise<void> {
    const target = toPathTuple(path);
    await this.#request(endpoint, 'delete', target, options, () => ({ method: 'DELETE' }), CoapCode.DELETED);
  }

  #compositeFormats(
    registration: Registration,
    format: number | undefined,
  ): { request: number; response: number } {
    const response = format ?? compositeFormat(registration);
    // The path list of the request is SenML; LwM2M CBOR has no path-list form.
    const request =
      response === ContentFormat.SENML_JSON ? ContentFormat.SENML_JSON : ContentFormat.SENML_CBOR;
    return { request, response };
  }

  /** Read-Composite (FETCH): values of several paths at once, by formatted path. */
  async readComposite(
    endpoint: string,
    paths: readonly (string | Lwm2mPath)[],
    options: FormatOptions = {},
  ): Promise<Map<string, Lwm2mNode>> {
    const targets = paths.map(toPathTuple);
    if (targets.length === 0) throw new InvalidRequestError('readComposite needs at least one path');
    const { response } = await this.#request(
      endpoint,
      'read-composite',
      [],
      options,
      (registration) => {
        const formats = this.#compositeFormats(registration, options.format);
        return {
          method: 'FETCH',
          contentFormat: formats.request,
          accept: formats.response,
          payload: this.codec.encodePaths(formats.request, targets),
        };
      },
      CoapCode.CONTENT,
    );
    const format = response.contentFormat ?? ContentFormat.SENML_CBOR;
    return this.codec.decodeComposite(format, response.payload, targets);
  }

  /** Write-Composite (iPATCH): nodes by path. */
  async writeComposite(
    endpoint: string,
    nodes: ReadonlyMap<string, Lwm2mNode> | Readonly<Record<string, Lwm2mNode>>,
    options: FormatOptions = {},
  ): Promise<void> {
    const entries = nodes instanceof Map ? [...nodes] : Object.entries(nodes);
    if (entries.length === 0) throw new InvalidRequestError('writeComposite needs at least one value');
    const byPath = new Map(entries.map(([path, node]) => [formatPath(parsePath(path)), node] as const));
    await this.#request(
      endpoint,
      'write-composite',
      [],
      options,
      (registration) => {
        const format = options.format ?? compositeFormat(registration);
        return {
          method: 'iPATCH',
          contentFormat: format,
          payload: this.codec.encodeComposite(format, byPath),
        };
      },
      CoapCode.CHANGED,
    );
  }

  // ---- observe -------------------------------------------------------------------------------

  /** Observe (GET Observe=0) of one path. */
  observe(endpoint: string, path: string | Lwm2mPath, options: FormatOptions = {}): Promise<Observation> {
    const target = toPathTuple(path);
    return this.#observe(endpoint, [target], false, options);
  }

  /** Observe-Composite (FETCH Observe=0) of several paths. */
  observeComposite(
    endpoint: string,
    paths: readonly (string | Lwm2mPath)[],
    options: FormatOptions = {},
  ): Promise<Observation> {
    const targets = paths.map(toPathTuple);
    if (targets.length === 0) throw new InvalidRequestError('observeComposite needs at least one path');
    return this.#observe(endpoint, targets, true, options);
  }

  /** The observations this process holds for an endpoint (resumed ones have no Observation object). */
  observations(endpoint: string): Observation[] {
    const found: Observation[] = [];
    for (const entry of this.#live.values()) {
      if (entry.observation !== undefined && entry.observation.endpoint === endpoint)
        found.push(entry.observation);
    }
    return found;
  }

  #decodeObservationValue(
    response: { payload: Uint8Array; contentFormat: number | undefined; observe: number | undefined },
    paths: readonly Lwm2mPath[],
    composite: boolean,
  ): ObservationValue {
    if (composite) {
      const format = response.contentFormat ?? ContentFormat.SENML_CBOR;
      return {
        composite: true,
        nodes: this.codec.decodeComposite(format, response.payload, paths),
        format,
        sequence: response.observe,
      };
    }
    const path = paths[0] as Lwm2mPath;
    const format = response.contentFormat ?? ContentFormat.TEXT;
    return {
      composite: false,
      path,
      node: this.codec.decode(format, response.payload, path),
      format,
      sequence: response.observe,
    };
  }

  async #observe(
    endpointName: string,
    paths: readonly Lwm2mPath[],
    composite: boolean,
    options: FormatOptions,
  ): Promise<Observation> {
    const operation = composite ? 'observe-composite' : 'observe';
    let accept: number | undefined;
    const { registration, result: coap } = await this.#exchange(
      endpointName,
      operation,
      options,
      (endpoint, reg, timeout) => {
        accept = composite
          ? this.#compositeFormats(reg, options.format).response
          : (options.format ?? this.#readAccept(reg, paths[0] as Lwm2mPath));
        const request = {
          ...this.#observeRequest(reg, paths, composite, accept),
          peer: { address: reg.address, port: reg.port },
        };
        return endpoint.observe(request, {
          timeout,
          reregister: false,
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        });
      },
    );
    const first = coap.response;
    const where = composite ? paths.map(formatPath).join(',') : formatPath(paths[0] as Lwm2mPath);
    if (!isSuccessCode(first.code)) {
      throw new RequestFailedError(
        `${operation} ${where} on ${endpointName}`,
        first.code,
        first.payload.byteLength > 0 ? textOf(first.payload) : undefined,
      );
    }
    let initial: ObservationValue;
    try {
      initial = this.#decodeObservationValue(first, paths, composite);
    } catch (error) {
      await coap.cancel({ active: true }).catch(() => undefined);
      throw error;
    }
    const token = Buffer.from(coap.token).toString('hex');
    const observation = new Observation(
      {
        token,
        endpoint: endpointName,
        registrationId: registration.id,
        paths,
        composite,
        initial,
        active: coap.active,
      },
      { cancel: (o, active) => this.#cancelObservation(o, active) },
    );
    if (!coap.active) {
      observation.finish();
      return observation;
    }
    // The registration may have ended (or moved) while the request was out.
    const current = await this.registrations.get(registration.id);
    if (current === undefined) {
      await coap.cancel({ active: false }).catch(() => undefined);
      observation.finish(new RegistrationEndedError(endpointName, 'ended while observing'));
      return observation;
    }
    const stored: StoredObservation = {
      token,
      registrationId: registration.id,
      endpoint: endpointName,
      paths: paths.map(formatPath),
      composite,
      ...(accept === undefined ? {} : { format: accept }),
      createdAt: this.#clock.now(),
    };
    const entry: LiveObservation = {
      token,
      observation,
      coap,
      registration,
      paths,
      composite,
      format: accept,
      lastSequence: first.observe,
      lastNotifiedAt: Date.now(),
    };
    this.#track(entry);
    await this.observationStore.add(stored);
    void this.#pump(entry, coap);
    // An Update from a new address may have come in meanwhile: follow it.
    this.#followRegistration(current);
    return observation;
  }

  /** The GET (or FETCH, composite) that registers an observation, without its peer. */
  #observeRequest(
    registration: Registration,
    paths: readonly Lwm2mPath[],
    composite: boolean,
    accept: number | undefined,
  ): Omit<OutgoingRequest, 'peer'> {
    if (composite) {
      // The path list of the request is SenML; LwM2M CBOR has no path-list form.
      const contentFormat =
        accept === ContentFormat.SENML_JSON ? ContentFormat.SENML_JSON : ContentFormat.SENML_CBOR;
      return {
        method: 'FETCH',
        path: this.#target(registration, []),
        contentFormat,
        ...(accept === undefined ? {} : { accept }),
        payload: this.codec.encodePaths(contentFormat, paths),
      };
    }
    return {
      method: 'GET',
      path: this.#target(registration, paths[0] as Lwm2mPath),
      ...(accept === undefined ? {} : { accept }),
    };
  }

  #track(entry: LiveObservation): void {
    this.#live.set(entry.token, entry);
    let entries = this.#liveByRegistration.get(entry.registration.id);
    if (entries === undefined) {
      entries = new Set();
      this.#liveByRegistration.set(entry.registration.id, entries);
    }
    entries.add(entry);
  }

  /** Stops following an observation here; false when it was not followed (any more). */
  #untrack(entry: LiveObservation): boolean {
    if (this.#live.get(entry.token) !== entry) return false;
    this.#live.delete(entry.token);
    const entries = this.#liveByRegistration.get(entry.registration.id);
    entries?.delete(entry);
    if (entries?.size === 0) this.#liveByRegistration.delete(entry.registration.id);
    return true;
  }

  /** Ends an observation whose registration ended: passively (its next notification gets Reset). */
  #endLive(entry: LiveObservation, error: Error): void {
    if (!this.#untrack(entry)) return;
    entry.coap.cancel({ active: false }).catch(() => undefined);
    entry.observation?.finish(error);
  }

  /**
   * Feeds a CoAP observation's notifications into the LwM2M observation and the server's events.
   * Ends when the CoAP observation does, unless it was replaced meanwhile (the client moved).
   */
  async #pump(entry: LiveObservation, coap: CoapObservation): Promise<void> {
    let skipFirst = !coap.adopted;
    let ending: Error | undefined;
    try {
      for await (const response of coap) {
        if (skipFirst) {
          skipFirst = false;
          continue;
        }
        if (!isSuccessCode(response.code)) {
          ending = new RequestFailedError(
            `notification of ${entry.registration.endpoint}`,
            response.code,
            response.payload.byteLength > 0 ? textOf(response.payload) : undefined,
          );
          break;
        }
        if (response.observe !== undefined) entry.lastSequence = response.observe;
        entry.lastNotifiedAt = Date.now();
        let value: ObservationValue;
        try {
          value = this.#decodeObservationValue(response, entry.paths, entry.composite);
        } catch (error) {
          this.#logger.warn(
            { err: error, endpoint: entry.registration.endpoint, token: entry.token },
            'undecodable notification dropped',
          );
          continue;
        }
        entry.observation?.push(value);
        this.emit('notification', {
          registration: entry.registration,
          token: entry.token,
          observation: entry.observation,
          value,
        });
      }
    } catch (error) {
      ending = error instanceof Error ? error : new Error(String(error));
    }
    if (entry.coap !== coap) return;
    if (this.#untrack(entry)) await this.observationStore.remove(entry.token).catch(() => undefined);
    entry.observation?.finish(ending);
  }

  /**
   * After an Update: observations of the registration follow the client. Within one endpoint
   * `movePeer` has moved them already; those still at another address (the client changed
   * transport, or they were made before the registration moved in another process) are forgotten
   * at the old peer (no message sent) and adopted at the new one, keeping their token, RFC 7641
   * §3.4 ordering state and LwM2M Observation.
   */
  #followRegistration(registration: Registration): void {
    const entries = this.#liveByRegistration.get(registration.id);
    if (entries === undefined) return;
    for (const entry of [...entries]) {
      const previous = entry.registration;
      entry.registration = registration;
      const peer = entry.coap.response.peer;
      if (
        previous.transport === registration.transport &&
        peer.address === registration.address &&
        peer.port === registration.port
      )
        continue;
      const endpoint = this.#endpoints.get(registration.transport);
      const old = entry.coap;
      try {
        if (endpoint === undefined)
          throw new InvalidRequestError(
            `transport ${JSON.stringify(registration.transport)} is not served here`,
          );
        // Synchronously forgotten, so the adoption below does not collide with it.
        old.cancel({ active: false }).catch(() => undefined);
        entry.coap = endpoint.adoptObservation(this.#adoptRequest(entry, registration), {
          reregister: false,
        });
      } catch (error) {
        this.#logger.warn(
          { err: error, endpoint: registration.endpoint, token: entry.token },
          'observation could not follow the client to its new address',
        );
        if (this.#untrack(entry)) this.observationStore.remove(entry.token).catch(() => undefined);
        old.cancel({ active: false }).catch(() => undefined);
        entry.observation?.finish(error instanceof Error ? error : new Error(String(error)));
        continue;
      }
      if (this.#debugEnabled()) {
        this.#logger.debug(
          {
            endpoint: registration.endpoint,
            token: entry.token,
            peer: `${registration.address}:${registration.port}`,
          },
          'observation moved',
        );
      }
      void this.#pump(entry, entry.coap);
    }
  }

  #adoptRequest(entry: ObservationState, registration: Registration): AdoptObservationRequest {
    const request = this.#observeRequest(registration, entry.paths, entry.composite, entry.format);
    return {
      ...request,
      method: entry.composite ? 'FETCH' : 'GET',
      peer: { address: registration.address, port: registration.port },
      token: entry.token,
      ...(entry.lastSequence === undefined ? {} : { lastSequence: entry.lastSequence }),
      lastNotifiedAt: entry.lastNotifiedAt,
    };
  }

  /**
   * Takes over an observation made by an earlier process (found in the store at `listen()`): its
   * notifications, single or block-wise, are delivered as `notification` events without an
   * Observation object. Skipped when its registration is gone or came over a transport not served here.
   */
  async #resumeObservation(stored: StoredObservation): Promise<void> {
    if (this.#live.has(stored.token)) return;
    try {
      const registration = await this.registrations.get(stored.registrationId);
      if (registration === undefined) return;
      const endpoint = this.#endpoints.get(registration.transport);
      if (endpoint === undefined) return;
      const state: ObservationState = {
        token: stored.token,
        paths: stored.paths.map((path) => parsePath(path)),
        composite: stored.composite,
        format: stored.format,
        lastSequence: undefined,
        lastNotifiedAt: Date.now(),
      };
      const coap = endpoint.adoptObservation(this.#adoptRequest(state, registration), { reregister: false });
      const entry: LiveObservation = { ...state, observation: undefined, coap, registration };
      this.#track(entry);
      void this.#pump(entry, entry.coap);
    } catch (error) {
      this.#logger.warn({ err: error, token: stored.token }, 'stored observation not resumed');
    }
  }

  async #cancelObservation(observation: Observation, active: boolean): Promise<void> {
    const entry = this.#live.get(observation.token);
    if (entry !== undefined) this.#untrack(entry);
    await this.observationStore.remove(observation.token);
    try {
      await entry?.coap.cancel({ active });
    } finally {
      observation.finish();
    }
  }

  /**
   * Cancels an observation by token, e.g. one resumed from the store after a restart: passively
   * by default (forget it; the client's next notification gets Reset), or actively (GET or FETCH
   * with Observe=1 to the client). Resolves false when no such observation is known.
   */
  async cancelObservation(token: string, options: { active?: boolean } = {}): Promise<boolean> {
    const active = options.active ?? false;
    const entry = this.#live.get(token);
    if (entry?.observation !== undefined) {
      await entry.observation.cancel({ active });
      return true;
    }
    if (entry !== undefined) {
      this.#untrack(entry);
      await this.observationStore.remove(token);
      await entry.coap.cancel({ active });
      return true;
    }
    return (await this.observationStore.remove(token)) !== undefined;
  }
}

/** Creates an LwM2M server; call `listen()` to start answering clients. */
export function createServer(options: ServerOptions): Lwm2mServer {
  return new Lwm2mServer(options);
}
