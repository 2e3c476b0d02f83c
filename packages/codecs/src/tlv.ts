/**
 * OMA LwM2M TLV (content format 11542; 1542 before registration), LwM2M TS Core §7.4.3.
 *
 * Each TLV is a type byte — bits 7-6 identifier kind (00 object instance, 01 resource instance,
 * 10 multiple resource, 11 resource with value), bit 5 identifier width (8/16 bits), bits 4-3
 * length width (0 = length in bits 2-0, else 8/16/24 bits) — then the identifier, the length and
 * the value. TLV carries no value types, so decoding types values from the model; a resource the
 * model does not know decodes as opaque bytes.
 */
import { ContentFormat, DecodeError, EncodeError, MAX_ID, formatPath, singleResource } from '@lwm2m/core';
import type {
  Lwm2mNode,
  Lwm2mPath,
  MultipleResource,
  ObjectInstanceNode,
  ObjectNode,
  ObjectRegistry,
  PathLevel,
  ResourceInstance,
  ResourceNode,
  ResourceType,
  ResourceValue,
} from '@lwm2m/core';
import type { CodecContext, NodeFormat } from './types.js';
import { INT64_MAX, MAX_TIME_SECONDS, checkValue, normalizeInteger, timeToSeconds } from './value-types.js';

const FORMAT = ContentFormat.TLV;
const LEVELS: ReadonlySet<PathLevel> = new Set<PathLevel>([
  'object',
  'objectInstance',
  'resource',
  'resourceInstance',
]);

// Identifier kinds, bits 7-6 of the type byte.
const OBJECT_INSTANCE = 0;
const RESOURCE_INSTANCE = 1;
const MULTIPLE_RESOURCE = 2;
const RESOURCE_VALUE = 3;
const KIND_NAMES = ['object instance', 'resource instance', 'multiple resource', 'resource'] as const;

/** The 24-bit length field is the widest. */
const MAX_LENGTH = 0xffffff;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// ---------------------------------------------------------------------------------------------
// Encoding: a sizing pass records every TLV's value length in pre-order, then a writing pass
// fills one buffer of the exact size, reading the lengths back in the same order.

function encodeError(message: string): EncodeError {
  return new EncodeError(message, { format: FORMAT });
}

function headerSize(id: number, length: number): number {
  return 2 + (id > 0xff ? 1 : 0) + (length < 8 ? 0 : length <= 0xff ? 1 : length <= 0xffff ? 2 : 3);
}

/** Bytes of the shortest two's-complement form (1, 2, 4 or 8) holding `n`. */
function signedWidth(n: number | bigint): number {
  const v = typeof n === 'bigint' ? (n >= -0x80000000n && n <= 0x7fffffffn ? Number(n) : undefined) : n;
  if (v === undefined) return 8;
  if (v >= -0x80 && v <= 0x7f) return 1;
  if (v >= -0x8000 && v <= 0x7fff) return 2;
  if (v >= -0x80000000 && v <= 0x7fffffff) return 4;
  return 8;
}

class TlvWriter {
  /** Value length of every TLV, in the order both passes visit them. */
  private readonly lengths: number[] = [];
  private next = 0;
  private pos = 0;
  private out = new Uint8Array(0);
  private view = new DataView(this.out.buffer);

  // -- sizing --------------------------------------------------------------------------------

  private record(id: number, length: number): number {
    if (!Number.isInteger(id) || id < 0 || id > MAX_ID)
      throw encodeError(`TLV identifier ${id} is out of range`);
    if (length > MAX_LENGTH)
      throw encodeError(`TLV value of ${length} bytes exceeds the 24-bit length field`);
    return headerSize(id, length) + length;
  }

  private valueLength(type: ResourceType, value: ResourceValue): number {
    checkValue(type, value, FORMAT);
    switch (type) {
      case 'string':
      case 'corelnk':
        return Buffer.byteLength(value as string, 'utf8');
      case 'integer':
        return signedWidth(value as number | bigint);
      case 'unsigned':
        // Below 2^63 the shortest signed width reads the same to peers that decode unsigned
        // values as signed integers (LwM2M 1.0 had no unsigned type).
        return typeof value === 'bigint' && value > INT64_MAX ? 8 : signedWidth(value as number | bigint);
      case 'float':
        return Math.fround(value as number) === value ? 4 : 8;
      case 'boolean':
        return 1;
      case 'opaque':
        return (value as Uint8Array).byteLength;
      case 'time':
        return signedWidth(timeToSeconds(value as Date));
      case 'objlnk':
        return 4;
      case 'none':
        // checkValue has thrown already.
        return 0;
    }
  }

