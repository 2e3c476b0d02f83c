import {
  ContentFormat,
  canonicalContentFormat,
  createCoreObjectRegistry,
  formatPath,
  objectInstance,
  objectNode,
  parsePath,
  singleResource,
} from '@lwm2m/core';
import type { DatagramSocket, Lwm2mPath, ObjectInstanceNode, PeerAddress } from '@lwm2m/core';
import { createCodec, formatDiscoverLinks } from '@lwm2m/codecs';
import type { DiscoverLink, Lwm2mCodec } from '@lwm2m/codecs';
import { CoapCode, createCoapEndpoint } from '@lwm2m/transport-coap';
import type {
  CoapEndpoint,
  CoapResponse,
  IncomingRequest,
  OutgoingResponse,
  TransmissionParameters,
} from '@lwm2m/transport-coap';

/** One request the bootstrap server sent, as the fake client saw it. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly contentFormat: number | undefined;
  readonly accept: number | undefined;
  readonly payload: Uint8Array;
}

export interface FakeClientOptions {
  readonly socket: DatagramSocket;
  readonly endpoint: string;
  readonly version?: '1.0' | '1.1';
  /** Where the client keeps its bootstrap account. Default 0. */
  readonly bootstrapInstanceId?: number;
  /** Instances the client has before bootstrap, besides the bootstrap account and /3/0. */
  readonly initial?: readonly { objectId: number; instance: ObjectInstanceNode }[];
  /** Answers a request with this code instead of handling it. */
  readonly failWith?: (request: RecordedRequest) => number | undefined;
  /** Never answers a request it matches (a handler that hangs). */
  readonly hang?: (request: RecordedRequest) => boolean;
  readonly transmission?: Partial<TransmissionParameters>;
}

/**
 * A minimal LwM2M client for bootstrap tests: a CoAP endpoint and the codecs over an in-memory
 * object store. It follows TS Core §5.2.7 (Discover, Read, Write, Delete that spares the
 * bootstrap account and the Device object, Finish) and records every request.
 */
export class FakeBootstrapClient {
  readonly coap: CoapEndpoint;
  readonly codec: Lwm2mCodec = createCodec({ registry: createCoreObjectRegistry() });
  readonly requests: RecordedRequest[] = [];
  /** Object instances by `objectId/instanceId`. */
  readonly instances = new Map<string, ObjectInstanceNode>();
  readonly finished: Promise<void>;
  readonly #options: FakeClientOptions;
  #finish!: () => void;

