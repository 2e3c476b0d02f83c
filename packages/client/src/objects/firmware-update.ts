import { EventEmitter } from 'node:events';
import type { Logger } from '@lwm2m/core';
import { DEFAULT_TRANSMISSION } from '@lwm2m/transport-coap';
import type { Block1Progress, TransmissionParameters } from '@lwm2m/transport-coap';
import type { Clock } from '@lwm2m/core';
import { BadRequestError, ClientConfigError, FirmwareUpdateError, MethodNotAllowedError } from '../errors.js';
import { downloadCoap } from '../firmware/coap-download.js';
import { downloadHttp } from '../firmware/http-download.js';
import type { DownloadProgress } from '../firmware/http-download.js';
import {
  FirmwareProtocol,
  FirmwareSeverity,
  FirmwareState,
  UpdateResult,
} from '../firmware/update-result.js';
import type { ChangeSink, InstanceHandler, ObjectImplementation, ResourceContent } from '../instance.js';
import type { ClientTransport } from '../transport.js';
import type { ConnectSecurity } from '../security-target.js';
import { readNumber } from '../resource-value.js';

/** What {@link FirmwareUpdateInstance.watch} follows: the `block1` events of a `CoapEndpoint`. */
export interface Block1Source {
  on(event: 'block1', listener: (progress: Block1Progress) => void): unknown;
  off(event: 'block1', listener: (progress: Block1Progress) => void): unknown;
}

/** What a package is and how it came. */
export interface FirmwareMeta {
  readonly delivery: 'push' | 'pull';
  /** The Package URI of a pulled package. */
  readonly uri?: string;
  readonly size: number;
  /** From `verify`, when it told. */
  readonly name?: string;
  readonly version?: string;
}

/** What `verify` may say about a package: it becomes PkgName (5/0/6) and PkgVersion (5/0/7). */
export interface FirmwarePackageInfo {
  readonly name?: string;
  readonly version?: string;
}

/** The device's side of a firmware update. */
export interface FirmwareOptions {
  /**
   * Checks a complete package before it counts as Downloaded. Throw to refuse it: Update Result
   * 5 (integrity check failure), or the `updateResult` of a thrown {@link FirmwareUpdateError}.
   */
  verify?(
    image: Uint8Array,
    meta: FirmwareMeta,
  ): void | FirmwarePackageInfo | Promise<void | FirmwarePackageInfo>;
  /**
   * Installs the package after the server executed Update (5/0/2). Resolving means success
   * (Update Result 1, back to Idle); throwing leaves the package Downloaded with Update Result 8
   * (or the `updateResult` of a thrown {@link FirmwareUpdateError}). A device that reboots into the
   * new firmware simply never resolves.
   */
  apply(image: Uint8Array, meta: FirmwareMeta): void | Promise<void>;
  /**
   * Asked when the server executes Update, before `apply`: resolve true to defer (a user who is
   * busy, a device on battery). Deferring is allowed only while Maximum Defer Period (5/0/13) is
   * above 0; the update then waits with Update Result 11 and runs by itself when that period
   * ends, or earlier on a new Update. Without this hook updates are never deferred.
   */
  defer?(meta: FirmwareMeta, request: FirmwareDeferRequest): boolean | Promise<boolean>;
  /** Severity (5/0/11) before a server writes it; default mandatory (1). */
  readonly severity?: FirmwareSeverity;
  /** Maximum Defer Period (5/0/13) in seconds before a server writes it; default 0 (no deferral). */
  readonly maxDeferPeriod?: number;
  /** Firmware Update Delivery Method (5/0/9); default `both`. */
  readonly delivery?: 'pull' | 'push' | 'both';
  /** Firmware Update Protocol Support (5/0/8) for pull: default CoAP, CoAPS, HTTP, HTTPS (0..3). */
  readonly protocols?: readonly number[];
  /** Largest package accepted in bytes (pull; push is bounded by the client's `maxBodySize`); default 8 MiB. */
  readonly maxPackageSize?: number;
  /** Block size requested for CoAP pull (16..1024); default 1024. */
  readonly blockSize?: number;
  /** Tries per CoAP block, or failed HTTP connections in a row, before Update Result 4; default 4. */
  readonly attempts?: number;
  /** Pause before an HTTP download resumes, in ms; default 1000. */
  readonly retryDelay?: number;
  /** A push (Block1 write of 5/0/0) that stalls this long (ms) ends with Update Result 4; default 247 s. */
  readonly pushTimeout?: number;
  /** The fetch used for http(s) pull; default the global one. */
  readonly fetch?: typeof globalThis.fetch;
}

