/**
 * The SenML record model (RFC 8428) shared by SenML JSON (110), SenML CBOR (112) and the legacy
 * LwM2M JSON (11543, whose "e" entries are draft-SenML records): reading fields into records,
 * records from nodes for encoding, and the SenML formats made of a record reader and writer.
 * Decoding records into nodes is senml-resolver.ts.
 */
import {
  DecodeError,
  EncodeError,
  InvalidPathError,
  formatObjectLink,
  formatPath,
  isPathPrefix,
  parsePath,
} from '@lwm2m/core';
import type {
  Lwm2mNode,
  Lwm2mPath,
  ObjectInstanceNode,
  ObjectLink,
  PathLevel,
  ResourceType,
  ResourceValue,
} from '@lwm2m/core';
import { nodeToEntries } from './flat.js';
import {
  EntrySink,
  NodeSink,
  PathSink,
  RELATIVE_TIME_LIMIT,
  ValueNodesSink,
  buildComposite,
  buildTimestamped,
} from './senml-resolver.js';
import type { RecordSink, ResolveOptions } from './senml-resolver.js';
import type {
  CodecContext,
  CompositeFormat,
  CompositeNodes,
  FlatEntry,
  TimestampedFormat,
  TimestampedNodes,
} from './types.js';
import { checkValue, normalizeInteger, timeToSeconds } from './value-types.js';

/** One SenML record as read from a payload or about to be written: the fields LwM2M uses. */
export interface SenmlRecord {
  bn?: string | undefined;
  bt?: number | undefined;
  bv?: number | bigint | undefined;
  bver?: number | undefined;
  n?: string | undefined;
  t?: number | undefined;
  v?: number | bigint | undefined;
  vs?: string | undefined;
  vb?: boolean | undefined;
  vd?: Uint8Array | undefined;
  /** LwM2M's object link value, `3:0` (TS Core §7.4.4). */
  vlo?: string | undefined;
}

/**
 * A record with every field present (undefined): records made here all share one shape, which
 * keeps field reads in the resolving loop monomorphic (fields added in payload order would not).
 */
export function newRecord(): SenmlRecord {
  return {
    bn: undefined,
    bt: undefined,
    bv: undefined,
    bver: undefined,
    n: undefined,
    t: undefined,
    v: undefined,
    vs: undefined,
    vb: undefined,
    vd: undefined,
    vlo: undefined,
  };
}

/** Empties a record made by {@link newRecord}, for a reader that reuses it for the next record. */
export function clearRecord(r: SenmlRecord): void {
  r.bn = undefined;
  r.bt = undefined;
  r.bv = undefined;
  r.bver = undefined;
  r.n = undefined;
  r.t = undefined;
  r.v = undefined;
  r.vs = undefined;
  r.vb = undefined;
  r.vd = undefined;
  r.vlo = undefined;
}

/** SenML CBOR integer labels (RFC 8428 §6, Table 6) by field name; `vlo` has none and stays a text key. */
export const CBOR_LABELS = {
  bver: -1,
  bn: -2,
  bt: -3,
  bu: -4,
  bv: -5,
  bs: -6,
  n: 0,
  u: 1,
  v: 2,
  vs: 3,
  vb: 4,
  s: 5,
  t: 6,
  ut: 7,
  vd: 8,
} as const;

/** Field names by CBOR label. */
export const CBOR_FIELD_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(CBOR_LABELS).map(([name, label]) => [label, name] as const),
);

const BASE64_ANY = /^[A-Za-z0-9+/_-]*={0,2}$/;

function decodeError(message: string, format: number): DecodeError {
  return new DecodeError(message, { format });
}

function encodeError(message: string, format: number): EncodeError {
  return new EncodeError(message, { format });
}

// ---------------------------------------------------------------------------------------------
// Reading fields

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return 'bytes';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function expectString(name: string, value: unknown, format: number): string {
  if (typeof value !== 'string')
    throw decodeError(`SenML field ${name} must be a string, got ${typeName(value)}`, format);
  return value;
}

function expectNumber(name: string, value: unknown, format: number): number | bigint {
  if (typeof value === 'bigint') return normalizeInteger(value);
  if (typeof value !== 'number')
    throw decodeError(`SenML field ${name} must be a number, got ${typeName(value)}`, format);
  return value;
}

function expectSeconds(name: string, value: unknown, format: number): number {
  const n = Number(expectNumber(name, value, format));
  if (!Number.isFinite(n))
    throw decodeError(`SenML field ${name} must be a finite number of seconds`, format);
  return n;
}

