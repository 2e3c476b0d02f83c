import { ContentFormat, canonicalContentFormat, formatPath } from '@lwm2m/core';
import type { Logger, Lwm2mNode, Lwm2mPath, ObjectInstanceNode } from '@lwm2m/core';
import type { DiscoverLink, Lwm2mCodec } from '@lwm2m/codecs';
import { formatDiscoverLinks, parseAttributeQuery } from '@lwm2m/codecs';
import type { IncomingRequest, OutgoingResponse } from '@lwm2m/transport-coap';
import { CoapCode } from '@lwm2m/transport-coap';
import type { AttributeStore } from './attributes.js';
import type { Clock } from '@lwm2m/core';
import {
  BadRequestError,
  MethodNotAllowedError,
  NotAcceptableError,
  UnsupportedContentFormatError,
} from './errors.js';
import type { Lwm2mVersion } from './formats.js';
import { responseFormat } from './formats.js';
import type { ObjectTree, OperationContext } from './object-tree.js';
import { ObservedTarget } from './reporter.js';
import type { Reporter } from './reporter.js';
import { errorResponse, requestPath } from './request-path.js';

/** A device-management operation a server performed, for the client's events. */
export interface DmOperation {
  readonly ssid: number;
  readonly operation:
    | 'read'
    | 'discover'
    | 'write'
    | 'write-attributes'
    | 'execute'
    | 'create'
    | 'delete'
    | 'observe'
    | 'read-composite'
    | 'write-composite'
    | 'observe-composite';
  readonly paths: readonly Lwm2mPath[];
  /** Execute arguments. */
  readonly args?: string;
}

/** What DM handling needs from its server session. */
export interface DmHost {
  readonly ssid: number;
  readonly version: Lwm2mVersion;
  readonly tree: ObjectTree;
  readonly codec: Lwm2mCodec;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly attributes: AttributeStore;
  reporter(): Reporter;
  operation(event: DmOperation): void;
}

const NODE_FORMATS_FOR_WRITE = new Set<number>([
  ContentFormat.TEXT,
  ContentFormat.OPAQUE,
  ContentFormat.CBOR,
  ContentFormat.SENML_JSON,
  ContentFormat.SENML_CBOR,
  ContentFormat.TLV,
  ContentFormat.JSON,
  ContentFormat.LWM2M_CBOR,
]);
const COMPOSITE_FORMATS = new Set<number>([
  ContentFormat.SENML_JSON,
  ContentFormat.SENML_CBOR,
  ContentFormat.LWM2M_CBOR,
]);

/** Answers one DM request from a registered server (TS Core §5.4, §6.4 of the Transport spec). */
export async function handleDeviceManagement(
  host: DmHost,
  request: IncomingRequest,
): Promise<OutgoingResponse> {
  try {
    const context: OperationContext = { ssid: host.ssid, bootstrap: false };
    switch (request.method) {
      case 'GET':
        return await get(host, request, context);
      case 'PUT':
        return await put(host, request, context);
      case 'POST':
        return await post(host, request, context);
      case 'DELETE':
        return await remove(host, request, context);
      case 'FETCH':
        return await fetch(host, request);
      case 'iPATCH':
        return await writeComposite(host, request, context);
      default:
        return { code: CoapCode.METHOD_NOT_ALLOWED };
    }
  } catch (error) {
    return errorResponse(error, host.logger);
  }
}

async function get(
  host: DmHost,
  request: IncomingRequest,
  context: OperationContext,
): Promise<OutgoingResponse> {
  const path = requestPath(request.path);
  if (request.accept === ContentFormat.LINK) return discover(host, path, context);
  const node = await host.tree.read(path, context);
  const format = responseFormat(host.codec, host.version, request.accept, path, node);
  const payload = host.codec.encode(format, node, path);
  if (request.observe === 0) {
    const observation = request.acceptObserve();
    const target = new ObservedTarget(observation, [path], false, format, host.clock.now());
    host.reporter().add(target, [node], payload);
    host.operation({ ssid: host.ssid, operation: 'observe', paths: [path] });
  } else {
    host.operation({ ssid: host.ssid, operation: 'read', paths: [path] });
  }
  return { code: CoapCode.CONTENT, payload, contentFormat: format };
}

function discover(host: DmHost, path: Lwm2mPath, context: OperationContext): OutgoingResponse {
  const links = host.tree.discover(path, context);
  const entries: DiscoverLink[] = links.map((link) => {
    // Discover on a resource shows what it inherits (TS Core §5.4.2 example); elsewhere each link its own.
    const attributes =
      path.length === 3 ? host.attributes.inherited(link.path) : (host.attributes.own(link.path) ?? {});
    const entry: { -readonly [K in keyof DiscoverLink]: DiscoverLink[K] } = { path: link.path, attributes };
    if (link.version !== undefined) entry.version = link.version;
    if (link.dim !== undefined) entry.dim = link.dim;
    return entry;
  });
  host.operation({ ssid: host.ssid, operation: 'discover', paths: [path] });
  return { code: CoapCode.CONTENT, payload: formatDiscoverLinks(entries), contentFormat: ContentFormat.LINK };
}

