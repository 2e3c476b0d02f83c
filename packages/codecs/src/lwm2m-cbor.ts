/**
 * LwM2M CBOR (application/vnd.oma.lwm2m+cbor, content format 11544, LwM2M 1.2 TS Core §7.4.6):
 * nested CBOR maps keyed by path ids. A key is one id (`3`) or an array of ids that stands for
 * several levels at once (`[3, 0]`), so `{[3, 0]: {0: "Open Mobile Alliance", 6: {0: 1, 1: 5}}}`
 * is the Device instance and `{[3, 0, 0]: "x"}` its Manufacturer alone. The root map may hold
 * several objects, so the format also carries composite payloads (Read-Composite answers,
 * Write-Composite, Observe-Composite notifications, Send).
 *
 * Both directions are written here rather than through cbor-x (checked with cbor-x 1.6): its Map
 * decoding silently keeps the last of two equal keys (duplicate paths go unnoticed), it rejects
 * indefinite-length strings (Anjay's tests send them), accepts invalid UTF-8 and recurses without
 * a depth bound (a stack overflow on deep input); its encoder writes integers above 2^32 as
 * float64. The structure here is small (maps, id arrays, scalars), so a direct reader checks every
 * limit as it goes and builds the path tree without an intermediate object graph.
 *
 * Values follow the CBOR (60) conventions of cbor.ts: time is tag 1 with integer seconds,
 * objlnk is the text `3:0`, floats are float32 when exact and float64 otherwise.
 */
import {
  ContentFormat,
  DecodeError,
  EncodeError,
  MAX_ID,
  UnsupportedFormatError,
  formatObjectLink,
  formatPath,
  isPathPrefix,
  multipleResource,
  objectInstance,
  objectNode,
  parseObjectLink,
  parsePath,
  resourceInstance,
  singleResource,
} from '@lwm2m/core';
import type {
  Lwm2mNode,
  Lwm2mPath,
  ObjectInstanceNode,
  ObjectLink,
  ObjectRegistry,
  PathLevel,
  ResourceNode,
  ResourceType,
  ResourceValue,
} from '@lwm2m/core';
import type { CodecContext, CompositeFormat, CompositeNodes } from './types.js';
import { INT64_MAX, checkValue, normalizeInteger, numberToTyped, timeToSeconds } from './value-types.js';

const FORMAT = ContentFormat.LWM2M_CBOR;
const LEVELS: ReadonlySet<PathLevel> = new Set<PathLevel>([
  'object',
  'objectInstance',
  'resource',
  'resourceInstance',
]);

// Major types (RFC 8949 §3.1).
const UNSIGNED = 0;
const NEGATIVE = 1;
const BYTES = 2;
const TEXT = 3;
const ARRAY = 4;
const MAP = 5;
const TAG = 6;
const SIMPLE = 7;

const TAG_DATE_TIME = 0;
const TAG_EPOCH = 1;
const TAG_POSITIVE_BIGNUM = 2;
const TAG_NEGATIVE_BIGNUM = 3;
const TAG_DECIMAL_FRACTION = 4;

const BREAK = 0xff;
/** Bignums longer than this cannot fit a uint64 even with leading zero bytes. */
const MAX_BIGNUM_BYTES = 16;
/** Decimal-fraction exponents beyond this give 0 or Infinity anyway; bounding them keeps 10 ** e cheap. */
const MAX_DECIMAL_EXPONENT = 400;
/** RFC 3339 date-time as tag 0 carries it. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A value with the resource type it was written or read as. */
interface TypedValue {
  readonly type: ResourceType;
  readonly value: ResourceValue;
}

/**
 * The path tree both directions work on: a map from id to the next level, or to a value at a
 * resource or resource-instance path. An empty map is an empty object instance or multiple resource.
 */
type Branch = Map<number, Branch | TypedValue>;

// =============================================================================================
// Encoding

/** A growable output buffer writing CBOR items in their shortest form. */
class CborWriter {
  private bytes = new Uint8Array(256);
  private view = new DataView(this.bytes.buffer);
  private pos = 0;

  private reserve(count: number): void {
    if (this.pos + count <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.pos + count) size *= 2;
    const bigger = new Uint8Array(size);
    bigger.set(this.bytes.subarray(0, this.pos));
    this.bytes = bigger;
    this.view = new DataView(bigger.buffer);
  }