  sizeValue(id: number, type: ResourceType, value: ResourceValue): number {
    const length = this.valueLength(type, value);
    this.lengths.push(length);
    return this.record(id, length);
  }

  sizeResource(resource: ResourceNode): number {
    if (resource.kind === 'resource') return this.sizeValue(resource.id, resource.type, resource.value);
    const slot = this.lengths.push(0) - 1;
    let length = 0;
    for (const [riid, value] of resource.instances) length += this.sizeValue(riid, resource.type, value);
    this.lengths[slot] = length;
    return this.record(resource.id, length);
  }

  sizeResources(instance: ObjectInstanceNode): number {
    let length = 0;
    for (const resource of instance.resources.values()) length += this.sizeResource(resource);
    return length;
  }

  sizeInstance(instance: ObjectInstanceNode): number {
    const slot = this.lengths.push(0) - 1;
    const length = this.sizeResources(instance);
    this.lengths[slot] = length;
    return this.record(instance.id, length);
  }

  // -- writing -------------------------------------------------------------------------------

  allocate(size: number): void {
    this.out = new Uint8Array(size);
    this.view = new DataView(this.out.buffer);
  }

  result(): Uint8Array {
    return this.out;
  }

  private header(kind: number, id: number): number {
    const length = this.lengths[this.next++] as number;
    const out = this.out;
    let pos = this.pos;
    const lengthBits = length < 8 ? length : length <= 0xff ? 0x08 : length <= 0xffff ? 0x10 : 0x18;
    out[pos++] = (kind << 6) | (id > 0xff ? 0x20 : 0) | lengthBits;
    if (id > 0xff) out[pos++] = id >> 8;
    out[pos++] = id & 0xff;
    if (length > 0xffff) out[pos++] = length >> 16;
    if (length > 0xff) out[pos++] = (length >> 8) & 0xff;
    if (length >= 8) out[pos++] = length & 0xff;
    this.pos = pos;
    return length;
  }

  private integer(value: number | bigint, width: number): void {
    const view = this.view;
    const pos = this.pos;
    if (width === 1) view.setInt8(pos, Number(value));
    else if (width === 2) view.setInt16(pos, Number(value));
    else if (width === 4) view.setInt32(pos, Number(value));
    else if (typeof value === 'bigint' && value > INT64_MAX) view.setBigUint64(pos, value);
    else view.setBigInt64(pos, BigInt(value));
  }

  writeValue(kind: number, id: number, type: ResourceType, value: ResourceValue): void {
    const length = this.header(kind, id);
    switch (type) {
      case 'string':
      case 'corelnk':
        utf8Encoder.encodeInto(value as string, this.out.subarray(this.pos, this.pos + length));
        break;
      case 'integer':
      case 'unsigned':
        this.integer(value as number | bigint, length);
        break;
      case 'time':
        this.integer(timeToSeconds(value as Date), length);
        break;
      case 'float':
        if (length === 4) this.view.setFloat32(this.pos, value as number);
        else this.view.setFloat64(this.pos, value as number);
        break;
      case 'boolean':
        this.out[this.pos] = value ? 1 : 0;
        break;
      case 'opaque':
        this.out.set(value as Uint8Array, this.pos);
        break;
      case 'objlnk': {
        const link = value as { objectId: number; instanceId: number };
        this.view.setUint16(this.pos, link.objectId);
        this.view.setUint16(this.pos + 2, link.instanceId);
        break;
      }
      case 'none':
        break;
    }
    this.pos += length;
  }

  writeResource(resource: ResourceNode): void {
    if (resource.kind === 'resource') {
      this.writeValue(RESOURCE_VALUE, resource.id, resource.type, resource.value);
      return;
    }
    this.header(MULTIPLE_RESOURCE, resource.id);
    for (const [riid, value] of resource.instances)
      this.writeValue(RESOURCE_INSTANCE, riid, resource.type, value);
  }

  writeResources(instance: ObjectInstanceNode): void {
    for (const resource of instance.resources.values()) this.writeResource(resource);
  }

  writeInstance(instance: ObjectInstanceNode): void {
    this.header(OBJECT_INSTANCE, instance.id);
    this.writeResources(instance);
  }
}

function expectPath(node: Lwm2mNode, path: Lwm2mPath, length: number): void {
  if (path.length !== length || path[length - 1] !== node.id) {
    throw encodeError(`a ${node.kind} node with id ${node.id} does not fit path ${formatPath(path)}`);
  }
}

