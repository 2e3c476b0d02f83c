import { EventEmitter } from 'node:events';
import {
  ContentFormat,
  createCoreObjectRegistry,
  createSilentLogger,
  formatPath,
  parsePath,
} from '@lwm2m/core';
import type { Logger, Lwm2mNode, Lwm2mPath, ObjectRegistry, PeerAddress } from '@lwm2m/core';
import type { Lwm2mCodec } from '@lwm2m/codecs';
import { createCodec } from '@lwm2m/codecs';
import type { CoapEndpoint, TransmissionParameters } from '@lwm2m/transport-coap';
import type { BootstrapHost, BootstrapOperation } from './bootstrap.js';
import { BootstrapSession } from './bootstrap.js';
import type { Clock } from '@lwm2m/core';
import { systemClock } from '@lwm2m/core';
import type { DmOperation } from './dm-handler.js';
import { ClientConfigError, Lwm2mRequestError } from './errors.js';
import type { Lwm2mVersion } from './formats.js';
import type { InstanceHandler, ObjectImplementation } from './instance.js';
import { LOCAL_CONTEXT, ObjectTree } from './object-tree.js';
import type { TreeListener } from './object-tree.js';
import { AccessControl, accessControlObject } from './objects/access-control.js';
import type { AccessControlEntry } from './objects/access-control.js';
import type { FirmwareHost, FirmwareOptions } from './objects/firmware-update.js';
import { FirmwareUpdateInstance, firmwareUpdateObject } from './objects/firmware-update.js';
import type { DeviceInfo } from './objects/device.js';
import { DeviceInstance, deviceObject } from './objects/device.js';
import type { SecurityConfig } from './objects/security.js';
import { securityInstance, securityObject } from './objects/security.js';
import type { ServerActions, ServerConfig } from './objects/server.js';
import { ServerInstance, serverObject } from './objects/server.js';
import type { ObservedTarget } from './reporter.js';
import type { RetryPolicy, SessionHost, SessionState } from './session.js';
import { DEFAULT_RETRY, ServerSession } from './session.js';
import type { ClientTransport, ConnectTarget } from './transport.js';
import type { ConnectSecurity } from './security-target.js';
import { connectTargetOf } from './security-target.js';
import { readNumber } from './resource-value.js';

/** One LwM2M server the client registers to: its Security (0) and Server (1) settings. */
export interface ServerAccount extends Omit<SecurityConfig, 'bootstrap' | 'ssid'>, ServerConfig {}

/** The bootstrap server account. */
export type BootstrapAccount = Omit<SecurityConfig, 'bootstrap' | 'ssid'>;

export interface ClientOptions {
  /** Endpoint Client Name (`ep`). */
  readonly endpoint: string;
  readonly transport: ClientTransport;
  /** Object definitions; default the core objects. Add your DDFs to it for your own objects. */
  readonly registry?: ObjectRegistry;
  /** Share one codec between many clients of one process (it holds no per-client state). */
  readonly codec?: Lwm2mCodec;
  /** Servers to register to (a Security and a Server instance each). */
  readonly servers?: readonly ServerAccount[];
  /** A bootstrap server: used at start when no server is configured, and when every server fails. */
  readonly bootstrap?: BootstrapAccount;
  readonly device?: DeviceInfo;
  /** Further objects (4, 5, 6, 7, 3303 from this package, or your own). */
  readonly objects?: readonly ObjectImplementation[];
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Default 1.1. */
  readonly version?: Lwm2mVersion;
  /** Queue mode: `true` (awake window 93 s) or `{ awakeTime }` in ms. */
  readonly queueMode?: boolean | { readonly awakeTime?: number };
  readonly retry?: Partial<RetryPolicy>;
  /** CoAP transmission parameters (RFC 7252 §4.8) of every endpoint the client opens. */
  readonly transmission?: Partial<TransmissionParameters>;
  /** Timeout of one register/update/send/bootstrap request in ms; default 93 s (CoAP MAX_TRANSMIT_WAIT). */
  readonly requestTimeout?: number;
  /** How long to wait for Bootstrap-Finish in ms; default the account timeout (0/x/12) or 120 s. */
  readonly bootstrapTimeout?: number;
  /**
   * Largest request body a server may send in Block1 blocks (a pushed firmware package), in bytes;
   * larger ones get 4.13. Default the CoAP endpoint's (8 MiB).
   */
  readonly maxBodySize?: number;
  /** Adds the Firmware Update object /5/0 with these hooks (see {@link FirmwareOptions}). */
  readonly firmware?: FirmwareOptions;
  /** Access Control instances (object 2) to start with; checked when there is more than one server. */
  readonly accessControl?: readonly AccessControlEntry[];
}

