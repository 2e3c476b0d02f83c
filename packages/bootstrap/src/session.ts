import { ContentFormat, formatPath, isLwm2mError, parsePath } from '@lwm2m/core';
import type { Logger, Lwm2mNode, PeerAddress, PeerIdentity } from '@lwm2m/core';
import { parseDiscoverLinks } from '@lwm2m/codecs';
import type { DiscoverLink, Lwm2mCodec } from '@lwm2m/codecs';
import { CoapCode, CoapResetError, CoapTimeoutError, formatCode } from '@lwm2m/transport-coap';
import type { CoapEndpoint, CoapResponse, OutgoingRequest } from '@lwm2m/transport-coap';
import type { BootstrapConfig } from './config.js';
import { BootstrapSessionError } from './errors.js';
import { needsDiscover, planWrites } from './instances.js';

/** The steps of a session, in order. */
export type BootstrapStep = 'discover' | 'read' | 'delete' | 'write' | 'finish';

/**
 * Why a session failed: the client answered with an error code, sent something unreadable, did
 * not acknowledge (`unreachable`), did not answer in time (`timeout`: the request or the whole
 * session), was superseded by a new request of the same endpoint (`cancelled`), or the server closed.
 */
export type BootstrapFailureReason =
  | 'error-response'
  | 'bad-response'
  | 'unreachable'
  | 'reset'
  | 'timeout'
  | 'cancelled'
  | 'closed'
  | 'internal';

/** What every session event carries. */
export interface BootstrapSessionInfo {
  /** Random id of this session, for logs. */
  readonly sessionId: string;
  readonly endpoint: string;
  /** Where the Bootstrap-Request came from, and where the session's requests go. */
  readonly peer: PeerAddress;
  /** The client's DTLS identity; undefined on NoSec. */
  readonly identity: PeerIdentity | undefined;
  /** The content format of the writes. */
  readonly contentFormat: number;
}

export interface BootstrapFinishEvent extends BootstrapSessionInfo {
  /** The Bootstrap-Discover answer, when the session ran one. */
  readonly discovered: readonly DiscoverLink[] | undefined;
  /** The client's LwM2M version from Discover (`lwm2m=` on the root link); undefined without Discover. */
  readonly lwm2mVersion: string | undefined;
  /** Bootstrap-Read results by path. */
  readonly reads: ReadonlyMap<string, Lwm2mNode>;
  /** Every request the session sent, e.g. `DELETE /0`, `PUT /0/1`, `POST /bs`. */
  readonly operations: readonly string[];
  /** Milliseconds from the Bootstrap-Request to the answer to Bootstrap-Finish. */
  readonly duration: number;
}

export interface BootstrapFailedEvent extends BootstrapSessionInfo {
  readonly step: BootstrapStep;
  /** The path of the failing request (`/bs` for Finish). */
  readonly path: string | undefined;
  readonly reason: BootstrapFailureReason;
  /** The client's CoAP response code (e.g. 0x84 for 4.04) when it answered with an error. */
  readonly responseCode: number | undefined;
  readonly error: Error;
}

/** What a session needs from its server. */
export interface SessionHost {
  readonly coap: CoapEndpoint;
  readonly codec: Lwm2mCodec;
  readonly logger: Logger;
  /** Milliseconds one request may take. */
  readonly requestTimeout: number;
  now(): number;
  finished(session: BootstrapSession, event: BootstrapFinishEvent): void;
  failed(session: BootstrapSession, event: BootstrapFailedEvent): void;
}

/** Thrown inside a session to end it at a step. */
class StepFailure extends Error {
  constructor(
    readonly step: BootstrapStep,
    readonly path: string,
    readonly reason: BootstrapFailureReason,
    readonly responseCode: number | undefined,
    readonly error: Error,
  ) {
    super(error.message);
  }
}

const DEFAULT_DELETES: readonly string[] = ['/0', '/1'];

/** The id of the client's bootstrap account in a Discover answer: the Security instance without an ssid. */
function bootstrapInstanceOf(links: readonly DiscoverLink[]): number | undefined {
  for (const link of links) {
    if (link.path.length === 2 && link.path[0] === 0 && link.ssid === undefined) return link.path[1];
  }
  return undefined;
}