/** What `defer` is told: how urgent the server says the update is, and how long it may wait. */
export interface FirmwareDeferRequest {
  readonly severity: FirmwareSeverity;
  /** Seconds left before the update runs whatever `defer` says. */
  readonly remainingSeconds: number;
}

/** What the Firmware Update instance needs from its client. */
export interface FirmwareHost {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly transport: ClientTransport;
  readonly transmission: Partial<TransmissionParameters> | undefined;
  /** PSK credentials of a Security instance whose Server URI has this host and port. */
  securityFor(host: string, port: number): ConnectSecurity | undefined;
}

export interface FirmwareStateEvent {
  readonly state: FirmwareState;
  readonly result: UpdateResult;
}

export interface FirmwareProgressEvent extends DownloadProgress {
  readonly delivery: 'push' | 'pull';
}

export interface FirmwareEvents {
  /** State (5/0/3) or Update Result (5/0/5) changed. */
  state: [event: FirmwareStateEvent];
  /** Bytes of a package arrived (push: each Block1 block; pull: each block or chunk). */
  progress: [event: FirmwareProgressEvent];
}

const PACKAGE = 0;
const PACKAGE_URI = 1;
const UPDATE = 2;
const STATE = 3;
const UPDATE_RESULT = 5;
const PKG_NAME = 6;
const PKG_VERSION = 7;
const PROTOCOL_SUPPORT = 8;
const DELIVERY_METHOD = 9;
const CANCEL = 10;
const SEVERITY = 11;
const LAST_STATE_CHANGE = 12;
const MAX_DEFER_PERIOD = 13;

const DELIVERY = { pull: 0, push: 1, both: 2 } as const;
const SCHEMES: Readonly<Record<string, number>> = {
  'coap:': FirmwareProtocol.COAP,
  'coaps:': FirmwareProtocol.COAPS,
  'http:': FirmwareProtocol.HTTP,
  'https:': FirmwareProtocol.HTTPS,
};
const STATE_NAMES = ['Idle', 'Downloading', 'Downloaded', 'Updating'];

function resultOf(error: unknown, fallback: UpdateResult): UpdateResult {
  return error instanceof FirmwareUpdateError ? (error.updateResult as UpdateResult) : fallback;
}

/**
 * The Firmware Update instance /5/0 and its state machine (TS Core 1.1 §E.6): Idle → Downloading
 * (Package written, or Package URI written and the pull started) → Downloaded (package complete
 * and verified) → Updating (Update executed) → Idle with Update Result 1, or back to Downloaded
 * with 8. Writing an empty Package or Package URI resets to Idle from any state but Updating;
 * operations the state machine has no transition for are refused with 4.00, and errors of the
 * process itself show only in Update Result. State changes notify observers.
 */
export class FirmwareUpdateInstance extends EventEmitter<FirmwareEvents> implements InstanceHandler {
  readonly #options: FirmwareOptions;
  readonly #host: FirmwareHost;
  readonly #protocols: Map<number, number>;
  readonly #maxPackageSize: number;
  #state: FirmwareState = FirmwareState.IDLE;
  #result: UpdateResult = UpdateResult.INITIAL;
  #uri = '';
  #image: Uint8Array | undefined;
  #meta: FirmwareMeta | undefined;
  #lastChange: Date;
  #download: AbortController | undefined;
  #pushing = false;
  #pushTimer: unknown;
  #pushTotal: number | undefined;
  #lastProgress = -1;
  #sink: ChangeSink | undefined;
  #objectId = 5;
  #instanceId = 0;
  #severity: FirmwareSeverity;
  #maxDeferPeriod: number;
  /** While deferred: when the update runs by itself (ms, clock time) and its timer. */
  #deferredUntil: number | undefined;
  #deferTimer: unknown;
  /** The `defer` hook is being asked: a second Update meanwhile changes nothing. */
  #deciding = false;