export interface RegistrationInfo {
  readonly ssid: number;
  readonly uri: string;
  readonly location: string;
}

export interface RegistrationFailure {
  readonly ssid: number;
  readonly error: Error;
  /** True when the retry sequence is exhausted. */
  readonly final: boolean;
}

export interface NotifyInfo {
  readonly ssid: number;
  readonly paths: readonly Lwm2mPath[];
  /** Kept for later: the server is offline and Notification Storing is on. */
  readonly stored: boolean;
}

/** Typed events of a {@link Lwm2mClient}. */
export interface ClientEvents {
  'bootstrap-started': [info: { uri: string }];
  'bootstrap-finished': [info: { uri: string }];
  'bootstrap-failed': [info: { uri: string; error: Error }];
  /** Each Bootstrap-Discover/Read/Write/Delete/Finish. */
  'bootstrap-operation': [operation: BootstrapOperation];
  registered: [info: RegistrationInfo];
  updated: [info: { ssid: number }];
  'registration-failed': [info: RegistrationFailure];
  deregistered: [info: { ssid: number }];
  disabled: [info: { ssid: number; until: number }];
  /** Every DM operation a server performed; also emitted under its own name below. */
  operation: [operation: DmOperation];
  read: [operation: DmOperation];
  discover: [operation: DmOperation];
  write: [operation: DmOperation];
  'write-attributes': [operation: DmOperation];
  execute: [operation: DmOperation];
  create: [operation: DmOperation];
  delete: [operation: DmOperation];
  observe: [operation: DmOperation];
  'observe-composite': [operation: DmOperation];
  'read-composite': [operation: DmOperation];
  'write-composite': [operation: DmOperation];
  notify: [info: NotifyInfo];
  /** Queue mode: the awake window ended. */
  sleep: [info: { ssid: number }];
  /** Queue mode: something goes out again. */
  wake: [info: { ssid: number }];
}

export interface SessionInfo {
  readonly ssid: number;
  readonly uri: string;
  readonly state: SessionState;
  readonly location: string | undefined;
  readonly asleep: boolean;
  readonly storedNotifications: number;
}

const DEFAULT_AWAKE_TIME = 93_000;
/** The logger of clients given none; it keeps no state, so one serves them all. */
const SILENT_LOGGER: Logger = Object.freeze(createSilentLogger());

/**
 * An LwM2M client: an object tree served to every configured server over one socket per server,
 * with bootstrap, registration life cycle, reporting, Send and queue mode. Create it with
 * {@link createClient}, then `start()`; `close()` deregisters.
 */