/**
 * An object is a sequence of object-instance TLVs; an object instance is its resource TLVs without
 * a wrapper (as Leshan writes it); a resource is one resource TLV (a multiple resource one TLV
 * holding its instances); a resource instance is one resource-instance TLV.
 */
function encode(node: Lwm2mNode, path: Lwm2mPath): Uint8Array {
  const writer = new TlvWriter();
  switch (node.kind) {
    case 'object': {
      expectPath(node, path, 1);
      let size = 0;
      for (const instance of node.instances.values()) size += writer.sizeInstance(instance);
      writer.allocate(size);
      for (const instance of node.instances.values()) writer.writeInstance(instance);
      break;
    }
    case 'objectInstance':
      expectPath(node, path, 2);
      writer.allocate(writer.sizeResources(node));
      writer.writeResources(node);
      break;
    case 'resource':
    case 'multipleResource':
      expectPath(node, path, 3);
      writer.allocate(writer.sizeResource(node));
      writer.writeResource(node);
      break;
    case 'resourceInstance':
      expectPath(node, path, 4);
      writer.allocate(writer.sizeValue(node.id, node.type, node.value));
      writer.writeValue(RESOURCE_INSTANCE, node.id, node.type, node.value);
      break;
  }
  return writer.result();
}

// ---------------------------------------------------------------------------------------------
// Decoding: each nesting level is read into headers first (bounds and limits checked there),
// then shaped into nodes by what the path asks for.

interface TlvHeader {
  readonly kind: number;
  readonly id: number;
  /** Offset of the type byte, for error messages. */
  readonly offset: number;
  readonly start: number;
  readonly end: number;
}

class TlvReader {
  private entries = 0;
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    private readonly context: CodecContext,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get registry(): ObjectRegistry {
    return this.context.registry;
  }

  fail(message: string, offset: number): never {
    throw new DecodeError(`TLV: ${message}`, { format: FORMAT, offset });
  }

  /** The TLVs side by side in [start, end), which they must fill exactly. */
  level(start: number, end: number, depth: number): TlvHeader[] {
    if (depth > this.context.limits.maxDepth)
      this.fail(`nesting deeper than ${this.context.limits.maxDepth}`, start);
    const bytes = this.bytes;
    const headers: TlvHeader[] = [];
    let pos = start;
    while (pos < end) {
      const type = bytes[pos] as number;
      const idWidth = type & 0x20 ? 2 : 1;
      const lengthWidth = (type >> 3) & 0x03;
      const valueStart = pos + 1 + idWidth + lengthWidth;
      if (valueStart > end)
        this.fail(`header truncated (needs ${valueStart - pos} bytes, ${end - pos} left)`, pos);
      const id = idWidth === 2 ? this.view.getUint16(pos + 1) : (bytes[pos + 1] as number);
      let length = type & 0x07;
      if (lengthWidth > 0) {
        length = 0;
        for (let i = pos + 1 + idWidth; i < valueStart; i++) length = (length << 8) | (bytes[i] as number);
      }
      if (length > end - valueStart) {
        this.fail(`value of ${length} bytes overruns its container (${end - valueStart} left)`, pos);
      }
      if (++this.entries > this.context.limits.maxEntries) {
        this.fail(`more than ${this.context.limits.maxEntries} entries`, pos);
      }
      headers.push({ kind: type >> 6, id, offset: pos, start: valueStart, end: valueStart + length });
      pos = valueStart + length;
    }
    return headers;
  }

  children(header: TlvHeader, depth: number): TlvHeader[] {
    return this.level(header.start, header.end, depth);
  }

  private signed(h: TlvHeader): number | bigint {
    const view = this.view;
    switch (h.end - h.start) {
      case 1:
        return view.getInt8(h.start);
      case 2:
        return view.getInt16(h.start);
      case 4:
        return view.getInt32(h.start);
      case 8:
        return normalizeInteger(view.getBigInt64(h.start));
      default:
        return this.fail(`integer of ${h.end - h.start} bytes (1, 2, 4 or 8 expected)`, h.offset);
    }
  }

  private unsigned(h: TlvHeader): number | bigint {
    const view = this.view;
    switch (h.end - h.start) {
      case 1:
        return view.getUint8(h.start);
      case 2:
        return view.getUint16(h.start);
      case 4:
        return view.getUint32(h.start);
      case 8:
        return normalizeInteger(view.getBigUint64(h.start));
      default:
        return this.fail(`unsigned integer of ${h.end - h.start} bytes (1, 2, 4 or 8 expected)`, h.offset);
    }
  }

