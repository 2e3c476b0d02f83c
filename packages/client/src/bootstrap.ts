import { ContentFormat, canonicalContentFormat, formatPath } from '@lwm2m/core';
import type { Lwm2mPath, PeerAddress } from '@lwm2m/core';
import type { DiscoverLink } from '@lwm2m/codecs';
import { formatDiscoverLinks } from '@lwm2m/codecs';
import type { CoapEndpoint, IncomingRequest, OutgoingResponse } from '@lwm2m/transport-coap';
import { CoapCode, createCoapEndpoint, formatCode } from '@lwm2m/transport-coap';
import {
  BadRequestError,
  Lwm2mRequestError,
  MethodNotAllowedError,
  NotAcceptableError,
  UnsupportedContentFormatError,
} from './errors.js';
import { BOOTSTRAP_CONTEXT } from './object-tree.js';
import { errorResponse, requestPath } from './request-path.js';
import { resolvePeer } from './transport.js';
import { connectTargetOf } from './security-target.js';
import type { ClientContext } from './client-context.js';

/** A bootstrap operation, for the client's events. */
export interface BootstrapOperation {
  readonly operation: 'discover' | 'read' | 'write' | 'delete' | 'finish';
  readonly path: Lwm2mPath;
}

export interface BootstrapHost extends ClientContext {
  bootstrapOperation(event: BootstrapOperation): void;
  /** Whether the provisioned configuration lets the client register somewhere (else Finish gets 4.06). */
  configurationUsable(): boolean;
}

/**
 * One client-initiated bootstrap (TS Core §6.1.3): `POST /bs?ep=&pct=`, then the bootstrap
 * server's Discover, Read, Write and Delete on the tree until Bootstrap-Finish.
 */
export class BootstrapSession {
  readonly #host: BootstrapHost;
  readonly #securityInstanceId: number;
  #endpoint: CoapEndpoint | undefined;
  #finish: { resolve: () => void; reject: (error: Error) => void } | undefined;
  readonly #abort = new AbortController();

  constructor(host: BootstrapHost, securityInstanceId: number) {
    this.#host = host;
    this.#securityInstanceId = securityInstanceId;
  }