function versionAtLeast11(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 1 || (major === 1 && minor >= 1);
}

/**
 * One bootstrap session (TS Core §6.1.3): Discover, Read, Delete, Write and Finish, one request at
 * a time from the endpoint the Bootstrap-Request came in on, to the address it came from. Ends
 * with exactly one call of `host.finished` or `host.failed`.
 */
export class BootstrapSession {
  readonly info: BootstrapSessionInfo;
  readonly #host: SessionHost;
  readonly #config: BootstrapConfig;
  readonly #preferredFormat: number | undefined;
  readonly #startedAt: number;
  readonly #abort = new AbortController();
  readonly #operations: string[] = [];
  #cancelReason: BootstrapFailureReason | undefined;
  #step: BootstrapStep = 'discover';
  #path = '/';
  #ended = false;

  constructor(
    host: SessionHost,
    info: BootstrapSessionInfo,
    config: BootstrapConfig,
    preferredFormat: number | undefined,
  ) {
    this.#host = host;
    this.info = info;
    this.#config = config;
    this.#preferredFormat = preferredFormat;
    this.#startedAt = host.now();
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Ends the session now: the request in flight is abandoned and the session fails with `reason`. */
  cancel(reason: 'timeout' | 'cancelled' | 'closed'): void {
    if (this.#ended || this.#cancelReason !== undefined) return;
    this.#cancelReason = reason;
    this.#abort.abort();
  }

  /** Runs to the end; never rejects. */
  async run(): Promise<void> {
    try {
      const result = await this.#steps();
      this.#end();
      this.#host.finished(this, {
        ...this.info,
        ...result,
        operations: [...this.#operations],
        duration: this.#host.now() - this.#startedAt,
      });
    } catch (error) {
      if (this.#ended) return;
      this.#end();
      const failure =
        error instanceof StepFailure
          ? error
          : new StepFailure(
              this.#step,
              this.#path,
              'internal',
              undefined,
              error instanceof Error ? error : new Error(String(error)),
            );
      this.#host.failed(this, {
        ...this.info,
        step: failure.step,
        path: failure.path,
        reason: failure.reason,
        responseCode: failure.responseCode,
        error: failure.error,
      });
    }
  }