export class Lwm2mClient
  extends EventEmitter<ClientEvents>
  implements SessionHost, BootstrapHost, TreeListener, ServerActions, FirmwareHost
{
  readonly endpointName: string;
  readonly version: Lwm2mVersion;
  readonly tree: ObjectTree;
  readonly codec: Lwm2mCodec;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly transport: ClientTransport;
  readonly retry: RetryPolicy;
  readonly transmission: Partial<TransmissionParameters> | undefined;
  readonly awakeTime: number | undefined;
  readonly requestTimeout: number;
  /** The Device instance /3/0. */
  readonly device: DeviceInstance;
  /** The Firmware Update instance /5/0 when the `firmware` option is set: `state` and `progress` events. */
  readonly firmware: FirmwareUpdateInstance | undefined;
  readonly maxBodySize: number | undefined;
  readonly #bootstrapTimeout: number | undefined;
  readonly #sessions = new Map<number, ServerSession>();
  #bootstrap: BootstrapSession | undefined;
  #bootstrapping: Promise<void> | undefined;
  #started = false;
  #closed: Promise<void> | undefined;
  #waits: Set<() => void> | undefined;

  constructor(options: ClientOptions) {
    super();
    if (typeof options.endpoint !== 'string' || options.endpoint === '')
      throw new ClientConfigError('endpoint name required');
    this.endpointName = options.endpoint;
    this.version = options.version ?? '1.1';
    if (this.version !== '1.0' && this.version !== '1.1' && this.version !== '1.2') {
      throw new ClientConfigError(`unsupported LwM2M version ${String(this.version)}`);
    }
    const registry = options.registry ?? createCoreObjectRegistry();
    this.codec = options.codec ?? createCodec({ registry });
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? SILENT_LOGGER;
    this.transport = options.transport;
    this.retry = options.retry === undefined ? DEFAULT_RETRY : { ...DEFAULT_RETRY, ...options.retry };
    this.transmission = options.transmission;
    this.requestTimeout = options.requestTimeout ?? 93_000;
    this.#bootstrapTimeout = options.bootstrapTimeout;
    this.maxBodySize = options.maxBodySize;
    const queue = options.queueMode;
    this.awakeTime =
      queue === undefined || queue === false
        ? undefined
        : queue === true
          ? DEFAULT_AWAKE_TIME
          : (queue.awakeTime ?? DEFAULT_AWAKE_TIME);

    this.tree = new ObjectTree(registry);
    const securities = new Map<number, InstanceHandler>();
    const servers = new Map<number, InstanceHandler>();
    let securityId = 0;
    if (options.bootstrap !== undefined)
      securities.set(securityId++, securityInstance({ ...options.bootstrap, bootstrap: true }));
    for (const [index, account] of (options.servers ?? []).entries()) {
      if (!Number.isInteger(account.ssid) || account.ssid < 1 || account.ssid > 65534) {
        throw new ClientConfigError(`server ${account.uri}: ssid must be 1..65534`);
      }
      securities.set(securityId++, securityInstance({ ...account, bootstrap: false }));
      servers.set(index, new ServerInstance(this, account));
    }
    this.device = new DeviceInstance(this.clock, options.device, this.awakeTime === undefined ? 'U' : 'UQ');
    // Start instances are added one by one rather than handed over in the implementations, which
    // the tree keeps (they create instances): their maps would stay with every client for good.
    this.tree.addObject(securityObject());
    for (const [id, handler] of securities) this.tree.addInstance(0, id, handler);
    this.tree.addObject(serverObject(this));
    for (const [id, handler] of servers) this.tree.addInstance(1, id, handler);
    this.tree.addObject(accessControlObject(options.accessControl));
    this.tree.addObject(deviceObject(this.device));
    this.firmware =
      options.firmware === undefined ? undefined : new FirmwareUpdateInstance(this, options.firmware);
    if (this.firmware !== undefined) this.tree.addObject(firmwareUpdateObject(this.firmware));
    for (const object of options.objects ?? []) this.tree.addObject(object);
    this.tree.setAccessControl(new AccessControl(this.tree));
    this.tree.setListener(this);
  }

  // -------------------------------------------------------------------------------------------
  // Public API

  /**
   * Registers to every configured server, or bootstraps first when there is none. Resolves once
   * the attempts are under way; follow `registered` / `registration-failed` / `bootstrap-*`.
   */
  async start(): Promise<void> {
    if (this.#closed !== undefined) throw new ClientConfigError('client closed');
    if (this.#started) return;
    this.#started = true;
    if (this.#dmAccounts().length > 0) {
      this.#startSessions();
      return;
    }
    if (this.#bootstrapAccount() === undefined)
      throw new ClientConfigError('no server and no bootstrap server configured');
    void this.#runBootstrap();
  }

  /** Deregisters from every server and closes every socket. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Tells observers that a resource of a plain handler changed (StoredInstance.set does it for you). */
  changed(path: string | Lwm2mPath): void {
    const p = typeof path === 'string' ? parsePath(path) : path;
    const [objectId, instanceId, resourceId] = p;
    if (objectId === undefined || instanceId === undefined || resourceId === undefined)
      throw new ClientConfigError('changed() takes a resource path');
    this.resourceChanged(objectId, instanceId, resourceId);
  }

  /** Reads a path locally, as a server would see it. */
  read(path: string | Lwm2mPath): Promise<Lwm2mNode> {
    return this.tree.read(typeof path === 'string' ? parsePath(path) : path, LOCAL_CONTEXT);
  }

  addInstance(objectId: number, instanceId: number, handler: InstanceHandler): void {
    this.tree.addInstance(objectId, instanceId, handler);
  }

  removeInstance(objectId: number, instanceId: number): boolean {
    return this.tree.removeInstance(objectId, instanceId);
  }

  instance(objectId: number, instanceId: number): InstanceHandler | undefined {
    return this.tree.instance(objectId, instanceId);
  }

  /** The state of each server session. */
  sessions(): SessionInfo[] {
    return [...this.#sessions.values()].map((s) => ({
      ssid: s.ssid,
      uri: s.serverUri,
      state: s.state,
      location: s.location,
      asleep: s.asleep,
      storedNotifications: s.storedNotifications,
    }));
  }

  /** The local address of the socket serving a server (where it sends DM requests). */
  localAddress(ssid: number): PeerAddress | undefined {
    return this.#sessions.get(ssid)?.localAddress();
  }

  /**
   * Send (TS Core 1.1 §5.4.8): reads the paths and posts them to `/dp` as SenML CBOR, to `ssid`
   * or the first registered server. Rejects on LwM2M 1.0, when Mute Send (1/x/23) is set, or
   * when the server refuses.
   */
  async send(
    paths: readonly (string | Lwm2mPath)[],
    options: { ssid?: number; signal?: AbortSignal; timeout?: number } = {},
  ): Promise<void> {
    if (this.version === '1.0') throw new ClientConfigError('Send needs LwM2M 1.1');
    const session =
      options.ssid === undefined
        ? [...this.#sessions.values()].find((s) => s.state === 'registered')
        : this.#sessions.get(options.ssid);
    if (session === undefined || session.state !== 'registered')
      throw new Lwm2mRequestError('no registered server to send to');
    for (const id of this.tree.instanceIds(1)) {
      const server = this.tree.instance(1, id);
      if (server?.read(0) === session.ssid && server.read(23) === true)
        throw new Lwm2mRequestError(`Mute Send is set for server ${session.ssid}`);
    }
    const nodes = new Map<string, Lwm2mNode>();
    for (const path of paths) {
      const p = typeof path === 'string' ? parsePath(path) : path;
      nodes.set(formatPath(p), await this.tree.read(p, LOCAL_CONTEXT));
    }
    const payload = this.codec.encodeComposite(ContentFormat.SENML_CBOR, nodes);
    await session.sendData(payload, ContentFormat.SENML_CBOR, options);
  }

  /** Starts a client-initiated bootstrap now (as the Bootstrap-Request Trigger does). */
  async requestBootstrap(): Promise<void> {
    if (this.#bootstrapAccount() === undefined) throw new ClientConfigError('no bootstrap server configured');
    await this.#closeSessions(true);
    await this.#runBootstrap();
  }

  // -------------------------------------------------------------------------------------------
  // Sessions

  #dmAccounts(): { ssid: number; securityId: number }[] {
    const accounts: { ssid: number; securityId: number }[] = [];
    const serverSsids = new Set<number>();
    for (const id of this.tree.instanceIds(1)) {
      const ssid = readNumber(this.tree.instance(1, id)?.read(0));
      if (ssid !== undefined) serverSsids.add(ssid);
    }
    for (const id of this.tree.instanceIds(0)) {
      const security = this.tree.instance(0, id);
      if (security === undefined || security.read(1) === true) continue;
      const ssid = readNumber(security.read(10));
      if (ssid !== undefined && serverSsids.has(ssid)) accounts.push({ ssid, securityId: id });
    }
    return accounts;
  }

  #bootstrapAccount(): number | undefined {
    for (const id of this.tree.instanceIds(0)) if (this.tree.instance(0, id)?.read(1) === true) return id;
    return undefined;
  }

  #startSessions(): void {
    for (const { ssid, securityId } of this.#dmAccounts()) {
      if (this.#sessions.has(ssid)) continue;
      const session = new ServerSession(this, ssid, securityId);
      this.#sessions.set(ssid, session);
      void session.start();
    }
  }

  async #closeSessions(deregister: boolean): Promise<void> {
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(sessions.map((s) => (deregister ? s.close() : s.close())));
  }

  async #close(): Promise<void> {
    for (const wake of this.#waits ?? []) wake();
    await this.#bootstrap?.close();
    await this.#closeSessions(true);
    this.tree.close();
  }

  /** Waits `ms` on the client clock; resolves false when the client closes first. */
  #wait(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const waits = (this.#waits ??= new Set());
      const done = (): void => {
        waits.delete(done);
        this.clock.clearTimeout(handle);
        resolve(this.#closed === undefined);
      };
      const handle = this.clock.setTimeout(done, ms);
      waits.add(done);
    });
  }

  #runBootstrap(): Promise<void> {
    this.#bootstrapping ??= this.#bootstrapLoop().finally(() => {
      this.#bootstrapping = undefined;
    });
    return this.#bootstrapping;
  }

  async #bootstrapLoop(): Promise<void> {
    const securityId = this.#bootstrapAccount();
    if (securityId === undefined) return;
    const security = this.tree.instance(0, securityId);
    const uri = String(security?.read(0) ?? '');
    const holdOff = readNumber(security?.read(11)) ?? 0;
    if (holdOff > 0 && !(await this.#wait(holdOff * 1000))) return;
    const accountTimeout = readNumber(security?.read(12));
    const timeout =
      this.#bootstrapTimeout ??
      (accountTimeout !== undefined && accountTimeout > 0 ? accountTimeout * 1000 : 120_000);
    for (let attempt = 1; this.#closed === undefined; attempt++) {
      const session = new BootstrapSession(this, securityId);
      this.#bootstrap = session;
      this.emit('bootstrap-started', { uri });
      try {
        await session.run(timeout);
        await session.close();
        this.#bootstrap = undefined;
        if (this.#closed !== undefined) return;
        this.emit('bootstrap-finished', { uri });
        this.#startSessions();
        return;
      } catch (error) {
        await session.close();
        this.#bootstrap = undefined;
        if (this.#closed !== undefined) return;
        this.logger.warn({ err: error, attempt }, 'bootstrap failed');
        this.emit('bootstrap-failed', { uri, error: error as Error });
        const delay =
          attempt >= this.retry.attempts
            ? this.retry.sequenceDelay
            : Math.min(this.retry.maxDelay, this.retry.initialDelay * 2 ** (attempt - 1));
        if (attempt >= this.retry.attempts) attempt = 0;
        if (!(await this.#wait(delay))) return;
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // SessionHost / BootstrapHost

  operation(event: DmOperation): void {
    this.emit('operation', event);
    this.emit(event.operation, event);
  }

  bootstrapOperation(event: BootstrapOperation): void {
    this.emit('bootstrap-operation', event);
  }

  configurationUsable(): boolean {
    return this.#dmAccounts().length > 0;
  }

  endpointOpened(endpoint: CoapEndpoint): void {
    this.firmware?.watch(endpoint);
  }

  /** FirmwareHost: credentials of the Security instance whose Server URI names this host and port. */
  securityFor(host: string, port: number): ConnectSecurity | undefined {
    for (const id of this.tree.instanceIds(0)) {
      let target: ConnectTarget;
      try {
        target = connectTargetOf(this.tree.instance(0, id));
      } catch {
        continue;
      }
      if (target.host === host && target.port === port && target.security !== undefined)
        return target.security;
    }
    return undefined;
  }

  registered(ssid: number, location: string): void {
    this.emit('registered', { ssid, uri: this.#sessions.get(ssid)?.serverUri ?? '', location });
  }

  updated(ssid: number): void {
    this.emit('updated', { ssid });
  }

  registrationFailed(ssid: number, error: Error, final: boolean): void {
    this.emit('registration-failed', { ssid, error, final });
    if (!final || this.#closed !== undefined) return;
    const sessions = [...this.#sessions.values()];
    const allFailed = sessions.every((s) => s.state === 'failed' || s.state === 'closed');
    if (allFailed && this.#bootstrapAccount() !== undefined) {
      // Every server is out of reach: ask the bootstrap server for a new configuration.
      void this.#closeSessions(false).then(() => this.#runBootstrap());
      return;
    }
    this.#sessions.get(ssid)?.retryLater(this.retry.sequenceDelay);
  }

  deregistered(ssid: number): void {
    this.emit('deregistered', { ssid });
  }

  disabled(ssid: number, until: number): void {
    this.emit('disabled', { ssid, until });
  }

  sleeping(ssid: number, asleep: boolean): void {
    if (asleep) this.emit('sleep', { ssid });
    else this.emit('wake', { ssid });
  }

  notified(ssid: number, target: ObservedTarget, stored: boolean): void {
    this.emit('notify', { ssid, paths: target.paths, stored });
  }

  // TreeListener
  resourceChanged(objectId: number, instanceId: number, resourceId: number): void {
    for (const session of this.#sessions.values()) session.resourceChanged(objectId, instanceId, resourceId);
  }

  instancesChanged(objectId: number): void {
    if (objectId === 0) return;
    for (const session of this.#sessions.values()) session.objectsChanged();
  }

  // ServerActions (from the Server object's executables and writes); run after the response goes out.
  disable(ssid: number): void {
    this.clock.setTimeout(() => void this.#sessions.get(ssid)?.disable(), 0);
  }

  triggerUpdate(ssid: number): void {
    this.clock.setTimeout(() => void this.#sessions.get(ssid)?.update(), 0);
  }

  triggerBootstrap(): void {
    this.clock.setTimeout(
      () =>
        void this.requestBootstrap().catch((error: unknown) =>
          this.logger.warn({ err: error }, 'bootstrap trigger failed'),
        ),
      0,
    );
  }

  registrationParametersChanged(ssid: number): void {
    this.#sessions.get(ssid)?.parametersChanged();
  }
}

/** Creates a client; nothing is sent before `start()`. */
export function createClient(options: ClientOptions): Lwm2mClient {
  return new Lwm2mClient(options);
}