  head(major: number, argument: number | bigint): void {
    this.reserve(9);
    const bytes = this.bytes;
    const pos = this.pos;
    if (argument < 24) {
      bytes[pos] = (major << 5) | Number(argument);
      this.pos = pos + 1;
    } else if (argument <= 0xff) {
      bytes[pos] = (major << 5) | 24;
      bytes[pos + 1] = Number(argument);
      this.pos = pos + 2;
    } else if (argument <= 0xffff) {
      bytes[pos] = (major << 5) | 25;
      this.view.setUint16(pos + 1, Number(argument));
      this.pos = pos + 3;
    } else if (argument <= 0xffffffff) {
      bytes[pos] = (major << 5) | 26;
      this.view.setUint32(pos + 1, Number(argument));
      this.pos = pos + 5;
    } else {
      bytes[pos] = (major << 5) | 27;
      this.view.setBigUint64(pos + 1, BigInt(argument));
      this.pos = pos + 9;
    }
  }

  integer(value: number | bigint): void {
    if (value < 0) this.head(NEGATIVE, typeof value === 'bigint' ? -1n - value : -1 - value);
    else this.head(UNSIGNED, value);
  }

  float(value: number): void {
    this.reserve(9);
    const pos = this.pos;
    if (Number.isNaN(value) || value === Infinity || value === -Infinity) {
      // Half precision says these exactly in 3 bytes.
      this.bytes[pos] = 0xf9;
      this.view.setUint16(pos + 1, Number.isNaN(value) ? 0x7e00 : value > 0 ? 0x7c00 : 0xfc00);
      this.pos = pos + 3;
    } else if (Math.fround(value) === value) {
      this.bytes[pos] = 0xfa;
      this.view.setFloat32(pos + 1, value);
      this.pos = pos + 5;
    } else {
      this.bytes[pos] = 0xfb;
      this.view.setFloat64(pos + 1, value);
      this.pos = pos + 9;
    }
  }