  /** Runs the bootstrap: resolves after a successful Finish; rejects on refusal or `timeout` ms without Finish. */
  async run(timeout: number): Promise<void> {
    const tree = this.#host.tree;
    const target = connectTargetOf(tree.instance(0, this.#securityInstanceId));
    const peer: PeerAddress = await resolvePeer(target.host, target.port);
    const socket = await this.#host.transport.connect(target, this.#abort.signal);
    const endpoint = createCoapEndpoint({
      socket,
      handler: (request) => this.#handle(request),
      logger: this.#host.logger,
      ...(this.#host.transmission === undefined ? {} : { transmission: this.#host.transmission }),
    });
    this.#endpoint = endpoint;
    const finished = new Promise<void>((resolve, reject) => {
      this.#finish = { resolve, reject };
    });
    // The request can be answered after the server already started writing; keep the rejection handled.
    finished.catch(() => undefined);
    const timer = this.#host.clock.setTimeout(() => {
      this.#finish?.reject(new Lwm2mRequestError(`no Bootstrap-Finish within ${timeout} ms`));
    }, timeout);
    try {
      const query = [`ep=${this.#host.endpointName}`];
      if (this.#host.version !== '1.0') query.push(`pct=${ContentFormat.SENML_CBOR}`);
      const response = await endpoint.request(
        { peer, method: 'POST', path: '/bs', query },
        { timeout: this.#host.requestTimeout, signal: this.#abort.signal },
      );
      if (response.code !== CoapCode.CHANGED) {
        throw new Lwm2mRequestError(`bootstrap request answered ${formatCode(response.code)}`, response.code);
      }
      await finished;
    } finally {
      this.#host.clock.clearTimeout(timer);
      this.#finish = undefined;
    }
  }

  async close(): Promise<void> {
    this.#abort.abort();
    this.#finish?.reject(new Lwm2mRequestError('bootstrap cancelled'));
    const endpoint = this.#endpoint;
    this.#endpoint = undefined;
    await endpoint?.close();
  }

  async #handle(request: IncomingRequest): Promise<OutgoingResponse> {
    try {
      if (request.method === 'POST' && request.path.length === 1 && request.path[0] === 'bs')
        return this.#finishRequest();
      const path = requestPath(request.path);
      switch (request.method) {
        case 'GET':
          return request.accept === ContentFormat.LINK
            ? this.#discover(path)
            : await this.#read(path, request);
        case 'PUT':
          return await this.#write(path, request);
        case 'DELETE':
          return await this.#delete(path);
        default:
          throw new MethodNotAllowedError(`${request.method} during bootstrap`);
      }
    } catch (error) {
      return errorResponse(error, this.#host.logger);
    }
  }

  #finishRequest(): OutgoingResponse {
    if (!this.#host.configurationUsable()) {
      // TS Core §5.2.7.6: 4.06 when the configuration does not let the client register.
      throw new NotAcceptableError('no usable LwM2M server account after bootstrap');
    }
    this.#host.bootstrapOperation({ operation: 'finish', path: [] as unknown as Lwm2mPath });
    // Let the 2.04 go out before the session closes.
    const finish = this.#finish;
    this.#host.clock.setTimeout(() => finish?.resolve(), 0);
    return { code: CoapCode.CHANGED };
  }

  #discover(path: Lwm2mPath): OutgoingResponse {
    const tree = this.#host.tree;
    const links = tree.discover(path, BOOTSTRAP_CONTEXT);
    const entries: DiscoverLink[] = [];
    if (path.length === 0 && this.#host.version !== '1.0')
      entries.push({ path: [] as unknown as Lwm2mPath, lwm2m: this.#host.version, attributes: {} });
    for (const link of links) {
      const entry: { -readonly [K in keyof DiscoverLink]: DiscoverLink[K] } = {
        path: link.path,
        attributes: {},
      };
      if (link.version !== undefined) entry.version = link.version;
      const [objectId, instanceId, resourceId] = link.path;
      if (instanceId !== undefined && resourceId === undefined && (objectId === 0 || objectId === 1)) {
        const instance = tree.instance(objectId, instanceId);
        const ssid = instance?.read(objectId === 0 ? 10 : 0);
        const bootstrap = objectId === 0 && instance?.read(1) === true;
        if (typeof ssid === 'number' && !bootstrap) entry.ssid = ssid;
        if (objectId === 0 && this.#host.version !== '1.0') {
          const uri = instance?.read(0);
          if (typeof uri === 'string') entry.uri = uri;
        }
      }
      if (link.path.length <= 2) entries.push(entry);
    }
    this.#host.bootstrapOperation({ operation: 'discover', path });
    return {
      code: CoapCode.CONTENT,
      payload: formatDiscoverLinks(entries),
      contentFormat: ContentFormat.LINK,
    };
  }

  async #read(path: Lwm2mPath, request: IncomingRequest): Promise<OutgoingResponse> {
    if (this.#host.version === '1.0') throw new MethodNotAllowedError('Bootstrap-Read needs LwM2M 1.1');
    const node = await this.#host.tree.read(path, BOOTSTRAP_CONTEXT);
    const format =
      request.accept === undefined ? ContentFormat.SENML_CBOR : canonicalContentFormat(request.accept);
    if (
      !this.#host.codec.supports(
        format,
        path.length === 1 ? 'object' : path.length === 2 ? 'objectInstance' : 'resource',
      )
    ) {
      throw new NotAcceptableError(`content format ${request.accept} not available here`);
    }
    const payload = this.#host.codec.encode(format, node, path);
    this.#host.bootstrapOperation({ operation: 'read', path });
    return { code: CoapCode.CONTENT, payload, contentFormat: format };
  }

  async #write(path: Lwm2mPath, request: IncomingRequest): Promise<OutgoingResponse> {
    if (path.length === 0) throw new MethodNotAllowedError('Bootstrap-Write on the root path');
    if (request.contentFormat === undefined)
      throw new BadRequestError('Bootstrap-Write without Content-Format');
    const format = canonicalContentFormat(request.contentFormat);
    if (!this.#host.codec.supports(format) || format === ContentFormat.LINK) {
      throw new UnsupportedContentFormatError(`content format ${request.contentFormat} is not supported`);
    }
    const node = this.#host.codec.decode(format, request.payload, path);
    await this.#host.tree.write(path, node, true, BOOTSTRAP_CONTEXT);
    this.#host.bootstrapOperation({ operation: 'write', path });
    return { code: CoapCode.CHANGED };
  }

  /** Bootstrap-Delete: `/` or an object deletes every instance except this bootstrap account and the Device object. */
  async #delete(path: Lwm2mPath): Promise<OutgoingResponse> {
    const tree = this.#host.tree;
    const [objectId, instanceId, resourceId] = path;
    if (resourceId !== undefined) throw new BadRequestError(`Bootstrap-Delete on ${formatPath(path)}`);
    const objects = objectId === undefined ? tree.objectIds() : [objectId];
    for (const id of objects) {
      if (id === 3 && objectId === undefined) continue;
      const instances = instanceId === undefined ? tree.instanceIds(id) : [instanceId];
      for (const iid of instances) {
        if (id === 0 && iid === this.#securityInstanceId) {
          if (instanceId !== undefined)
            throw new BadRequestError('the bootstrap server account cannot be deleted');
          continue;
        }
        if (instanceId !== undefined) await tree.delete([id, iid], BOOTSTRAP_CONTEXT);
        else tree.removeInstance(id, iid);
      }
    }
    this.#host.bootstrapOperation({ operation: 'delete', path });
    return { code: CoapCode.DELETED };
  }
}