  #end(): void {
    this.#ended = true;
  }

  async #steps(): Promise<
    Omit<BootstrapFinishEvent, keyof BootstrapSessionInfo | 'operations' | 'duration'>
  > {
    const config = this.#config;
    const format = this.info.contentFormat;
    let discovered: DiscoverLink[] | undefined;
    let lwm2mVersion: string | undefined;
    let bootstrapInstanceId: number | undefined;

    if (needsDiscover(config)) {
      this.#at('discover', '/');
      const response = await this.#send(
        { method: 'GET', path: '/', accept: ContentFormat.LINK },
        CoapCode.CONTENT,
      );
      try {
        discovered = parseDiscoverLinks(Buffer.from(response.payload).toString('utf8'));
      } catch (error) {
        throw this.#badResponse(error);
      }
      lwm2mVersion = discovered.find((link) => link.path.length === 0)?.lwm2m ?? '1.0';
      bootstrapInstanceId = bootstrapInstanceOf(discovered);
    }

    const reads = new Map<string, Lwm2mNode>();
    // Bootstrap-Read is 1.1: asked only of a client that said so (Discover) or sent a pct.
    const canRead =
      lwm2mVersion !== undefined ? versionAtLeast11(lwm2mVersion) : this.#preferredFormat !== undefined;
    if ((config.read?.length ?? 0) > 0 && !canRead) {
      this.#host.logger.info({ endpoint: this.info.endpoint }, 'client is LwM2M 1.0: Bootstrap-Read skipped');
    }
    for (const text of canRead ? (config.read ?? []) : []) {
      const path = parsePath(text);
      this.#at('read', formatPath(path));
      const response = await this.#send(
        { method: 'GET', path: formatPath(path), accept: format },
        CoapCode.CONTENT,
      );
      try {
        reads.set(
          formatPath(path),
          this.#host.codec.decode(response.contentFormat ?? format, response.payload, path),
        );
      } catch (error) {
        throw this.#badResponse(error);
      }
    }

    for (const text of config.delete ?? DEFAULT_DELETES) {
      const path = parsePath(text);
      if (path.length === 2 && path[0] === 0 && path[1] === bootstrapInstanceId) {
        // TS Core §5.2.7.5: the client refuses (4.00) to delete its bootstrap account.
        this.#host.logger.info(
          { endpoint: this.info.endpoint, path: text },
          'delete of the bootstrap account skipped',
        );
        continue;
      }
      this.#at('delete', formatPath(path));
      await this.#send({ method: 'DELETE', path: formatPath(path) }, CoapCode.DELETED);
    }

    for (const write of planWrites(config, bootstrapInstanceId)) {
      const path = formatPath(write.path);
      this.#at('write', path);
      let payload: Uint8Array;
      try {
        payload = this.#host.codec.encode(format, write.node, write.path);
      } catch (error) {
        throw new StepFailure('write', path, 'internal', undefined, error as Error);
      }
      await this.#send({ method: 'PUT', path, contentFormat: format, payload }, CoapCode.CHANGED);
    }

    this.#at('finish', '/bs');
    await this.#send({ method: 'POST', path: '/bs' }, CoapCode.CHANGED);
    return { discovered, lwm2mVersion, reads };
  }

  #at(step: BootstrapStep, path: string): void {
    this.#step = step;
    this.#path = path;
  }

  #badResponse(error: unknown): StepFailure {
    const cause = error instanceof Error ? error : new Error(String(error));
    return new StepFailure(
      this.#step,
      this.#path,
      'bad-response',
      undefined,
      new BootstrapSessionError(
        `unreadable answer to ${this.#step} ${this.#path}: ${cause.message}`,
        undefined,
        { cause },
      ),
    );
  }

  async #send(request: Omit<OutgoingRequest, 'peer'>, expected: number): Promise<CoapResponse> {
    if (this.#cancelReason !== undefined) throw this.#cancelled();
    this.#operations.push(`${request.method} ${String(request.path)}`);
    let response: CoapResponse;
    try {
      response = await this.#host.coap.request(
        { ...request, peer: this.info.peer },
        { signal: this.#abort.signal, timeout: this.#host.requestTimeout },
      );
    } catch (error) {
      if (this.#cancelReason !== undefined) throw this.#cancelled();
      const cause = error instanceof Error ? error : new Error(String(error));
      const reason: BootstrapFailureReason =
        error instanceof CoapTimeoutError
          ? 'unreachable'
          : error instanceof CoapResetError
            ? 'reset'
            : isLwm2mError(error) && error.code === 'ERR_TIMEOUT'
              ? 'timeout'
              : isLwm2mError(error) && error.code === 'ERR_CLOSED'
                ? 'closed'
                : 'internal';
      throw new StepFailure(this.#step, this.#path, reason, undefined, cause);
    }
    if (this.#cancelReason !== undefined) throw this.#cancelled();
    if (response.code !== expected) {
      const text =
        response.payload.length > 0
          ? `: ${Buffer.from(response.payload).toString('utf8').slice(0, 200)}`
          : '';
      throw new StepFailure(
        this.#step,
        this.#path,
        'error-response',
        response.code,
        new BootstrapSessionError(
          `client answered ${formatCode(response.code)} to ${request.method} ${String(request.path)} (expected ${formatCode(expected)})${text}`,
          response.code,
        ),
      );
    }
    return response;
  }

  #cancelled(): StepFailure {
    const reason = this.#cancelReason ?? 'cancelled';
    const message =
      reason === 'timeout'
        ? 'bootstrap session timed out'
        : reason === 'closed'
          ? 'bootstrap server closed'
          : 'superseded by a new Bootstrap-Request';
    return new StepFailure(this.#step, this.#path, reason, undefined, new BootstrapSessionError(message));
  }
}