  /** A text string; ASCII (most LwM2M text) is copied without an intermediate buffer. */
  text(value: string): void {
    const length = value.length;
    let ascii = true;
    for (let i = 0; i < length; i++) {
      if (value.charCodeAt(i) > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (!ascii) {
      this.string(TEXT, utf8Encoder.encode(value));
      return;
    }
    this.head(TEXT, length);
    this.reserve(length);
    const bytes = this.bytes;
    const pos = this.pos;
    for (let i = 0; i < length; i++) bytes[pos + i] = value.charCodeAt(i);
    this.pos = pos + length;
  }

  string(major: number, content: Uint8Array): void {
    this.head(major, content.byteLength);
    this.reserve(content.byteLength);
    this.bytes.set(content, this.pos);
    this.pos += content.byteLength;
  }

  byte(value: number): void {
    this.reserve(1);
    this.bytes[this.pos++] = value;
  }

  finish(): Uint8Array {
    return this.bytes.slice(0, this.pos);
  }
}

function encodeFail(message: string): never {
  throw new EncodeError(message, { format: FORMAT });
}

function writeValue(w: CborWriter, { type, value }: TypedValue): void {
  checkValue(type, value, FORMAT);
  switch (type) {
    case 'string':
    case 'corelnk':
      w.text(value as string);
      return;
    case 'integer':
    case 'unsigned':
      w.integer(value as number | bigint);
      return;
    case 'float':
      w.float(value as number);
      return;
    case 'boolean':
      w.byte(value ? 0xf5 : 0xf4);
      return;
    case 'opaque':
      w.string(BYTES, value as Uint8Array);
      return;
    case 'time':
      w.head(TAG, TAG_EPOCH);
      w.integer(timeToSeconds(value as Date));
      return;
    case 'objlnk':
      w.text(formatObjectLink(value as ObjectLink));
      return;
    case 'none':
      // checkValue has thrown already.
      encodeFail('an executable resource carries no value');
  }
}

/**
 * Writes a map, folding each chain of single-entry maps into one array key: `{3: {0: {1: v}}}`
 * becomes `{[3, 0, 1]: v}`, as Anjay writes the base path of a Read.
 */
function writeMap(w: CborWriter, map: Branch, depth: number): void {
  w.head(MAP, map.size);
  for (const [id, child] of map) {
    let chain = 1;
    let target = child;
    while (target instanceof Map && target.size === 1 && depth + chain < 4) {
      target = (target.values().next() as IteratorYieldResult<Branch | TypedValue>).value;
      chain++;
    }
    if (chain === 1) {
      w.head(UNSIGNED, id);
    } else {
      w.head(ARRAY, chain);
      w.head(UNSIGNED, id);
      let node = child as Branch;
      for (let i = 1; i < chain; i++) {
        const [nextId, next] = (node.entries().next() as IteratorYieldResult<[number, Branch | TypedValue]>)
          .value;
        w.head(UNSIGNED, nextId);
        node = next as Branch;
      }
    }
    if (target instanceof Map) writeMap(w, target, depth + chain);
    else writeValue(w, target);
  }
}

/** The branch at `ids`, created as needed; a value in the way is a conflict. */
function branchAt(root: Branch, ids: readonly number[], length: number): Branch {
  let branch = root;
  for (let i = 0; i < length; i++) {
    const id = ids[i] as number;
    const next = branch.get(id);
    if (next === undefined) {
      const created: Branch = new Map();
      branch.set(id, created);
      branch = created;
    } else if (next instanceof Map) {
      branch = next;
    } else {
      encodeFail(
        `a value at ${formatPath(ids.slice(0, i + 1) as unknown as Lwm2mPath)} overlaps another node`,
      );
    }
  }
  return branch;
}

function setValue(branch: Branch, id: number, value: TypedValue, path: Lwm2mPath): void {
  if (branch.has(id)) encodeFail(`${formatPath(path)} is given twice`);
  branch.set(id, value);
}

function checkNodeId(id: number): void {
  if (!Number.isInteger(id) || id < 0 || id > MAX_ID) encodeFail(`id ${id} out of range`);
}

function insertResource(instance: Branch, resource: ResourceNode, path: Lwm2mPath): void {
  checkNodeId(resource.id);
  if (resource.kind === 'resource') {
    setValue(instance, resource.id, resource, path);
    return;
  }
  if (instance.has(resource.id)) encodeFail(`${formatPath(path)} is given twice`);
  const instances: Branch = new Map();
  for (const [riid, value] of resource.instances) {
    checkNodeId(riid);
    instances.set(riid, { type: resource.type, value });
  }
  instance.set(resource.id, instances);
}

function insertInstance(object: Branch, objectId: number, instance: ObjectInstanceNode): void {
  checkNodeId(instance.id);
  const existing = object.get(instance.id);
  const branch: Branch = existing instanceof Map ? existing : new Map();
  if (existing === undefined) object.set(instance.id, branch);
  for (const resource of instance.resources.values()) {
    insertResource(branch, resource, [objectId, instance.id, resource.id]);
  }
}

/** Path length of the node kinds, as the path of a single-path operation must have it. */
const KIND_LEVEL: Readonly<Record<Lwm2mNode['kind'], number>> = {
  object: 1,
  objectInstance: 2,
  resource: 3,
  multipleResource: 3,
  resourceInstance: 4,
};

/** Adds `node`, which sits at `path`, to the tree. */
function insertNode(root: Branch, node: Lwm2mNode, path: Lwm2mPath): void {
  const level = KIND_LEVEL[node.kind];
  if (path.length !== level || path[level - 1] !== node.id) {
    encodeFail(`a ${node.kind} node with id ${node.id} does not fit path ${formatPath(path)}`);
  }
  switch (node.kind) {
    case 'object': {
      const object = branchAt(root, path, 1);
      for (const instance of node.instances.values()) insertInstance(object, node.id, instance);
      return;
    }
    case 'objectInstance':
      insertInstance(branchAt(root, path, 1), path[0] as number, node);
      return;
    case 'resource':
    case 'multipleResource':
      insertResource(branchAt(root, path, 2), node, path);
      return;
    case 'resourceInstance':
      setValue(branchAt(root, path, 3), node.id, node, path);
      return;
  }
}

function encode(node: Lwm2mNode, path: Lwm2mPath): Uint8Array {
  const root: Branch = new Map();
  insertNode(root, node, path);
  const w = new CborWriter();
  // An object without instances has nothing to say: an empty map, as Anjay answers such a Read.
  if (node.kind === 'object' && node.instances.size === 0) w.head(MAP, 0);
  else writeMap(w, root, 0);
  return w.finish();
}

function encodeComposite(nodes: CompositeNodes): Uint8Array {
  const root: Branch = new Map();
  for (const [key, node] of nodes) {
    let path: Lwm2mPath;
    try {
      path = parsePath(key);
    } catch (error) {
      throw new EncodeError(`invalid composite path ${JSON.stringify(key)}`, {
        format: FORMAT,
        cause: error,
      });
    }
    // An empty object adds nothing a reader could tell from its absence.
    if (node.kind === 'object' && node.instances.size === 0) continue;
    insertNode(root, node, path);
  }
  const w = new CborWriter();
  writeMap(w, root, 0);
  return w.finish();
}

// =============================================================================================
// Decoding

/** One CBOR scalar as read, before the model gives it a resource type. */
type CborScalar =
  | { readonly kind: 'integer'; readonly value: number | bigint }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'boolean'; readonly value: boolean }
  | { readonly kind: 'text'; readonly value: string }
  | { readonly kind: 'bytes'; readonly value: Uint8Array }
  /** Tag 1: seconds since the epoch. */
  | { readonly kind: 'epoch'; readonly value: number | bigint }
  /** Tag 0: an RFC 3339 date-time string. */
  | { readonly kind: 'dateTime'; readonly value: string };

function isAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.byteLength; i++) if ((bytes[i] as number) > 0x7f) return false;
  return true;
}

