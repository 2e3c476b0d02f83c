import type { Logger, PeerAddress } from '@lwm2m/core';
import { isLwm2mError } from '@lwm2m/core';
import type { Lwm2mCodec, NotificationAttributes } from '@lwm2m/codecs';
import { formatRegistrationLinks } from '@lwm2m/codecs';
import type {
  CoapEndpoint,
  CoapResponse,
  IncomingRequest,
  OutgoingRequest,
  OutgoingResponse,
} from '@lwm2m/transport-coap';
import { CoapCode, createCoapEndpoint, formatCode, isSuccessCode } from '@lwm2m/transport-coap';
import { AttributeStore } from './attributes.js';
import type { Clock } from '@lwm2m/core';
import type { DmHost, DmOperation } from './dm-handler.js';
import { handleDeviceManagement } from './dm-handler.js';
import { Lwm2mRequestError } from './errors.js';
import type { Lwm2mVersion } from './formats.js';
import { advertisedFormats } from './formats.js';
import type { ObjectTree } from './object-tree.js';
import { Reporter } from './reporter.js';
import type { ObservedTarget, ReportingHost } from './reporter.js';
import { resolvePeer } from './transport.js';
import { connectTargetOf } from './security-target.js';
import { readNumber } from './resource-value.js';
import type { ClientContext } from './client-context.js';

/** Registration retries (TS Core 1.1 §6.2.1.1 Communication Retry Count / Timer, Sequence Delay). */
export interface RetryPolicy {
  /** Attempts in one sequence; default 5. */
  readonly attempts: number;
  /** Delay before the 2nd attempt in ms, doubled each time; default 60 s. */
  readonly initialDelay: number;
  /** Longest delay between attempts; default 1 h. */
  readonly maxDelay: number;
  /** Pause before a new sequence when no bootstrap server can help; default 24 h. */
  readonly sequenceDelay: number;
}

export const DEFAULT_RETRY: RetryPolicy = Object.freeze({
  attempts: 5,
  initialDelay: 60_000,
  maxDelay: 3_600_000,
  sequenceDelay: 86_400_000,
});

export type SessionState = 'idle' | 'registering' | 'registered' | 'disabled' | 'failed' | 'closed';

/** What a server session needs from the client. */
export interface SessionHost extends ClientContext {
  readonly retry: RetryPolicy;
  /** Queue mode awake window in ms, or undefined without queue mode. */
  readonly awakeTime: number | undefined;
  /** Largest request body reassembled from Block1 blocks (a pushed firmware package); undefined: the endpoint's default. */
  readonly maxBodySize: number | undefined;
  /** A server's CoAP endpoint was opened (the Firmware Update object follows pushed blocks on it). */
  endpointOpened(endpoint: CoapEndpoint): void;
  operation(event: DmOperation): void;
  registered(ssid: number, location: string): void;
  updated(ssid: number): void;
  registrationFailed(ssid: number, error: Error, final: boolean): void;
  deregistered(ssid: number): void;
  disabled(ssid: number, until: number): void;
  sleeping(ssid: number, asleep: boolean): void;
  notified(ssid: number, target: ObservedTarget, stored: boolean): void;
}

interface StoredNotification {
  readonly target: ObservedTarget;
  readonly payload: Uint8Array;
  readonly confirmable: boolean | undefined;
}

const MAX_STORED = 1000;

/**
 * The client's side of one LwM2M server account: its socket and CoAP endpoint, registration
 * life cycle (register, update before the lifetime ends, deregister, retries, Disable), DM
 * requests, the server's attributes and observations, and stored notifications.
 */
export class ServerSession implements DmHost, ReportingHost {
  readonly ssid: number;
  readonly securityInstanceId: number;
  readonly attributes = new AttributeStore();
  readonly #host: SessionHost;
  #state: SessionState = 'idle';
  #endpoint: CoapEndpoint | undefined;
  #peer: PeerAddress | undefined;
  #location: string[] | undefined;
  #reporter: Reporter | undefined;
  #timer: unknown;
  #awakeTimer: unknown;
  #asleep = false;
  #attempt = 0;
  #objectsChanged = false;
  #parametersChanged = false;
  #updating: Promise<void> | undefined;
  #updateAgain = false;
  #registeredLifetime = 0;
  #registeredBinding = '';
  #stored: StoredNotification[] | undefined;
  #abort = new AbortController();
  // Bound rather than an arrow: under esbuild's keepNames (tsx) every arrow also gets its own name property.
  readonly #handle: (request: IncomingRequest) => Promise<OutgoingResponse> = this.#onRequest.bind(this);

