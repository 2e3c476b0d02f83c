import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  ClosedError,
  ContentFormat,
  createCoreObjectRegistry,
  createSilentLogger,
  formatPeer,
  identityMatches,
} from '@lwm2m/core';
import type {
  DatagramSocket,
  Logger,
  ObjectRegistry,
  PeerAddress,
  PeerIdentity,
  SecurityStore,
} from '@lwm2m/core';
import { createCodec } from '@lwm2m/codecs';
import type { Lwm2mCodec } from '@lwm2m/codecs';
import { CoapCode, createCoapEndpoint } from '@lwm2m/transport-coap';
import type {
  CoapEndpoint,
  IncomingRequest,
  OutgoingResponse,
  TransmissionParameters,
} from '@lwm2m/transport-coap';
import { parseBootstrapQuery } from './bootstrap-request.js';
import { systemClock } from '@lwm2m/core';
import type { Clock } from '@lwm2m/core';
import type { BootstrapConfig } from './config.js';
import type { BootstrapConfigStore } from './config-store.js';
import { validateBootstrapConfig } from './config-validation.js';
import { isEndpointPattern } from './endpoint-pattern.js';
import { bootstrapSecurityInfo, serverSecurityInfo } from './instances.js';
import { BootstrapSession } from './session.js';
import type {
  BootstrapFailedEvent,
  BootstrapFinishEvent,
  BootstrapSessionInfo,
  SessionHost,
} from './session.js';

export interface BootstrapServerOptions {
  /** Sockets to serve (UDP from `createUdpSocket`, a DTLS server…); closed by `close()`. */
  readonly sockets?: readonly DatagramSocket[];
  /** CoAP endpoints to serve instead (or as well); `close()` detaches from them but leaves them open. */
  readonly endpoints?: readonly CoapEndpoint[];
  readonly configStore: BootstrapConfigStore;
  /**
   * Where the LwM2M server credentials of a config go at the start of a session, so an LwM2M
   * server sharing this store accepts the device when it registers.
   */
  readonly securityStore?: SecurityStore;
  /** Types the values read with Bootstrap-Read; the core objects by default. */
  readonly registry?: ObjectRegistry;
  readonly logger?: Logger;
  /** Milliseconds from the Bootstrap-Request to the answer to Bootstrap-Finish. Default 120 s. */
  readonly sessionTimeout?: number;
  /** Milliseconds one request of a session may take. Default 93 s (CoAP MAX_TRANSMIT_WAIT). */
  readonly requestTimeout?: number;
  /** The answer to a Bootstrap-Request from an endpoint without a config: 4.00 (default) or 4.03. */
  readonly unknownEndpoint?: 'bad-request' | 'forbidden';
  /** CoAP transmission parameters of the endpoints created on `sockets`. */
  readonly transmission?: Partial<TransmissionParameters>;
  readonly clock?: Clock;
}

/** A Bootstrap-Request was accepted: a session starts. */
export type BootstrapRequestEvent = BootstrapSessionInfo;

export type BootstrapRefusalReason = 'malformed' | 'unknown-endpoint' | 'unauthorized' | 'store-error';

/** A Bootstrap-Request was refused; no session started. */
export interface BootstrapRefusedEvent {
  readonly endpoint: string | undefined;
  readonly peer: PeerAddress;
  readonly identity: PeerIdentity | undefined;
  readonly reason: BootstrapRefusalReason;
  /** What the client was answered, e.g. 0x80 (4.00). */
  readonly responseCode: number;
  readonly message: string;
}

export interface BootstrapServerEvents {
  'bootstrap-request': [event: BootstrapRequestEvent];
  'bootstrap-refused': [event: BootstrapRefusedEvent];
  'bootstrap-finish': [event: BootstrapFinishEvent];
  'bootstrap-failed': [event: BootstrapFailedEvent];
}

const DEFAULT_SESSION_TIMEOUT = 120_000;
const DEFAULT_REQUEST_TIMEOUT = 93_000;

interface RunningSession {
  readonly session: BootstrapSession;
  /** Lets the session begin; called once the 2.04 is out, or at close. */
  readonly start: () => void;
  readonly done: Promise<void>;
  timer: unknown;
}

/**
 * An LwM2M bootstrap server (TS Core §5.2, §6.1): answers `POST /bs?ep=&pct=` with 2.04, then
 * provisions the client from its config in the store, one request at a time, from the same
 * endpoint to the address the request came from. Create it with {@link createBootstrapServer}.
 */
export class BootstrapServer extends EventEmitter<BootstrapServerEvents> {
  readonly #options: BootstrapServerOptions;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #codec: Lwm2mCodec;
  readonly #sessionTimeout: number;
  readonly #requestTimeout: number;
  readonly #running = new Map<BootstrapSession, RunningSession>();
  readonly #byEndpoint = new Map<string, RunningSession>();
  readonly #ownEndpoints: CoapEndpoint[] = [];
  #listening = false;
  #closing: Promise<void> | undefined;