function halfToNumber(half: number): number {
  const exponent = (half >> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  const sign = half & 0x8000 ? -1 : 1;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa === 0 ? sign * Infinity : Number.NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** The resource type a value has when the model does not say. */
function guessType(item: CborScalar): ResourceType {
  switch (item.kind) {
    case 'integer':
      return item.value > INT64_MAX ? 'unsigned' : 'integer';
    case 'float':
      return 'float';
    case 'boolean':
      return 'boolean';
    case 'text':
      return 'string';
    case 'bytes':
      return 'opaque';
    case 'epoch':
    case 'dateTime':
      return 'time';
  }
}

/**
 * Reads a whole payload into a {@link Branch} tree, checking structure, ids, duplicates and the
 * context's limits as it goes. Values are typed on the spot with the model (or guessed).
 */
class Lwm2mCborReader {
  private pos = 0;
  private entries = 0;
  private readonly view: DataView;
  /** Ids of the path being read; only the first `pathLength` are meaningful. */
  private readonly ids: number[] = [0, 0, 0, 0];
  private pathLength = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly context: CodecContext,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(message: string, offset = this.pos): never {
    throw new DecodeError(`LwM2M CBOR: ${message}`, { format: FORMAT, offset });
  }

  private currentPath(length = this.pathLength): string {
    return formatPath(this.ids.slice(0, length) as unknown as Lwm2mPath);
  }

  /** The tree of the whole payload, which must be exactly one map. */
  readRoot(): Branch {
    if (this.bytes.byteLength === 0) this.fail('empty payload');
    const start = this.pos;
    const initial = this.next();
    if (initial >> 5 !== MAP) this.fail('the payload must be a map', start);
    const root: Branch = new Map();
    this.readMap(initial & 0x1f, start, root, 1);
    if (this.pos !== this.bytes.byteLength) {
      this.fail(`${this.bytes.byteLength - this.pos} bytes after the root map`);
    }
    return root;
  }

  private next(): number {
    if (this.pos >= this.bytes.byteLength) this.fail('truncated');
    return this.bytes[this.pos++] as number;
  }

  private peek(): number {
    if (this.pos >= this.bytes.byteLength) this.fail('truncated');
    return this.bytes[this.pos] as number;
  }

  private need(count: number): void {
    if (count > this.bytes.byteLength - this.pos) this.fail(`truncated: ${count} more bytes needed`);
  }

  /** The argument of a head whose additional information is `info` (not 31). */
  private argument(info: number, start: number): number | bigint {
    if (info < 24) return info;
    const pos = this.pos;
    switch (info) {
      case 24:
        this.need(1);
        this.pos += 1;
        return this.view.getUint8(pos);
      case 25:
        this.need(2);
        this.pos += 2;
        return this.view.getUint16(pos);
      case 26:
        this.need(4);
        this.pos += 4;
        return this.view.getUint32(pos);
      case 27:
        this.need(8);
        this.pos += 8;
        return normalizeInteger(this.view.getBigUint64(pos));
      default:
        return this.fail(`reserved additional information ${info}`, start);
    }
  }

  /** A container length: a count, or -1 for indefinite length. Counts beyond what the bytes left could hold fail now. */
  private length(info: number, start: number, minItemBytes: number): number {
    if (info === 31) return -1;
    const n = this.argument(info, start);
    if (typeof n === 'bigint' || n * minItemBytes > this.bytes.byteLength - this.pos) {
      this.fail(`a length of ${n} overruns the payload`, start);
    }
    return n;
  }

  private checkDepth(depth: number, start: number): void {
    if (depth > this.context.limits.maxDepth)
      this.fail(`nesting deeper than ${this.context.limits.maxDepth}`, start);
  }

  /** Reads the entries of a map whose head is already consumed into `branch`. */
  private readMap(info: number, start: number, branch: Branch, depth: number): void {
    this.checkDepth(depth, start);
    const count = this.length(info, start, 2);
    const base = this.pathLength;
    for (let i = 0; count < 0 || i < count; i++) {
      if (count < 0 && this.peek() === BREAK) {
        this.pos++;
        return;
      }
      if (++this.entries > this.context.limits.maxEntries) {
        this.fail(`more than ${this.context.limits.maxEntries} map entries`);
      }
      this.pathLength = base;
      this.readKey(depth);
      this.readEntryValue(branch, base, depth);
    }
    this.pathLength = base;
  }

  /** Reads a key (one id or an array of ids) onto the current path. */
  private readKey(depth: number): void {
    const start = this.pos;
    const initial = this.next();
    const major = initial >> 5;
    if (major === UNSIGNED) {
      this.pushId(this.argument(initial & 0x1f, start), start);
      return;
    }
    if (major !== ARRAY) this.fail('a key must be an id or an array of ids', start);
    this.checkDepth(depth + 1, start);
    const count = this.length(initial & 0x1f, start, 1);
    if (count === 0) this.fail('an empty array key names no path', start);
    const before = this.pathLength;
    for (let i = 0; count < 0 || i < count; i++) {
      const idStart = this.pos;
      const head = this.next();
      if (count < 0 && head === BREAK) break;
      if (head >> 5 !== UNSIGNED) this.fail('a key array must hold ids only', idStart);
      this.pushId(this.argument(head & 0x1f, idStart), idStart);
    }
    if (this.pathLength === before) this.fail('an empty array key names no path', start);
  }

  private pushId(id: number | bigint, start: number): void {
    if (typeof id === 'bigint' || id > MAX_ID) this.fail(`id ${id} out of range 0..${MAX_ID}`, start);
    if (this.pathLength >= 4)
      this.fail(`path ${this.currentPath()}/${id} is deeper than a resource instance`, start);
    this.ids[this.pathLength++] = id;
  }

  /** Reads the value after a key: a nested map or a resource value, stored in the tree. */
  private readEntryValue(root: Branch, base: number, depth: number): void {
    // Walk (creating) the branches for the ids this key added, but the last.
    let branch = root;
    for (let level = base; level < this.pathLength - 1; level++) {
      branch = this.childBranch(branch, level);
    }
    const last = this.pathLength - 1;
    const start = this.pos;
    const initial = this.peek();
    if (initial >> 5 === MAP) {
      this.pos++;
      if (this.pathLength >= 4)
        this.fail(`a map at ${this.currentPath()}, which is a resource instance`, start);
      this.readMap(initial & 0x1f, start, this.childBranch(branch, last), depth + 1);
      return;
    }
    if (this.pathLength < 3) this.fail(`a value at ${this.currentPath()}, which is not a resource`, start);
    const id = this.ids[last] as number;
    if (branch.has(id)) this.fail(`${this.currentPath()} is given twice`, start);
    const item = this.readScalar(depth + 1);
    branch.set(id, this.typed(item, start));
  }

  /** The map at `ids[level]` below `branch`, created when new; a value there is a conflict. */
  private childBranch(branch: Branch, level: number): Branch {
    const id = this.ids[level] as number;
    const existing = branch.get(id);
    if (existing === undefined) {
      const created: Branch = new Map();
      branch.set(id, created);
      return created;
    }
    if (existing instanceof Map) return existing;
    return this.fail(`${this.currentPath(level + 1)} has a value and nested entries`);
  }

  private typed(item: CborScalar, start: number): TypedValue {
    const objectId = this.ids[0] as number;
    const resourceId = this.ids[2] as number;
    const definition = this.context.registry.getResource(objectId, resourceId);
    if (definition?.type === 'none')
      this.fail(`executable resource ${this.currentPath(3)} carries no value`, start);
    const type = definition?.type ?? guessType(item);
    try {
      return { type, value: toValue(item, type) };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return this.fail(`${message} at ${this.currentPath()}`, start);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Scalars

  private readScalar(depth: number): CborScalar {
    const start = this.pos;
    this.checkDepth(depth, start);
    const initial = this.next();
    const major = initial >> 5;
    const info = initial & 0x1f;
    switch (major) {
      case UNSIGNED:
        return { kind: 'integer', value: this.argument(info, start) };
      case NEGATIVE: {
        const n = this.argument(info, start);
        return { kind: 'integer', value: typeof n === 'bigint' ? normalizeInteger(-1n - n) : -1 - n };
      }
      case BYTES:
        // A copy, so the value neither pins nor sees later changes to the payload.
        return { kind: 'bytes', value: this.string(BYTES, info, start).slice() };
      case TEXT:
        return { kind: 'text', value: this.text(this.string(TEXT, info, start), start) };
      case TAG:
        return this.tagged(this.argument(info, start), start, depth);
      case SIMPLE:
        return this.simple(info, start);
      default:
        return this.fail('an array cannot be a resource value', start);
    }
  }

  /** The content of a byte or text string; a view on the payload when its length is definite. */
  private string(major: number, info: number, start: number): Uint8Array {
    if (info !== 31) {
      const length = this.length(info, start, 1);
      const value = this.bytes.subarray(this.pos, this.pos + length);
      this.pos += length;
      return value;
    }
    // Indefinite length: definite chunks of the same major type until a break (RFC 8949 §3.2.3).
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const chunkStart = this.pos;
      const head = this.next();
      if (head === BREAK) break;
      if (head >> 5 !== major || (head & 0x1f) === 31)
        this.fail('bad chunk in an indefinite-length string', chunkStart);
      if (++this.entries > this.context.limits.maxEntries) this.fail('too many string chunks', chunkStart);
      const chunk = this.string(major, head & 0x1f, chunkStart);
      chunks.push(chunk);
      total += chunk.byteLength;
    }
    const value = new Uint8Array(total);
    let offset = 0;
    for (const chunk of chunks) {
      value.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return value;
  }

  private text(bytes: Uint8Array, start: number): string {
    // Short ASCII text (most LwM2M strings) is cheaper to build directly than through TextDecoder.
    if (bytes.byteLength <= 64 && isAscii(bytes)) return String.fromCharCode(...bytes);
    try {
      return utf8Decoder.decode(bytes);
    } catch {
      return this.fail('text string is not valid UTF-8', start);
    }
  }

  private tagged(tag: number | bigint, start: number, depth: number): CborScalar {
    if (tag === TAG_DECIMAL_FRACTION) return this.decimalFraction(start, depth);
    const inner = this.readScalar(depth + 1);
    switch (tag) {
      case TAG_EPOCH:
        if (inner.kind !== 'integer' && inner.kind !== 'float') this.fail('tag 1 must hold a number', start);
        return { kind: 'epoch', value: inner.value };
      case TAG_DATE_TIME:
        if (inner.kind !== 'text') this.fail('tag 0 must hold a text string', start);
        return { kind: 'dateTime', value: inner.value };
      case TAG_POSITIVE_BIGNUM:
      case TAG_NEGATIVE_BIGNUM: {
        if (inner.kind !== 'bytes') this.fail(`tag ${tag} must hold a byte string`, start);
        if (inner.value.byteLength > MAX_BIGNUM_BYTES) this.fail('bignum too large', start);
        let n = 0n;
        for (const b of inner.value) n = (n << 8n) | BigInt(b);
        return { kind: 'integer', value: normalizeInteger(tag === TAG_POSITIVE_BIGNUM ? n : -1n - n) };
      }
      default:
        // A tag we do not know only annotates its content (RFC 8949 §3.4); keep the content.
        return inner;
    }
  }

  /** Tag 4 `[exponent, mantissa]` = mantissa × 10^exponent (RFC 8949 §3.4.4), as Anjay accepts. */
  private decimalFraction(start: number, depth: number): CborScalar {
    const head = this.next();
    if (head !== ((ARRAY << 5) | 2)) this.fail('tag 4 must hold a two-element array', start);
    const exponent = this.readScalar(depth + 1);
    const mantissa = this.readScalar(depth + 1);
    if (exponent.kind !== 'integer' || mantissa.kind !== 'integer')
      this.fail('tag 4 must hold two integers', start);
    if (typeof exponent.value === 'bigint' || Math.abs(exponent.value) > MAX_DECIMAL_EXPONENT) {
      this.fail('decimal fraction exponent out of range', start);
    }
    const m = Number(mantissa.value);
    // Dividing by a power of ten is exact where multiplying by its (inexact) reciprocal is not.
    const value = exponent.value < 0 ? m / 10 ** -exponent.value : m * 10 ** exponent.value;
    return { kind: 'float', value };
  }

  private simple(info: number, start: number): CborScalar {
    const pos = this.pos;
    switch (info) {
      case 20:
        return { kind: 'boolean', value: false };
      case 21:
        return { kind: 'boolean', value: true };
      case 22:
        // TS Core 1.2 uses null in Write-Composite to delete a resource instance; a node has no
        // way to say "remove", so it is refused rather than silently dropped.
        return this.fail('null (a Write-Composite removal) is not supported', start);
      case 25:
        this.need(2);
        this.pos += 2;
        return { kind: 'float', value: halfToNumber(this.view.getUint16(pos)) };
      case 26:
        this.need(4);
        this.pos += 4;
        return { kind: 'float', value: this.view.getFloat32(pos) };
      case 27:
        this.need(8);
        this.pos += 8;
        return { kind: 'float', value: this.view.getFloat64(pos) };
      case 31:
        return this.fail('unexpected break', start);
      default:
        return this.fail(`simple value ${info} is not a resource value`, start);
    }
  }
}

function mismatch(item: CborScalar, type: ResourceType): never {
  throw new DecodeError(`CBOR ${item.kind} cannot be the value of a ${type} resource`, { format: FORMAT });
}

/** Converts a scalar to the form of `type`; throws {@link DecodeError} when it does not fit. */
function toValue(item: CborScalar, type: ResourceType): ResourceValue {
  switch (type) {
    case 'string':
    case 'corelnk':
      return item.kind === 'text' ? item.value : mismatch(item, type);
    case 'integer':
    case 'unsigned':
    case 'float':
      // A peer may write a whole float as an integer or the reverse; the model decides.
      if (item.kind !== 'integer' && item.kind !== 'float') mismatch(item, type);
      return numberToTyped(type, item.value, FORMAT);
    case 'boolean':
      return item.kind === 'boolean' ? item.value : mismatch(item, type);
    case 'opaque':
      return item.kind === 'bytes' ? item.value : mismatch(item, type);
    case 'time':
      if (item.kind === 'epoch' || item.kind === 'integer' || item.kind === 'float') {
        return numberToTyped('time', item.value, FORMAT);
      }
      if (item.kind === 'dateTime') {
        const ms = DATE_TIME.test(item.value) ? Date.parse(item.value) : Number.NaN;
        if (Number.isNaN(ms))
          throw new DecodeError(`bad date-time ${JSON.stringify(item.value)}`, { format: FORMAT });
        return numberToTyped('time', Math.floor(ms / 1000), FORMAT);
      }
      return mismatch(item, type);
    case 'objlnk': {
      const link = item.kind === 'text' ? parseObjectLink(item.value) : undefined;
      return link ?? mismatch(item, type);
    }
    case 'none':
      return mismatch(item, type);
  }
}

function readTree(payload: Uint8Array, context: CodecContext): Branch {
  return new Lwm2mCborReader(payload, context).readRoot();
}

// ---------------------------------------------------------------------------------------------
// From the tree to nodes

function decodeFail(message: string): never {
  throw new DecodeError(`LwM2M CBOR: ${message}`, { format: FORMAT });
}

function buildResource(
  entry: Branch | TypedValue,
  objectId: number,
  resourceId: number,
  path: Lwm2mPath,
  registry: ObjectRegistry,
): ResourceNode {
  const definition = registry.getResource(objectId, resourceId);
  if (!(entry instanceof Map)) {
    if (definition?.multiple === true)
      decodeFail(`multiple-instance resource ${formatPath(path)} has a single value`);
    return singleResource(resourceId, entry.type, entry.value);
  }
  const instances = new Map<number, ResourceValue>();
  let type = definition?.type;
  for (const [riid, value] of entry) {
    // The reader stores only values one level below a resource.
    const leaf = value as TypedValue;
    type ??= leaf.type;
    instances.set(riid, leaf.value);
  }
  return multipleResource(resourceId, type ?? 'opaque', instances);
}

function buildInstance(
  branch: Branch,
  objectId: number,
  instanceId: number,
  registry: ObjectRegistry,
): ObjectInstanceNode {
  const resources: ResourceNode[] = [];
  for (const [rid, entry] of branch) {
    resources.push(buildResource(entry, objectId, rid, [objectId, instanceId, rid], registry));
  }
  return objectInstance(instanceId, resources);
}

/** The node at `path`, or undefined when the tree has nothing there. */
function nodeAt(root: Branch, path: Lwm2mPath, registry: ObjectRegistry): Lwm2mNode | undefined {
  let entry: Branch | TypedValue | undefined = root;
  for (let i = 0; i < path.length; i++) {
    if (!(entry instanceof Map)) {
      return decodeFail(
        `value at ${formatPath(path.slice(0, i) as unknown as Lwm2mPath)} is not below ${formatPath(path)}`,
      );
    }
    entry = entry.get(path[i] as number);
    if (entry === undefined) return undefined;
  }
  const objectId = path[0] as number;
  switch (path.length) {
    case 1: {
      const instances: ObjectInstanceNode[] = [];
      for (const [iid, branch] of entry as Branch)
        instances.push(buildInstance(branch as Branch, objectId, iid, registry));
      return objectNode(objectId, instances);
    }
    case 2:
      return buildInstance(entry as Branch, objectId, path[1] as number, registry);
    case 3:
      return buildResource(entry, objectId, path[2] as number, path, registry);
    case 4: {
      const leaf = entry as TypedValue;
      return resourceInstance(path[3] as number, leaf.type, leaf.value);
    }
    default:
      return decodeFail('the root path has no node');
  }
}

/** Throws unless everything in the tree lies on the way to `path` or below it. */
function checkWithin(root: Branch, path: Lwm2mPath): void {
  let branch: Branch = root;
  for (let i = 0; i < path.length; i++) {
    for (const id of branch.keys()) {
      if (id !== path[i]) {
        decodeFail(
          `${formatPath([...path.slice(0, i), id] as unknown as Lwm2mPath)} is outside ${formatPath(path)}`,
        );
      }
    }
    const next = branch.get(path[i] as number);
    if (next === undefined) return;
    if (!(next instanceof Map)) {
      if (i < path.length - 1)
        decodeFail(
          `value at ${formatPath(path.slice(0, i + 1) as unknown as Lwm2mPath)} is outside ${formatPath(path)}`,
        );
      return;
    }
    branch = next;
  }
}

function decode(payload: Uint8Array, path: Lwm2mPath, context: CodecContext): Lwm2mNode {
  if (path.length === 0) decodeFail('a single-path payload cannot target the root path');
  const root = readTree(payload, context);
  checkWithin(root, path);
  const node = nodeAt(root, path, context.registry);
  if (node !== undefined) return node;
  // Nothing at the path: an empty object, instance or multiple resource, when that can be empty.
  switch (path.length) {
    case 1:
      return objectNode(path[0] as number, []);
    case 2:
      return objectInstance(path[1] as number, []);
    case 3: {
      const definition = context.registry.getResource(path[0] as number, path[2] as number);
      if (definition?.multiple === true) return multipleResource(path[2] as number, definition.type, []);
      return decodeFail(`no value for ${formatPath(path)}`);
    }
    default:
      return decodeFail(`no value for ${formatPath(path)}`);
  }
}

/** Calls `visit` with the path and entry of every value and every empty map in the tree. */
function walk(
  branch: Branch,
  ids: number[],
  visit: (path: Lwm2mPath, entry: Branch | TypedValue) => void,
): void {
  for (const [id, entry] of branch) {
    ids.push(id);
    if (entry instanceof Map && entry.size > 0) walk(entry, ids, visit);
    else visit(ids.slice() as unknown as Lwm2mPath, entry);
    ids.pop();
  }
}

function decodeComposite(
  payload: Uint8Array,
  context: CodecContext,
  paths?: readonly Lwm2mPath[],
): Map<string, Lwm2mNode> {
  const root = readTree(payload, context);
  const out = new Map<string, Lwm2mNode>();
  const registry = context.registry;

  if (paths === undefined) {
    // Each value on its own; an empty multiple resource is kept as one, empty instances say nothing.
    walk(root, [], (path, entry) => {
      if (path.length === 4) {
        const leaf = entry as TypedValue;
        out.set(formatPath(path), resourceInstance(path[3] as number, leaf.type, leaf.value));
      } else if (path.length === 3) {
        const definition = registry.getResource(path[0] as number, path[2] as number);
        if (entry instanceof Map) {
          out.set(formatPath(path), multipleResource(path[2] as number, definition?.type ?? 'opaque', []));
        } else {
          if (definition?.multiple === true)
            decodeFail(`multiple-instance resource ${formatPath(path)} has a single value`);
          out.set(formatPath(path), singleResource(path[2] as number, entry.type, entry.value));
        }
      }
    });
    return out;
  }

  // A Read-Composite answer: everything must belong to a requested path; a path with nothing is left out.
  walk(root, [], (path) => {
    if (!paths.some((p) => isPathPrefix(p, path) || isPathPrefix(path, p))) {
      decodeFail(`${formatPath(path)} was not requested`);
    }
  });
  for (const path of paths) {
    if (path.length === 0) {
      for (const objectId of root.keys()) {
        const node = nodeAt(root, [objectId], registry);
        if (node !== undefined) out.set(formatPath([objectId]), node);
      }
      continue;
    }
    const node = nodeAt(root, path, registry);
    if (node !== undefined) out.set(formatPath(path), node);
  }
  return out;
}

function unsupportedPaths(): never {
  // TS Core gives Read-Composite / Observe-Composite request bodies (a list of paths) in SenML
  // JSON or SenML CBOR only; LwM2M CBOR has no form for a path without a value.
  throw new UnsupportedFormatError(
    FORMAT,
    'LwM2M CBOR cannot carry a list of paths; use SenML JSON or SenML CBOR',
  );
}

export const lwm2mCborFormat: CompositeFormat = {
  id: FORMAT,
  levels: LEVELS,
  encode: (node, path) => encode(node, path),
  decode,
  encodeComposite: (nodes) => encodeComposite(nodes),
  decodeComposite,
  encodePaths: () => unsupportedPaths(),
  decodePaths: () => unsupportedPaths(),
};