/** Opaque bytes: a byte string (CBOR) or base64url / base64 text with or without padding (JSON). */
function expectBytes(name: string, value: unknown, format: number): Uint8Array {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (typeof value === 'string') {
    if (!BASE64_ANY.test(value) || value.length % 4 === 1) {
      throw decodeError(`SenML field ${name} is not base64url`, format);
    }
    return new Uint8Array(Buffer.from(value, 'base64'));
  }
  throw decodeError(`SenML field ${name} must be bytes or base64url text, got ${typeName(value)}`, format);
}

/** The fields {@link setRecordField} stores; a reader may skip any other without reading its value. */
export const RECORD_FIELDS: ReadonlySet<string> = new Set([
  'bn',
  'bt',
  'bv',
  'bver',
  'n',
  't',
  'v',
  'vs',
  'vb',
  'vd',
  'vlo',
]);

/** Fails for an unknown field that must be understood: its name ends in `_` (RFC 8428 §4.4). */
export function checkUnknownField(name: string, format: number): void {
  if (name.endsWith('_'))
    throw decodeError(`SenML field ${JSON.stringify(name)} must be understood but is not supported`, format);
}

/**
 * Stores one field of a record, checking its JS type. Fields LwM2M does not use (units, sums,
 * update time) are skipped; an unknown field whose name ends in `_` must be understood
 * (RFC 8428 §4.4), so it fails.
 */