function decodeNode(host: DmHost, request: IncomingRequest, path: Lwm2mPath): Lwm2mNode {
  if (request.contentFormat === undefined) throw new BadRequestError('payload without Content-Format');
  const format = canonicalContentFormat(request.contentFormat);
  if (!NODE_FORMATS_FOR_WRITE.has(format) || !host.codec.supports(format)) {
    throw new UnsupportedContentFormatError(`content format ${request.contentFormat} is not supported`);
  }
  return host.codec.decode(format, request.payload, path);
}

async function put(
  host: DmHost,
  request: IncomingRequest,
  context: OperationContext,
): Promise<OutgoingResponse> {
  const path = requestPath(request.path);
  if (request.payload.byteLength === 0 && request.contentFormat === undefined)
    return writeAttributes(host, request, path);
  if (path.length < 2) throw new MethodNotAllowedError(`Write on ${formatPath(path)}`);
  const node = decodeNode(host, request, path);
  await host.tree.write(path, node, true, context);
  host.operation({ ssid: host.ssid, operation: 'write', paths: [path] });
  return { code: CoapCode.CHANGED };
}

function writeAttributes(host: DmHost, request: IncomingRequest, path: Lwm2mPath): OutgoingResponse {
  if (path.length === 0) throw new MethodNotAllowedError('Write-Attributes on the root path');
  if (request.query.length === 0) throw new BadRequestError('Write-Attributes without attributes');
  const [objectId, , resourceId] = path;
  // The target must exist (4.04) and be visible to this server (4.01 on Security).
  host.tree.discover(path.length === 4 ? (path.slice(0, 3) as unknown as Lwm2mPath) : path, {
    ssid: host.ssid,
    bootstrap: false,
  });
  const type =
    resourceId === undefined
      ? undefined
      : host.tree.registry.getResource(objectId as number, resourceId)?.type;
  host.attributes.write(path, parseAttributeQuery(request.query), host.version, type);
  host.reporter().reschedule();
  host.operation({ ssid: host.ssid, operation: 'write-attributes', paths: [path] });
  return { code: CoapCode.CHANGED };
}

async function post(
  host: DmHost,
  request: IncomingRequest,
  context: OperationContext,
): Promise<OutgoingResponse> {
  const path = requestPath(request.path);
  const [objectId, , resourceId] = path;
  if (objectId === undefined) throw new MethodNotAllowedError('POST on the root path');
  if (path.length === 1) return create(host, request, objectId, context);
  if (
    path.length === 3 &&
    host.tree.registry.getResource(objectId, resourceId as number)?.operations === 'E'
  ) {
    const args = Buffer.from(request.payload).toString('utf8');
    await host.tree.execute(path, args, context);
    host.operation({ ssid: host.ssid, operation: 'execute', paths: [path], args });
    return { code: CoapCode.CHANGED };
  }
  if (path.length === 4) throw new MethodNotAllowedError('POST on a resource instance');
  if (path.length === 3) {
    // POST on a resource is Execute, or (1.1) a partial update adding instances to a multiple resource.
    host.tree.discover(path, { ssid: host.ssid, bootstrap: false });
    if (host.tree.registry.getResource(objectId, resourceId as number)?.multiple !== true) {
      throw new MethodNotAllowedError(
        `POST on ${formatPath(path)}: neither executable nor a multiple-instance resource`,
      );
    }
  }
  // Partial update of an instance, or (1.1) of a multiple-instance resource.
  const node = decodeNode(host, request, path);
  await host.tree.write(path, node, false, context);
  host.operation({ ssid: host.ssid, operation: 'write', paths: [path] });
  return { code: CoapCode.CHANGED };
}

async function create(
  host: DmHost,
  request: IncomingRequest,
  objectId: number,
  context: OperationContext,
): Promise<OutgoingResponse> {
  let instance: ObjectInstanceNode | undefined;
  if (request.payload.byteLength > 0) {
    let node: Lwm2mNode;
    try {
      node = decodeNode(host, request, [objectId]);
    } catch (error) {
      // A TLV of bare resources (no instance wrapper, LwM2M 1.0): the client picks the id.
      if (canonicalContentFormat(request.contentFormat ?? -1) !== ContentFormat.TLV) throw error;
      const id = firstFreeInstance(host.tree.instanceIds(objectId));
      node = host.codec.decode(ContentFormat.TLV, request.payload, [objectId, id]);
    }
    if (node.kind === 'object') {
      // An empty SenML pack names no instance: the client picks the id, as for an empty payload.
      if (node.instances.size > 1) throw new BadRequestError('Create carries more than one instance');
      instance = node.instances.values().next().value;
    } else if (node.kind === 'objectInstance') {
      instance = node;
    } else {
      throw new BadRequestError('Create payload is not an object instance');
    }
  }
  const instanceId = await host.tree.create(objectId, instance, context);
  host.operation({ ssid: host.ssid, operation: 'create', paths: [[objectId, instanceId]] });
  return { code: CoapCode.CREATED, locationPath: [String(objectId), String(instanceId)] };
}