  constructor(options: BootstrapServerOptions) {
    super();
    if ((options.sockets?.length ?? 0) + (options.endpoints?.length ?? 0) === 0) {
      throw new TypeError('createBootstrapServer needs sockets or endpoints');
    }
    for (const [name, value] of [
      ['sessionTimeout', options.sessionTimeout],
      ['requestTimeout', options.requestTimeout],
    ] as const) {
      if (value !== undefined && !(Number.isFinite(value) && value > 0))
        throw new TypeError(`${name} must be a positive number of ms`);
    }
    this.#options = options;
    this.#logger = options.logger ?? createSilentLogger();
    this.#clock = options.clock ?? systemClock;
    this.#codec = createCodec({
      registry: options.registry ?? createCoreObjectRegistry(),
      now: () => this.#clock.now(),
    });
    this.#sessionTimeout = options.sessionTimeout ?? DEFAULT_SESSION_TIMEOUT;
    this.#requestTimeout = options.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT;
  }

  /** Starts answering Bootstrap-Requests. Idempotent. */
  async listen(): Promise<void> {
    if (this.#closing !== undefined) throw new ClosedError('bootstrap server closed');
    if (this.#listening) return;
    this.#listening = true;
    for (const socket of this.#options.sockets ?? []) {
      const endpoint = createCoapEndpoint({
        socket,
        logger: this.#logger,
        ...(this.#options.transmission === undefined ? {} : { transmission: this.#options.transmission }),
      });
      endpoint.setHandler((request) => this.#handle(endpoint, request));
      this.#ownEndpoints.push(endpoint);
    }
    for (const endpoint of this.#options.endpoints ?? []) {
      endpoint.setHandler((request) => this.#handle(endpoint, request));
    }
  }

  /** Ends every session (failed with reason `closed`), closes the endpoints it created. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** The sessions running now. */
  sessions(): BootstrapSessionInfo[] {
    return [...this.#running.keys()].map((session) => session.info);
  }

  /** The key of the bootstrap account with this PSK identity: the lookup a DTLS server needs. */
  lookupPsk(identity: string): Promise<Uint8Array | undefined> {
    return this.#options.configStore.getBootstrapPsk(identity);
  }

  /**
   * Stores a config and, for an endpoint name (not a pattern), puts its LwM2M server credentials
   * into the security store at once.
   */
  async putConfig(key: string, config: BootstrapConfig): Promise<void> {
    validateBootstrapConfig(config, key);
    await this.#options.configStore.put(key, config);
    if (!isEndpointPattern(key)) await this.#provision(key, config);
  }

  async #provision(endpoint: string, config: BootstrapConfig): Promise<void> {
    const store = this.#options.securityStore;
    const info = serverSecurityInfo(endpoint, config);
    if (store !== undefined && info !== undefined) await store.put(info);
  }

  async #shutdown(): Promise<void> {
    const running = [...this.#running.values()];
    for (const { session, start } of running) {
      session.cancel('closed');
      start();
    }
    await Promise.all(running.map((r) => r.done));
    for (const endpoint of this.#options.endpoints ?? []) endpoint.setHandler(undefined);
    await Promise.all(this.#ownEndpoints.map((endpoint) => endpoint.close()));
    this.#ownEndpoints.length = 0;
    this.#listening = false;
  }

  async #handle(coap: CoapEndpoint, request: IncomingRequest): Promise<OutgoingResponse> {
    if (request.path.length !== 1 || request.path[0] !== 'bs') return { code: CoapCode.NOT_FOUND };
    if (request.method !== 'POST') return { code: CoapCode.METHOD_NOT_ALLOWED };
    if (this.#closing !== undefined) return { code: CoapCode.SERVICE_UNAVAILABLE };

    const params = parseBootstrapQuery(request.query);
    if (typeof params === 'string')
      return this.#refuse(request, undefined, 'malformed', CoapCode.BAD_REQUEST, params);
    const { endpoint } = params;

    let config: BootstrapConfig | undefined;
    try {
      config = await this.#options.configStore.get(endpoint);
    } catch (error) {
      this.#logger.error({ err: error, endpoint }, 'bootstrap config store failed');
      return this.#refuse(
        request,
        endpoint,
        'store-error',
        CoapCode.INTERNAL_SERVER_ERROR,
        'config store unavailable',
      );
    }
    if (config === undefined) {
      const code = this.#options.unknownEndpoint === 'forbidden' ? CoapCode.FORBIDDEN : CoapCode.BAD_REQUEST;
      return this.#refuse(request, endpoint, 'unknown-endpoint', code, 'unknown endpoint');
    }

    const expected = bootstrapSecurityInfo(endpoint, config);
    if (
      expected !== undefined ? !identityMatches(expected, request.identity) : request.identity !== undefined
    ) {
      // Either the wrong credentials, NoSec where credentials are configured, or credentials of
      // another endpoint used for one that has none.
      return this.#refuse(
        request,
        endpoint,
        'unauthorized',
        CoapCode.FORBIDDEN,
        'identity does not match the bootstrap account',
      );
    }

    try {
      await this.#provision(endpoint, config);
    } catch (error) {
      this.#logger.error({ err: error, endpoint }, 'security store refused the server credentials');
      return this.#refuse(
        request,
        endpoint,
        'store-error',
        CoapCode.INTERNAL_SERVER_ERROR,
        'server credentials not stored',
      );
    }
    if (this.#closing !== undefined) return { code: CoapCode.SERVICE_UNAVAILABLE };

    const info: BootstrapSessionInfo = {
      sessionId: randomBytes(8).toString('hex'),
      endpoint,
      peer: request.peer,
      identity: request.identity,
      contentFormat: config.contentFormat ?? params.preferredContentFormat ?? ContentFormat.TLV,
    };
    const previous = this.#byEndpoint.get(endpoint);
    if (previous !== undefined) {
      this.#logger.info(
        { endpoint, sessionId: previous.session.info.sessionId },
        'bootstrap session superseded',
      );
      previous.session.cancel('cancelled');
    }
    const session = new BootstrapSession(
      this.#sessionHost(coap),
      info,
      config,
      params.preferredContentFormat,
    );
    // The session starts once the 2.04 is out: some clients ignore bootstrap requests before it.
    let start!: () => void;
    const started = new Promise<void>((resolve) => (start = resolve));
    const running: RunningSession = {
      session,
      start,
      done: started.then(() => session.run()),
      timer: this.#clock.setTimeout(() => session.cancel('timeout'), this.#sessionTimeout),
    };
    this.#running.set(session, running);
    this.#byEndpoint.set(endpoint, running);
    this.#emit('bootstrap-request', info);
    this.#clock.setTimeout(start, 0);
    this.#logger.info(
      { endpoint, peer: formatPeer(request.peer), sessionId: info.sessionId },
      'bootstrap session started',
    );
    return { code: CoapCode.CHANGED };
  }

  #sessionHost(coap: CoapEndpoint): SessionHost {
    return {
      coap,
      codec: this.#codec,
      logger: this.#logger,
      requestTimeout: this.#requestTimeout,
      now: () => this.#clock.now(),
      finished: (session, event) => {
        this.#sessionEnded(session);
        this.#logger.info(
          { endpoint: event.endpoint, sessionId: event.sessionId, duration: event.duration },
          'bootstrap finished',
        );
        this.#emit('bootstrap-finish', event);
      },
      failed: (session, event) => {
        this.#sessionEnded(session);
        this.#logger.warn(
          {
            endpoint: event.endpoint,
            sessionId: event.sessionId,
            step: event.step,
            path: event.path,
            reason: event.reason,
            err: event.error,
          },
          'bootstrap failed',
        );
        this.#emit('bootstrap-failed', event);
      },
    };
  }

  /** Forgets a session that reported its end. */
  #sessionEnded(session: BootstrapSession): void {
    const running = this.#running.get(session);
    if (running === undefined) return;
    this.#clock.clearTimeout(running.timer);
    this.#running.delete(session);
    if (this.#byEndpoint.get(session.info.endpoint) === running)
      this.#byEndpoint.delete(session.info.endpoint);
  }

  #refuse(
    request: IncomingRequest,
    endpoint: string | undefined,
    reason: BootstrapRefusalReason,
    code: number,
    message: string,
  ): OutgoingResponse {
    this.#logger.info(
      { endpoint, peer: formatPeer(request.peer), reason },
      `bootstrap request refused: ${message}`,
    );
    this.#emit('bootstrap-refused', {
      endpoint,
      peer: request.peer,
      identity: request.identity,
      reason,
      responseCode: code,
      message,
    });
    return { code, payload: message };
  }

  #emit<E extends keyof BootstrapServerEvents>(event: E, ...args: BootstrapServerEvents[E]): void {
    try {
      (this.emit as (event: E, ...args: BootstrapServerEvents[E]) => boolean)(event, ...args);
    } catch (error) {
      // A listener's bug must not end the session or the CoAP handler.
      this.#logger.error({ err: error, event }, 'bootstrap event listener threw');
    }
  }
}

/** Creates a bootstrap server; call `listen()` to start answering. */
export function createBootstrapServer(options: BootstrapServerOptions): BootstrapServer {
  return new BootstrapServer(options);
}