  constructor(options: FakeClientOptions) {
    this.#options = options;
    this.finished = new Promise((resolve) => (this.#finish = resolve));
    const bs = options.bootstrapInstanceId ?? 0;
    this.instances.set(
      `0/${bs}`,
      objectInstance(bs, [
        singleResource(0, 'string', 'coap://bootstrap.invalid:5683'),
        singleResource(1, 'boolean', true),
        singleResource(2, 'integer', 3),
      ]),
    );
    this.instances.set('3/0', objectInstance(0, [singleResource(0, 'string', 'Acme')]));
    for (const { objectId, instance } of options.initial ?? [])
      this.instances.set(`${objectId}/${instance.id}`, instance);
    this.coap = createCoapEndpoint({
      socket: options.socket,
      random: () => 0,
      handler: (request) => this.#handle(request),
      ...(options.transmission === undefined ? {} : { transmission: options.transmission }),
    });
  }

  /** Sends `POST /bs?ep=…[&pct=…]`; `query` replaces the whole query when given. */
  requestBootstrap(
    server: PeerAddress,
    options: { pct?: number; query?: readonly string[] } = {},
  ): Promise<CoapResponse> {
    const query = options.query ?? [
      `ep=${this.#options.endpoint}`,
      ...(options.pct === undefined ? [] : [`pct=${options.pct}`]),
    ];
    return this.coap.request({ peer: server, method: 'POST', path: '/bs', query }, { timeout: 5000 });
  }

  /** The instance at `/objectId/instanceId`. */
  instance(objectId: number, instanceId: number): ObjectInstanceNode | undefined {
    return this.instances.get(`${objectId}/${instanceId}`);
  }

  /** Operations in order, e.g. `GET /`, `DELETE /0`, `PUT /0/1`, `POST /bs`. */
  operations(): string[] {
    return this.requests.map((r) => `${r.method} ${r.path}`);
  }

  close(): Promise<void> {
    return this.coap.close();
  }

  async #handle(request: IncomingRequest): Promise<OutgoingResponse> {
    const recorded: RecordedRequest = {
      method: request.method,
      path: `/${request.path.join('/')}`,
      contentFormat: request.contentFormat,
      accept: request.accept,
      payload: request.payload,
    };
    this.requests.push(recorded);
    if (this.#options.hang?.(recorded) === true) return new Promise<OutgoingResponse>(() => undefined);
    const code = this.#options.failWith?.(recorded);
    if (code !== undefined) return { code };
    if (request.method === 'POST' && recorded.path === '/bs') {
      setImmediate(() => this.#finish());
      return { code: CoapCode.CHANGED };
    }
    const path = parsePath(recorded.path);
    switch (request.method) {
      case 'GET':
        return request.accept === ContentFormat.LINK
          ? this.#discover(path)
          : this.#read(path, request.accept);
      case 'PUT':
        return this.#write(path, request);
      case 'DELETE':
        return this.#delete(path);
      default:
        return { code: CoapCode.METHOD_NOT_ALLOWED };
    }
  }

  #sorted(): [number, number, ObjectInstanceNode][] {
    return [...this.instances]
      .map(
        ([key, node]) => [Number(key.split('/')[0]), node.id, node] as [number, number, ObjectInstanceNode],
      )
      .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  }

  #discover(path: Lwm2mPath): OutgoingResponse {
    if (path.length !== 0) return { code: CoapCode.BAD_REQUEST };
    const links: DiscoverLink[] = [];
    if (this.#options.version !== '1.0')
      links.push({ path: [], lwm2m: this.#options.version ?? '1.1', attributes: {} });
    for (const [objectId, instanceId, node] of this.#sorted()) {
      const link: { -readonly [K in keyof DiscoverLink]: DiscoverLink[K] } = {
        path: [objectId, instanceId],
        attributes: {},
      };
      const bootstrap =
        objectId === 0 && (node.resources.get(1) as { value?: unknown } | undefined)?.value === true;
      const ssid = (node.resources.get(objectId === 0 ? 10 : 0) as { value?: unknown } | undefined)?.value;
      if ((objectId === 0 || objectId === 1) && !bootstrap && typeof ssid === 'number') link.ssid = ssid;
      links.push(link);
    }
    return { code: CoapCode.CONTENT, contentFormat: ContentFormat.LINK, payload: formatDiscoverLinks(links) };
  }

  #read(path: Lwm2mPath, accept: number | undefined): OutgoingResponse {
    if (this.#options.version === '1.0') return { code: CoapCode.METHOD_NOT_ALLOWED };
    const [objectId, instanceId] = path;
    if (objectId !== 1 && objectId !== 2) return { code: CoapCode.UNAUTHORIZED };
    const format = accept ?? ContentFormat.SENML_CBOR;
    const instances = this.#sorted().filter(
      ([o, i]) => o === objectId && (instanceId === undefined || i === instanceId),
    );
    const node =
      instanceId === undefined
        ? objectNode(
            objectId,
            instances.map(([, , n]) => n),
          )
        : instances[0]?.[2];
    if (node === undefined) return { code: CoapCode.NOT_FOUND };
    return { code: CoapCode.CONTENT, contentFormat: format, payload: this.codec.encode(format, node, path) };
  }

  #write(path: Lwm2mPath, request: IncomingRequest): OutgoingResponse {
    if (path.length !== 2 || request.contentFormat === undefined) return { code: CoapCode.BAD_REQUEST };
    const node = this.codec.decode(canonicalContentFormat(request.contentFormat), request.payload, path);
    if (node.kind !== 'objectInstance') return { code: CoapCode.BAD_REQUEST };
    this.instances.set(`${path[0]}/${path[1]}`, node);
    return { code: CoapCode.CHANGED };
  }

  #delete(path: Lwm2mPath): OutgoingResponse {
    if (path.length > 2) return { code: CoapCode.BAD_REQUEST };
    const bs = `0/${this.#options.bootstrapInstanceId ?? 0}`;
    if (path.length === 2 && formatPath(path) === `/${bs}`) return { code: CoapCode.BAD_REQUEST };
    for (const key of [...this.instances.keys()]) {
      if (key === bs || (key === '3/0' && path.length === 0)) continue;
      const [objectId, instanceId] = key.split('/').map(Number);
      if (path[0] !== undefined && path[0] !== objectId) continue;
      if (path[1] !== undefined && path[1] !== instanceId) continue;
      this.instances.delete(key);
    }
    return { code: CoapCode.DELETED };
  }
}