function firstFreeInstance(ids: readonly number[]): number {
  let id = 0;
  while (ids.includes(id)) id++;
  return id;
}

async function remove(
  host: DmHost,
  request: IncomingRequest,
  context: OperationContext,
): Promise<OutgoingResponse> {
  const path = requestPath(request.path);
  await host.tree.delete(path, context);
  host.attributes.removeBelow(path);
  host.reporter().removeBelow(path);
  host.operation({ ssid: host.ssid, operation: 'delete', paths: [path] });
  return { code: CoapCode.DELETED };
}

function compositeRequestFormat(request: IncomingRequest): number {
  if (request.contentFormat === undefined)
    throw new BadRequestError('composite request without Content-Format');
  const format = canonicalContentFormat(request.contentFormat);
  if (format !== ContentFormat.SENML_JSON && format !== ContentFormat.SENML_CBOR) {
    throw new UnsupportedContentFormatError(
      `content format ${request.contentFormat} cannot carry a path list`,
    );
  }
  return format;
}

/** Read-Composite and Observe-Composite (FETCH on the root with a SenML path list). */
async function fetch(host: DmHost, request: IncomingRequest): Promise<OutgoingResponse> {
  if (host.version === '1.0') return { code: CoapCode.METHOD_NOT_ALLOWED };
  const target = requestPath(request.path);
  if (target.length !== 0) throw new MethodNotAllowedError('FETCH on a path other than the root');
  const requestFormat = compositeRequestFormat(request);
  const paths = host.codec.decodePaths(requestFormat, request.payload);
  if (paths.length === 0) throw new BadRequestError('empty path list');
  let format = requestFormat;
  if (request.accept !== undefined) {
    format = canonicalContentFormat(request.accept);
    if (!COMPOSITE_FORMATS.has(format))
      throw new NotAcceptableError(`content format ${request.accept} cannot carry a composite answer`);
  }
  const context: OperationContext = { ssid: host.ssid, bootstrap: false };
  const nodes = new Map<string, Lwm2mNode>();
  const list: (Lwm2mNode | undefined)[] = [];
  for (const path of paths) {
    const node = await host.tree.read(path, context).catch((error: unknown) => {
      // A path that does not exist is left out; any other refusal fails the whole request.
      if ((error as { coapCode?: number }).coapCode === CoapCode.NOT_FOUND) return undefined;
      throw error;
    });
    list.push(node);
    if (node !== undefined) nodes.set(formatPath(path), node);
  }
  const payload = host.codec.encodeComposite(format, nodes);
  if (request.observe === 0) {
    const observation = request.acceptObserve();
    host
      .reporter()
      .add(new ObservedTarget(observation, paths, true, format, host.clock.now()), list, payload);
    host.operation({ ssid: host.ssid, operation: 'observe-composite', paths });
  } else {
    host.operation({ ssid: host.ssid, operation: 'read-composite', paths });
  }
  return { code: CoapCode.CONTENT, payload, contentFormat: format };
}

/** Write-Composite (iPATCH on the root): resources are replaced, resource instances merged. */
async function writeComposite(
  host: DmHost,
  request: IncomingRequest,
  context: OperationContext,
): Promise<OutgoingResponse> {
  if (host.version === '1.0') return { code: CoapCode.METHOD_NOT_ALLOWED };
  if (requestPath(request.path).length !== 0)
    throw new MethodNotAllowedError('iPATCH on a path other than the root');
  if (request.contentFormat === undefined)
    throw new BadRequestError('Write-Composite without Content-Format');
  const format = canonicalContentFormat(request.contentFormat);
  if (!COMPOSITE_FORMATS.has(format))
    throw new UnsupportedContentFormatError(
      `content format ${request.contentFormat} cannot carry a composite write`,
    );
  const nodes = host.codec.decodeComposite(format, request.payload);
  const paths: Lwm2mPath[] = [];
  for (const [text, node] of nodes) {
    const path = requestPath(text.split('/').slice(1));
    if (path.length < 3)
      throw new BadRequestError(`Write-Composite on ${text}: only resources and resource instances`);
    await host.tree.write(path, node, true, context);
    paths.push(path);
  }
  host.operation({ ssid: host.ssid, operation: 'write-composite', paths });
  return { code: CoapCode.CHANGED };
}