  constructor(host: SessionHost, ssid: number, securityInstanceId: number) {
    this.#host = host;
    this.ssid = ssid;
    this.securityInstanceId = securityInstanceId;
  }

  // DmHost / ReportingHost
  get version(): Lwm2mVersion {
    return this.#host.version;
  }
  get tree(): ObjectTree {
    return this.#host.tree;
  }
  get codec(): Lwm2mCodec {
    return this.#host.codec;
  }
  get logger(): Logger {
    return this.#host.logger;
  }
  get clock(): Clock {
    return this.#host.clock;
  }
  get state(): SessionState {
    return this.#state;
  }
  get asleep(): boolean {
    return this.#asleep;
  }
  /** The registration's location (`/rd/5a3f`) while registered. */
  get location(): string | undefined {
    return this.#location === undefined ? undefined : `/${this.#location.join('/')}`;
  }
  get serverUri(): string {
    return String(this.#security(0) ?? '');
  }
  /** The local address of this session's socket, once connected. */
  localAddress(): PeerAddress | undefined {
    try {
      return this.#endpoint?.address();
    } catch {
      return undefined;
    }
  }

  reporter(): Reporter {
    this.#reporter ??= new Reporter(this);
    return this.#reporter;
  }

  operation(event: DmOperation): void {
    this.#host.operation(event);
  }

  serverDefaults(): NotificationAttributes {
    const server = this.#serverInstance();
    const pmin = server?.read(2);
    const pmax = server?.read(3);
    const out: { pmin?: number; pmax?: number } = {};
    if (typeof pmin === 'number') out.pmin = pmin;
    if (typeof pmax === 'number') out.pmax = pmax;
    return out;
  }

  deliver(target: ObservedTarget, payload: Uint8Array, confirmable: boolean | undefined): void {
    if (this.#state === 'registered') {
      this.#send(target, payload, confirmable);
      return;
    }
    if (this.#server(6) === false || this.#state === 'closed') return;
    // Offline or disabled with Notification Storing on: keep it (hqmax bounds one observation's share).
    const stored = (this.#stored ??= []);
    const hqmax = this.attributes.effective(target.paths[0] ?? [], {}).hqmax;
    if (hqmax !== undefined) {
      const mine = stored.filter((s) => s.target === target);
      if (mine.length >= hqmax && mine[0] !== undefined) stored.splice(stored.indexOf(mine[0]), 1);
    }
    if (stored.length >= MAX_STORED) stored.shift();
    stored.push({ target, payload, confirmable });
    this.#host.notified(this.ssid, target, true);
  }

  #send(target: ObservedTarget, payload: Uint8Array, confirmable: boolean | undefined): void {
    this.#touch();
    const notification =
      confirmable === undefined
        ? { payload, contentFormat: target.format }
        : { payload, contentFormat: target.format, confirmable };
    target.observation.notify(notification).catch((error: unknown) => {
      this.logger.debug({ err: error, ssid: this.ssid }, 'notification not delivered');
    });
    this.#host.notified(this.ssid, target, false);
  }

  #flushStored(): void {
    const stored = this.#stored;
    this.#stored = undefined;
    if (stored === undefined) return;
    for (const s of stored) if (s.target.observation.active) this.#send(s.target, s.payload, s.confirmable);
  }

  /** Notifications waiting for the server to be reachable again. */
  get storedNotifications(): number {
    return this.#stored?.length ?? 0;
  }

  // -------------------------------------------------------------------------------------------
  // Life cycle

  /** Connects and registers (with retries); resolves once the first attempt is made. */
  async start(): Promise<void> {
    if (this.#state !== 'idle' && this.#state !== 'failed' && this.#state !== 'disabled') return;
    this.#attempt = 0;
    await this.#register();
  }

  resourceChanged(objectId: number, instanceId: number, resourceId: number): void {
    this.#reporter?.resourceChanged([objectId, instanceId, resourceId]);
  }

  /** Objects or instances changed: the next Update carries the new payload (sent now). */
  objectsChanged(): void {
    this.#objectsChanged = true;
    if (this.#state === 'registered') void this.update();
  }

  /** Lifetime or binding written. */
  parametersChanged(): void {
    this.#parametersChanged = true;
    if (this.#state === 'registered') void this.update();
  }

  /** Sends a Registration Update now (Registration Update Trigger, or the lifetime is running out). */
  update(): Promise<void> {
    if (this.#state !== 'registered') return Promise.resolve();
    if (this.#updating !== undefined) {
      this.#updateAgain = true;
      return this.#updating;
    }
    this.#updating = this.#update().finally(() => {
      this.#updating = undefined;
      if (this.#updateAgain && this.#state === 'registered') {
        this.#updateAgain = false;
        void this.update();
      }
    });
    return this.#updating;
  }

  /** Disable (1/x/4): deregister and stay away for the Disable Timeout (1/x/5, default 86400 s). */
  async disable(): Promise<void> {
    if (this.#state === 'closed') return;
    const timeout = (readNumber(this.#server(5)) ?? 86400) * 1000;
    this.#clearTimer();
    await this.#deregister();
    this.#state = 'disabled';
    const until = this.clock.now() + timeout;
    this.#host.disabled(this.ssid, until);
    this.#timer = this.clock.setTimeout(() => {
      this.#timer = undefined;
      if (this.#state === 'disabled') void this.start();
    }, timeout);
  }

  /** Deregisters (best effort) and releases the socket. Idempotent. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#clearTimer();
    this.#clearAwakeTimer();
    if (this.#state === 'registered') await this.#deregister();
    this.#state = 'closed';
    this.#abort.abort();
    this.#reporter?.close();
    this.#stored = undefined;
    const endpoint = this.#endpoint;
    this.#endpoint = undefined;
    await endpoint?.close();
  }

  async #deregister(): Promise<void> {
    const location = this.#location;
    this.#location = undefined;
    if (location === undefined || this.#state !== 'registered') return;
    this.#state = 'idle';
    try {
      const response = await this.#request({ method: 'DELETE', path: location });
      if (!isSuccessCode(response.code))
        this.logger.warn({ ssid: this.ssid, code: formatCode(response.code) }, 'deregistration refused');
    } catch (error) {
      this.logger.warn({ err: error, ssid: this.ssid }, 'deregistration failed');
    }
    this.#host.deregistered(this.ssid);
  }

  async #connect(): Promise<CoapEndpoint> {
    if (this.#endpoint !== undefined && this.#peer !== undefined) return this.#endpoint;
    const target = connectTargetOf(this.tree.instance(0, this.securityInstanceId));
    const peer = await resolvePeer(target.host, target.port);
    const socket = await this.#host.transport.connect(target, this.#abort.signal);
    if (this.#state === 'closed') {
      await socket.close();
      throw new Lwm2mRequestError('client closed while connecting');
    }
    this.#peer = peer;
    this.#endpoint = createCoapEndpoint({
      socket,
      handler: this.#handle,
      logger: this.logger,
      ...(this.#host.transmission === undefined ? {} : { transmission: this.#host.transmission }),
      ...(this.#host.maxBodySize === undefined ? {} : { maxBodySize: this.#host.maxBodySize }),
    });
    this.#host.endpointOpened(this.#endpoint);
    return this.#endpoint;
  }

  async #request(request: Omit<OutgoingRequest, 'peer'>): Promise<CoapResponse> {
    const endpoint = await this.#connect();
    this.#touch();
    return endpoint.request(
      { ...request, peer: this.#peer as PeerAddress },
      { timeout: this.#host.requestTimeout, signal: this.#abort.signal },
    );
  }

  #registrationQuery(includeAll: boolean): string[] {
    const lifetime = readNumber(this.#server(1)) ?? 86400;
    const binding = String(this.#server(7) ?? 'U');
    const queue = this.#host.awakeTime !== undefined;
    const query: string[] = [];
    if (includeAll) {
      query.push(`ep=${this.#host.endpointName}`, `lt=${lifetime}`, `lwm2m=${this.version}`);
      if (this.version === '1.0') query.push(`b=${binding}${queue && !binding.includes('Q') ? 'Q' : ''}`);
      else {
        query.push(`b=${binding.replace('Q', '')}`);
        if (queue) query.push('Q');
      }
    } else {
      if (lifetime !== this.#registeredLifetime) query.push(`lt=${lifetime}`);
      if (binding !== this.#registeredBinding) query.push(`b=${binding}`);
    }
    return query;
  }

  #links(): string {
    const formats = advertisedFormats(this.version);
    return formatRegistrationLinks(
      formats.length === 0
        ? { objects: this.tree.registrationObjects() }
        : { objects: this.tree.registrationObjects(), supportedFormats: formats },
    );
  }

  async #register(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'registering';
    this.#attempt++;
    try {
      const query = this.#registrationQuery(true);
      this.#objectsChanged = false;
      this.#parametersChanged = false;
      const response = await this.#request({
        method: 'POST',
        path: '/rd',
        query,
        contentFormat: 40,
        payload: this.#links(),
      });
      if ((this.#state as SessionState) === 'closed') return;
      if (response.code !== CoapCode.CREATED || response.locationPath.length === 0) {
        throw new Lwm2mRequestError(`registration answered ${formatCode(response.code)}`, response.code);
      }
      this.#location = [...response.locationPath];
      this.#registeredLifetime = readNumber(this.#server(1)) ?? 86400;
      this.#registeredBinding = String(this.#server(7) ?? 'U');
      this.#state = 'registered';
      this.#attempt = 0;
      this.#scheduleUpdate();
      this.#host.registered(this.ssid, this.location as string);
      this.#flushStored();
      if (this.#objectsChanged || this.#parametersChanged) void this.update();
    } catch (error) {
      if ((this.#state as SessionState) === 'closed') return;
      this.#failed(error as Error);
    }
  }

  /**
   * Forgets the connection after the server stopped answering, so the next attempt connects again:
   * over DTLS a restarted server has lost our session and silently drops its records, so only a
   * new handshake gets through (UDP gets a fresh source port, which also helps behind a NAT).
   */
  #dropConnectionUnlessAnswered(error: unknown): void {
    if (error instanceof Lwm2mRequestError && error.coapCode !== undefined) return;
    const endpoint = this.#endpoint;
    if (endpoint === undefined) return;
    this.#endpoint = undefined;
    this.#peer = undefined;
    endpoint
      .close()
      .catch((closeError: unknown) =>
        this.logger.debug({ err: closeError, ssid: this.ssid }, 'closing a dead connection failed'),
      );
  }

  #failed(error: Error): void {
    this.#dropConnectionUnlessAnswered(error);
    const retry = this.#host.retry;
    const final = this.#attempt >= retry.attempts;
    this.#state = 'failed';
    this.#location = undefined;
    this.logger.warn(
      { ssid: this.ssid, attempt: this.#attempt, err: isLwm2mError(error) ? error.message : error },
      'registration failed',
    );
    this.#host.registrationFailed(this.ssid, error, final);
    if (final) {
      // The client decides: bootstrap again, or a new sequence after sequenceDelay.
      return;
    }
    const delay = Math.min(retry.maxDelay, retry.initialDelay * 2 ** (this.#attempt - 1));
    this.#clearTimer();
    this.#timer = this.clock.setTimeout(() => {
      this.#timer = undefined;
      void this.#register();
    }, delay);
  }

  /** Starts a new registration sequence after `delay` ms (after a failed one). */
  retryLater(delay: number): void {
    if (this.#state === 'closed') return;
    this.#clearTimer();
    this.#timer = this.clock.setTimeout(() => {
      this.#timer = undefined;
      void this.start();
    }, delay);
  }

  async #update(): Promise<void> {
    const query = this.#registrationQuery(false);
    const withPayload = this.#objectsChanged;
    this.#objectsChanged = false;
    this.#parametersChanged = false;
    const location = this.#location as string[];
    try {
      const request: Omit<OutgoingRequest, 'peer'> = withPayload
        ? { method: 'POST', path: location, query, contentFormat: 40, payload: this.#links() }
        : { method: 'POST', path: location, query };
      const response = await this.#request(request);
      if (this.#state !== 'registered') return;
      if (!isSuccessCode(response.code)) {
        throw new Lwm2mRequestError(`update answered ${formatCode(response.code)}`, response.code);
      }
      this.#registeredLifetime = readNumber(this.#server(1)) ?? 86400;
      this.#registeredBinding = String(this.#server(7) ?? 'U');
      this.#scheduleUpdate();
      this.#host.updated(this.ssid);
      this.#flushStored();
    } catch (error) {
      if (this.#state !== 'registered') return;
      // 4.04: the server forgot us; anything else: it is unreachable. Either way, register again.
      this.logger.info(
        { ssid: this.ssid, err: (error as Error).message },
        'update failed; registering again',
      );
      this.#dropConnectionUnlessAnswered(error);
      this.#location = undefined;
      this.#state = 'failed';
      this.#attempt = 0;
      this.#objectsChanged = true;
      await this.#register();
    }
  }

  #scheduleUpdate(): void {
    this.#clearTimer();
    const lifetime = readNumber(this.#server(1)) ?? 86400;
    // Leave a margin for retransmissions: half the lifetime for short ones, at most 60 s before the end otherwise.
    const delay = Math.max(1, Math.max(lifetime / 2, lifetime - 60)) * 1000;
    this.#timer = this.clock.setTimeout(
      () => {
        this.#timer = undefined;
        void this.update();
      },
      Math.min(delay, lifetime * 900),
    );
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Queue mode

  /** Something goes out: awake now, asleep after the awake window. */
  #touch(): void {
    const awakeTime = this.#host.awakeTime;
    if (awakeTime === undefined) return;
    if (this.#asleep) {
      this.#asleep = false;
      this.#host.sleeping(this.ssid, false);
    }
    this.#clearAwakeTimer();
    this.#awakeTimer = this.clock.setTimeout(() => {
      this.#awakeTimer = undefined;
      if (this.#state === 'closed') return;
      this.#asleep = true;
      this.#host.sleeping(this.ssid, true);
    }, awakeTime);
  }

  #clearAwakeTimer(): void {
    if (this.#awakeTimer !== undefined) this.clock.clearTimeout(this.#awakeTimer);
    this.#awakeTimer = undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Requests from the server

  async #onRequest(request: IncomingRequest): Promise<OutgoingResponse> {
    if (this.#state === 'closed') return { code: CoapCode.SERVICE_UNAVAILABLE };
    if (this.#host.awakeTime !== undefined && !this.#asleep) this.#touch();
    return handleDeviceManagement(this, request);
  }

  /** Sends `POST /dp` (Send, TS Core 1.1 §5.4.8). */
  async sendData(
    payload: Uint8Array,
    contentFormat: number,
    options: { signal?: AbortSignal; timeout?: number },
  ): Promise<void> {
    if (this.#state !== 'registered') throw new Lwm2mRequestError(`server ${this.ssid} is not registered`);
    const endpoint = await this.#connect();
    this.#touch();
    const signal =
      options.signal === undefined
        ? this.#abort.signal
        : AbortSignal.any([options.signal, this.#abort.signal]);
    const response = await endpoint.request(
      { peer: this.#peer as PeerAddress, method: 'POST', path: '/dp', contentFormat, payload },
      { signal, timeout: options.timeout ?? this.#host.requestTimeout },
    );
    if (!isSuccessCode(response.code))
      throw new Lwm2mRequestError(`send answered ${formatCode(response.code)}`, response.code);
  }

  #serverInstance(): { read(id: number): unknown } | undefined {
    for (const id of this.tree.instanceIds(1)) {
      const instance = this.tree.instance(1, id);
      if (instance !== undefined && instance.read(0) === this.ssid) return instance;
    }
    return undefined;
  }

  #server(resourceId: number): unknown {
    return this.#serverInstance()?.read(resourceId);
  }

  #security(resourceId: number): unknown {
    return this.tree.instance(0, this.securityInstanceId)?.read(resourceId);
  }
}