  value(h: TlvHeader, type: ResourceType): ResourceValue {
    const length = h.end - h.start;
    switch (type) {
      case 'string':
      case 'corelnk':
        try {
          return utf8Decoder.decode(this.bytes.subarray(h.start, h.end));
        } catch {
          return this.fail('string value is not valid UTF-8', h.offset);
        }
      case 'integer':
        return this.signed(h);
      case 'unsigned':
        return this.unsigned(h);
      case 'float':
        if (length === 4) return this.view.getFloat32(h.start);
        if (length === 8) return this.view.getFloat64(h.start);
        return this.fail(`float of ${length} bytes (4 or 8 expected)`, h.offset);
      case 'boolean': {
        const b = this.bytes[h.start];
        if (length !== 1 || (b !== 0 && b !== 1)) this.fail('boolean must be one byte, 0 or 1', h.offset);
        return b === 1;
      }
      case 'time': {
        const seconds = Number(this.signed(h));
        if (Math.abs(seconds) > MAX_TIME_SECONDS) this.fail(`time ${seconds} is out of range`, h.offset);
        return new Date(seconds * 1000);
      }
      case 'objlnk':
        if (length !== 4) this.fail(`object link of ${length} bytes (4 expected)`, h.offset);
        return { objectId: this.view.getUint16(h.start), instanceId: this.view.getUint16(h.start + 2) };
      case 'opaque':
      case 'none':
        // A copy, so the node does not pin (or see changes to) the whole payload.
        return this.bytes.slice(h.start, h.end);
    }
  }
}

/** The model's type, or opaque when the model does not know the resource (or calls it executable). */
function valueType(reader: TlvReader, objectId: number, resourceId: number): ResourceType {
  const type = reader.registry.getResource(objectId, resourceId)?.type;
  return type === undefined || type === 'none' ? 'opaque' : type;
}

function kindName(kind: number): string {
  return KIND_NAMES[kind] as string;
}

function resourceInstances(
  reader: TlvReader,
  headers: readonly TlvHeader[],
  resourceId: number,
  type: ResourceType,
): MultipleResource {
  const instances = new Map<number, ResourceValue>();
  for (const h of headers) {
    if (h.kind !== RESOURCE_INSTANCE)
      reader.fail(`expected a resource instance, found a ${kindName(h.kind)}`, h.offset);
    if (instances.has(h.id))
      reader.fail(`duplicate resource instance ${h.id} in resource ${resourceId}`, h.offset);
    instances.set(h.id, reader.value(h, type));
  }
  return { kind: 'multipleResource', id: resourceId, type, instances };
}

function resource(reader: TlvReader, h: TlvHeader, objectId: number, depth: number): ResourceNode {
  const type = valueType(reader, objectId, h.id);
  if (h.kind === RESOURCE_VALUE) return singleResource(h.id, type, reader.value(h, type));
  if (h.kind === MULTIPLE_RESOURCE)
    return resourceInstances(reader, reader.children(h, depth + 1), h.id, type);
  return reader.fail(`expected a resource, found a ${kindName(h.kind)}`, h.offset);
}

function instance(
  reader: TlvReader,
  headers: readonly TlvHeader[],
  objectId: number,
  instanceId: number,
  depth: number,
): ObjectInstanceNode {
  const resources = new Map<number, ResourceNode>();
  for (const h of headers) {
    if (resources.has(h.id)) reader.fail(`duplicate resource ${h.id} in instance ${instanceId}`, h.offset);
    resources.set(h.id, resource(reader, h, objectId, depth));
  }
  return { kind: 'objectInstance', id: instanceId, resources };
}

/** Unwraps one container TLV of `kind` whose id must be `id` (a peer may add a level the path implies). */
function unwrap(
  reader: TlvReader,
  headers: TlvHeader[],
  kind: number,
  id: number,
  depth: number,
): TlvHeader[] {
  const only = headers.length === 1 ? (headers[0] as TlvHeader) : undefined;
  if (only?.kind !== kind) return headers;
  if (only.id !== id)
    reader.fail(`${kindName(kind)} ${only.id} does not match the path's id ${id}`, only.offset);
  return reader.children(only, depth + 1);
}