  constructor(host: FirmwareHost, options: FirmwareOptions) {
    super();
    if (typeof options.apply !== 'function') throw new ClientConfigError('firmware.apply is required');
    this.#host = host;
    this.#options = options;
    const protocols = options.protocols ?? [
      FirmwareProtocol.COAP,
      FirmwareProtocol.COAPS,
      FirmwareProtocol.HTTP,
      FirmwareProtocol.HTTPS,
    ];
    this.#protocols = new Map(protocols.map((p, i) => [i, p]));
    this.#maxPackageSize = options.maxPackageSize ?? 8 * 1024 * 1024;
    this.#severity = options.severity ?? FirmwareSeverity.MANDATORY;
    this.#maxDeferPeriod = options.maxDeferPeriod ?? 0;
    this.#lastChange = new Date(host.clock.now());
  }

  get state(): FirmwareState {
    return this.#state;
  }

  get result(): UpdateResult {
    return this.#result;
  }

  // -------------------------------------------------------------------------------------------
  // InstanceHandler

  *resourceIds(): Iterable<number> {
    yield* [PACKAGE, PACKAGE_URI, UPDATE, STATE, UPDATE_RESULT];
    if (this.#meta?.name !== undefined) yield PKG_NAME;
    if (this.#meta?.version !== undefined) yield PKG_VERSION;
    yield* [PROTOCOL_SUPPORT, DELIVERY_METHOD, CANCEL, SEVERITY, LAST_STATE_CHANGE, MAX_DEFER_PERIOD];
  }

  read(resourceId: number): ResourceContent | undefined {
    switch (resourceId) {
      case PACKAGE_URI:
        return this.#uri;
      case STATE:
        return this.#state;
      case UPDATE_RESULT:
        return this.#result;
      case PKG_NAME:
        return this.#meta?.name;
      case PKG_VERSION:
        return this.#meta?.version;
      case PROTOCOL_SUPPORT:
        return this.#protocols;
      case DELIVERY_METHOD:
        return DELIVERY[this.#options.delivery ?? 'both'];
      case LAST_STATE_CHANGE:
        return this.#lastChange;
      case SEVERITY:
        return this.#severity;
      case MAX_DEFER_PERIOD:
        return this.#maxDeferPeriod;
      default:
        return undefined;
    }
  }

  write(resourceId: number, content: ResourceContent): void {
    if (resourceId === PACKAGE)
      this.#writePackage(content instanceof Uint8Array ? content : new Uint8Array(0));
    else if (resourceId === PACKAGE_URI) this.#writeUri(typeof content === 'string' ? content : '');
    else if (resourceId === SEVERITY) this.#writeSeverity(content);
    else if (resourceId === MAX_DEFER_PERIOD) this.#writeMaxDeferPeriod(content);
    else
      throw new MethodNotAllowedError(
        `resource ${resourceId} of the Firmware Update object cannot be written`,
      );
  }

  execute(resourceId: number): void {
    if (resourceId === UPDATE) this.#update();
    else if (resourceId === CANCEL) this.#cancel();
  }

  attach(sink: ChangeSink, objectId: number, instanceId: number): void {
    this.#sink = sink;
    this.#objectId = objectId;
    this.#instanceId = instanceId;
  }

  detach(): void {
    this.#sink = undefined;
    this.#download?.abort();
    this.#clearPushTimer();
    this.#clearDeferral();
  }

  #writeSeverity(content: ResourceContent): void {
    const value = readNumber(content);
    if (value !== 0 && value !== 1 && value !== 2) throw new BadRequestError('Severity must be 0, 1 or 2');
    this.#severity = value;
    this.#changed(SEVERITY);
  }

  #writeMaxDeferPeriod(content: ResourceContent): void {
    const value = readNumber(content);
    if (value === undefined || !Number.isInteger(value) || value < 0 || value > 0xffffffff)
      throw new BadRequestError('Maximum Defer Period must be whole seconds, 0 or more');
    this.#maxDeferPeriod = value;
    this.#changed(MAX_DEFER_PERIOD);
  }

  // -------------------------------------------------------------------------------------------
  // Push (Package, 5/0/0)

  #writePackage(image: Uint8Array): void {
    this.#clearPushTimer();
    const pushing = this.#pushing;
    this.#pushing = false;
    if (!pushing) this.#lastProgress = -1;
    if (image.length === 0 || (image.length === 1 && image[0] === 0)) {
      this.#reset('empty Package');
      return;
    }
    if (this.#state === FirmwareState.UPDATING)
      throw new BadRequestError('a package cannot be written while Updating');
    if (this.#state !== FirmwareState.IDLE && !(pushing && this.#state === FirmwareState.DOWNLOADING)) {
      throw new BadRequestError(
        `a package cannot be written in state ${STATE_NAMES[this.#state]}; write an empty one to reset`,
      );
    }
    if (this.#options.delivery === 'pull')
      throw new MethodNotAllowedError('this device only pulls packages (Package URI)');
    this.#emitProgress('push', image.length, image.length);
    this.#set(FirmwareState.DOWNLOADING, UpdateResult.INITIAL);
    if (image.length > this.#maxPackageSize) {
      this.#set(FirmwareState.IDLE, UpdateResult.NOT_ENOUGH_FLASH);
      return;
    }
    // The Write is answered now; verification runs after it (errors go to Update Result only).
    const owner = new AbortController();
    this.#download = owner;
    this.#host.clock.setTimeout(
      () => void this.#verify(image, { delivery: 'push', size: image.length }, owner),
      0,
    );
  }

  /**
   * Follows the Block1 blocks of Package writes that a server's CoAP endpoint takes in (the Write
   * itself sees only the reassembled body), for progress events, the Idle → Downloading
   * transition at the first block, and Update Result 2 when the package outgrows the endpoint's
   * `maxBodySize`. Returns the function that stops following.
   */
  watch(endpoint: Block1Source): () => void {
    const listener = (progress: Block1Progress): void => this.#onBlock1(progress);
    endpoint.on('block1', listener);
    return () => endpoint.off('block1', listener);
  }

  #onBlock1(progress: Block1Progress): void {
    const path = progress.path;
    if (
      path.length !== 3 ||
      path[0] !== String(this.#objectId) ||
      path[1] !== String(this.#instanceId) ||
      path[2] !== String(PACKAGE) ||
      (progress.method !== 'PUT' && progress.method !== 'POST')
    )
      return;
    if (progress.num === 0) {
      // A body announced too large (Size1) is refused by the endpoint (4.13): no transfer starts.
      if (progress.tooLarge || this.#state !== FirmwareState.IDLE || this.#options.delivery === 'pull')
        return;
      this.#pushing = true;
      this.#pushTotal = progress.size1;
      this.#lastProgress = -1;
      this.#set(FirmwareState.DOWNLOADING, UpdateResult.INITIAL);
    }
    if (!this.#pushing) return;
    if (progress.tooLarge) {
      // The endpoint answered 4.13 and dropped the transfer.
      this.#pushing = false;
      this.#clearPushTimer();
      this.#set(FirmwareState.IDLE, UpdateResult.NOT_ENOUGH_FLASH);
      return;
    }
    this.#emitProgress('push', progress.received, this.#pushTotal);
    this.#clearPushTimer();
    this.#pushTimer = this.#host.clock.setTimeout(() => {
      this.#pushTimer = undefined;
      if (!this.#pushing) return;
      this.#pushing = false;
      this.#host.logger.warn('firmware push stalled');
      this.#set(FirmwareState.IDLE, UpdateResult.CONNECTION_LOST);
    }, this.#options.pushTimeout ?? 247_000);
  }

  #clearPushTimer(): void {
    if (this.#pushTimer !== undefined) this.#host.clock.clearTimeout(this.#pushTimer);
    this.#pushTimer = undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Pull (Package URI, 5/0/1)

  #writeUri(uri: string): void {
    if (uri === '') {
      this.#reset('empty Package URI');
      return;
    }
    if (this.#state !== FirmwareState.IDLE) {
      throw new BadRequestError(
        `Package URI cannot be written in state ${STATE_NAMES[this.#state]}; write an empty one to reset`,
      );
    }
    if (this.#options.delivery === 'push')
      throw new MethodNotAllowedError('this device only accepts pushed packages (Package)');
    this.#uri = uri;
    this.#changed(PACKAGE_URI);
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      this.#set(FirmwareState.IDLE, UpdateResult.INVALID_URI);
      return;
    }
    const protocol = SCHEMES[url.protocol];
    if (protocol === undefined || ![...this.#protocols.values()].includes(protocol)) {
      this.#set(FirmwareState.IDLE, UpdateResult.UNSUPPORTED_PROTOCOL);
      return;
    }
    if (url.hostname === '') {
      this.#set(FirmwareState.IDLE, UpdateResult.INVALID_URI);
      return;
    }
    this.#lastProgress = -1;
    this.#set(FirmwareState.DOWNLOADING, UpdateResult.INITIAL);
    const owner = new AbortController();
    this.#download = owner;
    this.#host.clock.setTimeout(() => void this.#pull(url, owner), 0);
  }

  async #pull(url: URL, owner: AbortController): Promise<void> {
    const onProgress = (progress: DownloadProgress): void => {
      if (this.#download === owner) this.#emitProgress('pull', progress.received, progress.total);
    };
    const attempts = this.#options.attempts ?? 4;
    let image: Uint8Array;
    try {
      if (url.protocol === 'coap:' || url.protocol === 'coaps:') {
        image = await downloadCoap(url, {
          connect: (target, signal) => this.#host.transport.connect(target, signal),
          security: this.#host.securityFor(
            url.hostname,
            url.port === '' ? (url.protocol === 'coaps:' ? 5684 : 5683) : Number(url.port),
          ),
          transmission: { ...DEFAULT_TRANSMISSION, ...this.#host.transmission },
          clock: this.#host.clock,
          blockSize: this.#options.blockSize ?? 1024,
          maxSize: this.#maxPackageSize,
          attempts,
          signal: owner.signal,
          onProgress,
        });
      } else {
        image = await downloadHttp(url, {
          fetch: this.#options.fetch ?? globalThis.fetch,
          clock: this.#host.clock,
          maxSize: this.#maxPackageSize,
          attempts,
          retryDelay: this.#options.retryDelay ?? 1000,
          signal: owner.signal,
          onProgress,
        });
      }
    } catch (error) {
      if (this.#download !== owner) return; // reset or cancelled meanwhile
      this.#download = undefined;
      this.#host.logger.warn({ err: error, uri: url.href }, 'firmware download failed');
      this.#set(FirmwareState.IDLE, resultOf(error, UpdateResult.CONNECTION_LOST));
      return;
    }
    if (this.#download !== owner) return;
    await this.#verify(image, { delivery: 'pull', uri: url.href, size: image.length }, owner);
  }

  // -------------------------------------------------------------------------------------------
  // Downloaded, Update, reset

  async #verify(image: Uint8Array, meta: FirmwareMeta, owner: AbortController): Promise<void> {
    let info: void | FirmwarePackageInfo;
    try {
      info = await this.#options.verify?.(image, meta);
    } catch (error) {
      if (this.#download !== owner) return;
      this.#download = undefined;
      this.#host.logger.warn({ err: error }, 'firmware package refused');
      this.#set(FirmwareState.IDLE, resultOf(error, UpdateResult.INTEGRITY_FAILURE));
      return;
    }
    if (this.#download !== owner) return;
    this.#download = undefined;
    this.#image = image;
    const full: { -readonly [K in keyof FirmwareMeta]: FirmwareMeta[K] } = { ...meta };
    if (info?.name !== undefined) full.name = info.name;
    if (info?.version !== undefined) full.version = info.version;
    this.#meta = full;
    this.#set(FirmwareState.DOWNLOADED, UpdateResult.INITIAL);
    this.#changed(PKG_NAME);
    this.#changed(PKG_VERSION);
  }

  #update(): void {
    if (this.#state !== FirmwareState.DOWNLOADED || this.#image === undefined || this.#meta === undefined) {
      throw new BadRequestError(`Update needs a Downloaded package; state is ${STATE_NAMES[this.#state]}`);
    }
    const image = this.#image;
    const meta = this.#meta;
    if (this.#deciding) return;
    if (
      this.#options.defer === undefined ||
      (this.#maxDeferPeriod === 0 && this.#deferredUntil === undefined)
    ) {
      this.#clearDeferral();
      this.#set(FirmwareState.UPDATING, UpdateResult.INITIAL);
      // Apply after the Execute is answered: the server hears 2.04 before the device goes away.
      this.#host.clock.setTimeout(() => void this.#apply(image, meta), 0);
      return;
    }
    this.#deciding = true;
    this.#host.clock.setTimeout(
      () =>
        void this.#updateOrDefer(image, meta).finally(() => {
          this.#deciding = false;
        }),
      0,
    );
  }

  /** Runs the update now, or defers it while `defer` asks to and Maximum Defer Period allows. */
  async #updateOrDefer(image: Uint8Array, meta: FirmwareMeta): Promise<void> {
    if (this.#state !== FirmwareState.DOWNLOADED || this.#image !== image) return;
    const now = this.#host.clock.now();
    // A new Update while deferred keeps the first deadline: deferring cannot be stretched.
    const until = this.#deferredUntil ?? now + this.#maxDeferPeriod * 1000;
    let defer = false;
    if (this.#options.defer !== undefined && until > now) {
      try {
        defer = await this.#options.defer(meta, {
          severity: this.#severity,
          remainingSeconds: Math.ceil((until - now) / 1000),
        });
      } catch (error) {
        this.#host.logger.warn({ err: error }, 'firmware defer hook failed; updating');
      }
      // The package may have been reset or cancelled while the hook ran.
      if (this.#state !== FirmwareState.DOWNLOADED || this.#image !== image) return;
    }
    if (defer === true && until > this.#host.clock.now()) {
      this.#deferredUntil = until;
      if (this.#deferTimer === undefined) {
        this.#deferTimer = this.#host.clock.setTimeout(
          () => {
            this.#deferTimer = undefined;
            this.#deferredUntil = undefined;
            if (this.#state === FirmwareState.DOWNLOADED && this.#image === image)
              this.#startApply(image, meta);
          },
          Math.max(0, until - this.#host.clock.now()),
        );
      }
      this.#set(FirmwareState.DOWNLOADED, UpdateResult.DEFERRED);
      return;
    }
    this.#startApply(image, meta);
  }

  #startApply(image: Uint8Array, meta: FirmwareMeta): void {
    this.#clearDeferral();
    this.#set(FirmwareState.UPDATING, UpdateResult.INITIAL);
    void this.#apply(image, meta);
  }

  #clearDeferral(): void {
    if (this.#deferTimer !== undefined) this.#host.clock.clearTimeout(this.#deferTimer);
    this.#deferTimer = undefined;
    this.#deferredUntil = undefined;
  }

  async #apply(image: Uint8Array, meta: FirmwareMeta): Promise<void> {
    try {
      await this.#options.apply(image, meta);
    } catch (error) {
      if (this.#state !== FirmwareState.UPDATING) return;
      this.#host.logger.warn({ err: error }, 'firmware update failed');
      this.#set(FirmwareState.DOWNLOADED, resultOf(error, UpdateResult.UPDATE_FAILED));
      return;
    }
    if (this.#state !== FirmwareState.UPDATING) return;
    this.#image = undefined;
    this.#set(FirmwareState.IDLE, UpdateResult.SUCCESS);
  }

  #cancel(): void {
    if (this.#state !== FirmwareState.DOWNLOADING && this.#state !== FirmwareState.DOWNLOADED) {
      throw new BadRequestError(`nothing to cancel in state ${STATE_NAMES[this.#state]}`);
    }
    this.#stop();
    this.#set(FirmwareState.IDLE, UpdateResult.CANCELLED);
  }

  #reset(why: string): void {
    if (this.#state === FirmwareState.UPDATING)
      throw new BadRequestError(`cannot reset (${why}) while Updating`);
    this.#stop();
    if (this.#uri !== '') {
      this.#uri = '';
      this.#changed(PACKAGE_URI);
    }
    this.#set(FirmwareState.IDLE, UpdateResult.INITIAL);
  }

  #stop(): void {
    this.#clearDeferral();
    this.#download?.abort();
    this.#download = undefined;
    this.#pushing = false;
    this.#clearPushTimer();
    this.#image = undefined;
    if (this.#meta !== undefined) {
      this.#meta = undefined;
      this.#changed(PKG_NAME);
      this.#changed(PKG_VERSION);
    }
  }

  #set(state: FirmwareState, result: UpdateResult): void {
    const stateChanged = state !== this.#state;
    const resultChanged = result !== this.#result;
    if (!stateChanged && !resultChanged) return;
    this.#state = state;
    this.#result = result;
    if (stateChanged) {
      this.#lastChange = new Date(this.#host.clock.now());
      this.#changed(STATE);
      this.#changed(LAST_STATE_CHANGE);
    }
    if (resultChanged) this.#changed(UPDATE_RESULT);
    this.emit('state', { state, result });
  }

  #emitProgress(delivery: 'push' | 'pull', received: number, total: number | undefined): void {
    // A retransmitted block, or the last block seen both here and by the Write: report it once.
    if (received === this.#lastProgress) return;
    this.#lastProgress = received;
    this.emit('progress', { delivery, received, total });
  }

  #changed(resourceId: number): void {
    this.#sink?.resourceChanged(this.#objectId, this.#instanceId, resourceId);
  }
}

/** Object 5 with its single instance. */
export function firmwareUpdateObject(instance: FirmwareUpdateInstance): ObjectImplementation {
  return { id: 5, instances: { 0: instance } };
}