export function setRecordField(record: SenmlRecord, name: string, value: unknown, format: number): void {
  switch (name) {
    case 'bn':
      record.bn = expectString(name, value, format);
      return;
    case 'bt':
      record.bt = expectSeconds(name, value, format);
      return;
    case 'bv':
      record.bv = expectNumber(name, value, format);
      return;
    case 'bver':
      record.bver = Number(expectNumber(name, value, format));
      return;
    case 'n':
      record.n = expectString(name, value, format);
      return;
    case 't':
      record.t = expectSeconds(name, value, format);
      return;
    case 'v':
      record.v = expectNumber(name, value, format);
      return;
    case 'vs':
      record.vs = expectString(name, value, format);
      return;
    case 'vb':
      if (typeof value !== 'boolean')
        throw decodeError(`SenML field vb must be a boolean, got ${typeName(value)}`, format);
      record.vb = value;
      return;
    case 'vd':
      record.vd = expectBytes(name, value, format);
      return;
    case 'vlo':
      record.vlo = expectString(name, value, format);
      return;
    default:
      checkUnknownField(name, format);
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** Sets the value field of `record` for a typed value, after checking the value fits its type. */
export function setRecordValue(
  record: SenmlRecord,
  type: ResourceType,
  value: ResourceValue,
  format: number,
): void {
  checkValue(type, value, format);
  switch (type) {
    case 'string':
    case 'corelnk':
      record.vs = value as string;
      return;
    case 'integer':
    case 'unsigned':
    case 'float':
      record.v = value as number | bigint;
      return;
    case 'time':
      record.v = timeToSeconds(value as Date);
      return;
    case 'boolean':
      record.vb = value as boolean;
      return;
    case 'opaque':
      record.vd = value as Uint8Array;
      return;
    case 'objlnk':
      record.vlo = formatObjectLink(value as ObjectLink);
      return;
    case 'none':
      // checkValue has thrown already.
      throw encodeError('an executable resource carries no value', format);
  }
}

/**
 * The base name for the entries of a node at `path`: the path itself when the node is one value
 * (`/3/0/0`), else the path with a trailing slash (`/3/0/`) so each record's name is relative.
 */
export function baseNameFor(
  entries: readonly FlatEntry[],
  path: Lwm2mPath,
  pathText = formatPath(path),
): string {
  let single = entries.length > 0;
  for (let i = 0; single && i < entries.length; i++)
    single = (entries[i] as FlatEntry).path.length === path.length;
  if (single) return pathText;
  return path.length === 0 ? '/' : pathText + '/';
}

export function relativeName(entryPath: Lwm2mPath, depth: number): string | undefined {
  if (entryPath.length === depth) return undefined;
  let name = String(entryPath[depth]);
  for (let i = depth + 1; i < entryPath.length; i++) name += '/' + String(entryPath[i]);
  return name;
}

/**
 * Hands records to `out` one by one through one reused record, remembering whether one went out
 * yet: the first record of a node carries its base name, the first of an instant its base time.
 */
class RecordEmitter {
  readonly record: SenmlRecord = newRecord();
  /** Records handed out so far. */
  count = 0;
  /** Base time the next record carries (the first one of an instant). */
  pendingTime: number | undefined;
  private readonly out: RecordSink;

  constructor(out: RecordSink) {
    this.out = out;
  }

  /** The record to fill for the next value, empty but for a pending base time. */
  next(): SenmlRecord {
    const record = this.record;
    clearRecord(record);
    if (this.pendingTime !== undefined) {
      record.bt = this.pendingTime;
      this.pendingTime = undefined;
    }
    return record;
  }

  emit(): void {
    this.count++;
    this.out.record(this.record);
  }
}

/**
 * Emits the records of `node` at `path` in the compact form Leshan writes: the first record
 * carries the base name, the others a name relative to it. `pathText` is `formatPath(path)` when
 * the caller has it already.
 */
function emitNodeRecords(
  node: Lwm2mNode,
  path: Lwm2mPath,
  format: number,
  out: RecordEmitter,
  pathText?: string,
): void {
  // One value at its own path, as most composite entries are: no entry list needed.
  if (
    ((node.kind === 'resource' && path.length === 3) ||
      (node.kind === 'resourceInstance' && path.length === 4)) &&
    node.id === path[path.length - 1]
  ) {
    const record = out.next();
    record.bn = pathText ?? formatPath(path);
    setRecordValue(record, node.type, node.value, format);
    out.emit();
    return;
  }
  if (node.kind === 'objectInstance' && path.length === 2 && node.id === path[1]) {
    emitInstanceRecords(node, (pathText ?? formatPath(path)) + '/', format, out);
    return;
  }
  const entries = nodeToEntriesChecked(node, path, format);
  const base = baseNameFor(entries, path, pathText);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as FlatEntry;
    const record = out.next();
    if (i === 0) record.bn = base;
    const n = relativeName(e.path, path.length);
    if (n !== undefined) record.n = n;
    setRecordValue(record, e.type, e.value, format);
    out.emit();
  }
}

/**
 * The records of an object instance under the base name `base` (`/3/0/`), straight from its
 * resources: what {@link emitNodeRecords} would write through entries, without them.
 */
function emitInstanceRecords(
  instance: ObjectInstanceNode,
  base: string,
  format: number,
  out: RecordEmitter,
): void {
  let first = true;
  for (const resource of instance.resources.values()) {
    if (resource.kind === 'resource') {
      const record = out.next();
      if (first) record.bn = base;
      first = false;
      record.n = String(resource.id);
      setRecordValue(record, resource.type, resource.value, format);
      out.emit();
      continue;
    }
    const prefix = String(resource.id) + '/';
    for (const [riid, value] of resource.instances) {
      const record = out.next();
      if (first) record.bn = base;
      first = false;
      record.n = prefix + String(riid);
      setRecordValue(record, resource.type, value, format);
      out.emit();
    }
  }
}

/** Hands the records of `node` at `path` to `out`, one reused record at a time. */
export function nodeRecords(node: Lwm2mNode, path: Lwm2mPath, format: number, out: RecordSink): void {
  emitNodeRecords(node, path, format, new RecordEmitter(out));
}

/** {@link nodeToEntries} with a mismatch between node and path reported for this format. */
export function nodeToEntriesChecked(node: Lwm2mNode, path: Lwm2mPath, format: number): FlatEntry[] {
  if (path.length === 0) throw encodeError('a single node cannot be written at the root path', format);
  try {
    return nodeToEntries(node, path);
  } catch (error) {
    if (error instanceof EncodeError && error.format === undefined) {
      throw new EncodeError(error.message, { format, cause: error });
    }
    throw error;
  }
}

/** Parses a composite key (`/3/0/1`), reporting a bad one as an {@link EncodeError}. */
export function compositeKeyPath(key: string, format: number): Lwm2mPath {
  try {
    return parsePath(key);
  } catch (error) {
    if (error instanceof InvalidPathError)
      throw new EncodeError(`invalid composite path ${JSON.stringify(key)}`, { format, cause: error });
    throw error;
  }
}

/**
 * The key itself when it is what formatPath gives for its path: parsePath accepts no other
 * spelling of ids, so only a trailing slash (or the root) differs.
 */
export function formattedKey(key: string): string | undefined {
  return key.charCodeAt(key.length - 1) === 0x2f ? undefined : key;
}

/** The records of a composite payload (Read-Composite response, Write-Composite, Send): each node with its own base name. */
export function compositeRecords(nodes: CompositeNodes, format: number, out: RecordSink): void {
  const emitter = new RecordEmitter(out);
  for (const [key, node] of nodes)
    emitNodeRecords(node, compositeKeyPath(key, format), format, emitter, formattedKey(key));
}

/**
 * The records of timestamped data: each instant's records in turn, the first carrying `bt`.
 * Untimed instants go first, because a base time stays in force until the next one and so
 * cannot be taken back. Times must be absolute (at least 2^28 s), which SenML cannot otherwise tell
 * from relative ones. Nodes must lie at or below `path`.
 */
export function timestampedRecords(
  data: readonly TimestampedNodes[],
  path: Lwm2mPath,
  format: number,
  out: RecordSink,
): void {
  const emitter = new RecordEmitter(out);
  const ordered = [...data.filter((d) => d.time === undefined), ...data.filter((d) => d.time !== undefined)];
  for (const { time, nodes } of ordered) {
    if (time !== undefined && !(Number.isFinite(time) && time >= RELATIVE_TIME_LIMIT)) {
      throw encodeError(
        `time ${time} is not an absolute SenML time (seconds since the epoch, at least 2^28)`,
        format,
      );
    }
    // An instant whose nodes yield no record says nothing, its time included.
    emitter.pendingTime = time;
    for (const [key, node] of nodes) {
      const nodePath = compositeKeyPath(key, format);
      if (!isPathPrefix(path, nodePath))
        throw encodeError(`node at ${key} is not below ${formatPath(path)}`, format);
      emitNodeRecords(node, nodePath, format, emitter, formattedKey(key));
    }
  }
}

/** The records of a Read-Composite / Observe-Composite request body: one name per path. */
export function pathRecords(paths: readonly Lwm2mPath[], out: RecordSink): void {
  const record = newRecord();
  for (const p of paths) {
    clearRecord(record);
    record.n = formatPath(p);
    out.record(record);
  }
}

// ---------------------------------------------------------------------------------------------
// The SenML formats

/**
 * Reads a payload, handing each record to `sink` in turn (possibly one reused record object),
 * honouring the context's limits; throws {@link DecodeError}.
 */
export type ReadRecords = (payload: Uint8Array, context: CodecContext, sink: RecordSink) => void;
/**
 * Writes the records handed to it (the record object may be reused for the next one); `finish`
 * gives the payload. Throws {@link EncodeError} for a value the representation cannot carry.
 */
export interface RecordWriter extends RecordSink {
  finish(): Uint8Array;
}

const SENML_LEVELS: ReadonlySet<PathLevel> = new Set<PathLevel>([
  'object',
  'objectInstance',
  'resource',
  'resourceInstance',
]);

/**
 * A SenML format (JSON or CBOR) from its record reader and writer: single-path, composite,
 * path-list and timestamped operations all work on records and differ only in representation.
 * Timestamped operations also accept the root path (Send): values at any path, one node each.
 */
export function createSenmlFormat(
  id: number,
  read: ReadRecords,
  createWriter: () => RecordWriter,
): CompositeFormat & TimestampedFormat {
  const options = (context: CodecContext): ResolveOptions => ({ format: id, clock: context.now ?? Date.now });
  const entries = (payload: Uint8Array, context: CodecContext): FlatEntry[] => {
    const sink = new EntrySink(context.registry, options(context));
    read(payload, context, sink);
    return sink.entries;
  };
  return {
    id,
    levels: SENML_LEVELS,
    encode(node, path) {
      const writer = createWriter();
      nodeRecords(node, path, id, writer);
      return writer.finish();
    },
    decode(payload, path, context) {
      const sink = new NodeSink(path, context.registry, options(context));
      read(payload, context, sink);
      return sink.node();
    },
    encodeComposite(nodes) {
      const writer = createWriter();
      compositeRecords(nodes, id, writer);
      return writer.finish();
    },
    decodeComposite(payload, context, paths) {
      if (paths !== undefined) return buildComposite(entries(payload, context), context.registry, id, paths);
      const sink = new ValueNodesSink(context.registry, options(context));
      read(payload, context, sink);
      return sink.nodes;
    },
    encodePaths(paths) {
      const writer = createWriter();
      pathRecords(paths, writer);
      return writer.finish();
    },
    decodePaths(payload, context) {
      const sink = new PathSink(context.registry, id);
      read(payload, context, sink);
      return sink.paths;
    },
    encodeTimestamped(data, path) {
      const writer = createWriter();
      timestampedRecords(data, path, id, writer);
      return writer.finish();
    },
    decodeTimestamped(payload, path, context) {
      return buildTimestamped(entries(payload, context), path, context.registry, id);
    },
  };
}