function decodeObject(reader: TlvReader, objectId: number): ObjectNode {
  const headers = reader.level(0, reader.bytes.byteLength, 1);
  const first = headers[0];
  const instances = new Map<number, ObjectInstanceNode>();
  if (first !== undefined && (first.kind === RESOURCE_VALUE || first.kind === MULTIPLE_RESOURCE)) {
    // Resources without an instance TLV: only unambiguous for a single-instance object.
    if (reader.registry.getObject(objectId)?.multiple === true) {
      reader.fail(
        `object ${objectId} has several instances; its resources need an object instance TLV`,
        first.offset,
      );
    }
    instances.set(0, instance(reader, headers, objectId, 0, 1));
  } else {
    for (const h of headers) {
      if (h.kind !== OBJECT_INSTANCE)
        reader.fail(`expected an object instance, found a ${kindName(h.kind)}`, h.offset);
      if (instances.has(h.id)) reader.fail(`duplicate object instance ${h.id}`, h.offset);
      instances.set(h.id, instance(reader, reader.children(h, 2), objectId, h.id, 2));
    }
  }
  return { kind: 'object', id: objectId, instances };
}

function decodeInstance(reader: TlvReader, path: readonly [number, number]): ObjectInstanceNode {
  const [objectId, instanceId] = path;
  const headers = reader.level(0, reader.bytes.byteLength, 1);
  const depth = headers.length === 1 && headers[0]?.kind === OBJECT_INSTANCE ? 2 : 1;
  return instance(
    reader,
    unwrap(reader, headers, OBJECT_INSTANCE, instanceId, 1),
    objectId,
    instanceId,
    depth,
  );
}

function decodeResource(reader: TlvReader, path: readonly [number, number, number]): ResourceNode {
  const [objectId, instanceId, resourceId] = path;
  let headers = reader.level(0, reader.bytes.byteLength, 1);
  let depth = 1;
  if (headers.length === 1 && headers[0]?.kind === OBJECT_INSTANCE) {
    headers = unwrap(reader, headers, OBJECT_INSTANCE, instanceId, depth++);
  }
  const type = valueType(reader, objectId, resourceId);
  const only = headers.length === 1 ? (headers[0] as TlvHeader) : undefined;
  if (only !== undefined && (only.kind === RESOURCE_VALUE || only.kind === MULTIPLE_RESOURCE)) {
    if (only.id !== resourceId)
      reader.fail(`resource ${only.id} does not match the path's id ${resourceId}`, only.offset);
    return resource(reader, only, objectId, depth);
  }
  if (headers.length === 0 && reader.registry.getResource(objectId, resourceId)?.multiple === false) {
    reader.fail(`empty payload for the single resource ${formatPath(path)}`, 0);
  }
  // Bare resource-instance TLVs (or nothing): a multiple resource, as Leshan accepts.
  return resourceInstances(reader, headers, resourceId, type);
}

function decodeResourceInstance(
  reader: TlvReader,
  path: readonly [number, number, number, number],
): ResourceInstance {
  const [objectId, instanceId, resourceId, resourceInstanceId] = path;
  let headers = reader.level(0, reader.bytes.byteLength, 1);
  let depth = 1;
  if (headers.length === 1 && headers[0]?.kind === OBJECT_INSTANCE) {
    headers = unwrap(reader, headers, OBJECT_INSTANCE, instanceId, depth++);
  }
  if (headers.length === 1 && headers[0]?.kind === MULTIPLE_RESOURCE) {
    headers = unwrap(reader, headers, MULTIPLE_RESOURCE, resourceId, depth++);
  }
  if (headers.length !== 1) reader.fail(`expected one resource instance, found ${headers.length} TLVs`, 0);
  const h = headers[0] as TlvHeader;
  if (h.kind !== RESOURCE_INSTANCE)
    reader.fail(`expected a resource instance, found a ${kindName(h.kind)}`, h.offset);
  if (h.id !== resourceInstanceId) {
    reader.fail(`resource instance ${h.id} does not match the path's id ${resourceInstanceId}`, h.offset);
  }
  const type = valueType(reader, objectId, resourceId);
  return { kind: 'resourceInstance', id: h.id, type, value: reader.value(h, type) };
}

/**
 * Decodes what a peer sends for `path`. Lenient where real clients differ (the spec allows an
 * object instance either bare or wrapped; Leshan and others add or drop a level), strict on
 * bytes: truncation, overruns, bad widths, duplicate or mismatched ids fail with an offset.
 */
function decode(payload: Uint8Array, path: Lwm2mPath, context: CodecContext): Lwm2mNode {
  const reader = new TlvReader(payload, context);
  switch (path.length) {
    case 0:
      throw new DecodeError('TLV cannot carry the root path', { format: FORMAT });
    case 1:
      return decodeObject(reader, path[0]);
    case 2:
      return decodeInstance(reader, path);
    case 3:
      return decodeResource(reader, path);
    case 4:
      return decodeResourceInstance(reader, path);
  }
}

export const tlvFormat: NodeFormat = { id: FORMAT, levels: LEVELS, encode, decode };
