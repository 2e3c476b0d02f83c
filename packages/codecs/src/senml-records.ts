/**
 * The SenML record model (RFC 8428) shared by SenML JSON (110), SenML CBOR (112) and the legacy
 * LwM2M JSON (11543, whose "e" entries are draft-SenML records): reading fields into records,
 * resolving base name / base time / base value into absolute paths, times and typed values
 * ({@link FlatEntry}), building nodes from those entries, and the reverse for encoding.
 *
 * Times: a resolved time (bt + t) below 2^28 is relative to the current time (RFC 8428 §4.5.3),
 * negative meaning in the past. Decoders resolve it against the `now` they are given (the
 * formats pass the context's clock, `Date.now()` by default); LwM2M JSON predates that rule and
 * passes no `now`, so its times are
 * always absolute, as Leshan reads them.
 */
import {
  DecodeError,
  EncodeError,
  InvalidPathError,
  MAX_ID,
  formatObjectLink,
  formatPath,
  isPathPrefix,
  multipleResource,
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
  ResourceType,
  ResourceValue,
} from '@lwm2m/core';
import { entriesToNode, nodeToEntries } from './flat.js';
import type {
  CodecContext,
  CompositeFormat,
  CompositeNodes,
  FlatEntry,
  TimestampedFormat,
  TimestampedNodes,
} from './types.js';
import {
  INT64_MAX,
  checkValue,
  normalizeInteger,
  numberToTyped,
  timeToSeconds,
  valueFromText,
} from './value-types.js';

/** A resolved time below this many seconds is relative to now (RFC 8428 §4.5.3). */
export const RELATIVE_TIME_LIMIT = 2 ** 28;

/** The SenML version this implementation understands (RFC 8428 §4.4, `bver`). */
export const SENML_VERSION = 10;

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
// Resolving records

export interface ResolveOptions {
  readonly format: number;
  /** Current time in seconds since the epoch; when given, resolved times below 2^28 are relative to it. */
  readonly now?: number;
  /** LwM2M JSON carries opaque values as base64 text in `sv`. */
  readonly opaqueAsText?: boolean;
}

/**
 * Resolves bn + n into a path. Lenient where peers differ: the leading slash may be missing
 * (`3/0/1`), a trailing one is ignored, and ids may carry leading zeros (Wakaama's tests send
 * `/67/0/00`). Ids must still be decimal and within 0..65534.
 */
function resolveName(baseName: string, name: string | undefined, format: number): Lwm2mPath {
  // Scanned by hand across both strings: this runs once per record, and neither a regex, split
  // nor the concatenated string (which the scan would have to flatten) is needed.
  const rest = name ?? '';
  const split = baseName.length;
  const length = split + rest.length;
  if (length === 0) throw decodeError('SenML record has no name and no base name', format);
  const ids: number[] = [];
  let pos = charAt(baseName, rest, 0) === 0x2f ? 1 : 0;
  while (pos < length) {
    let id = 0;
    let digits = 0;
    for (; pos < length; pos++) {
      const digit = charAt(baseName, rest, pos) - 0x30;
      if (digit < 0 || digit > 9) break;
      if (++digits > 10) break;
      id = id * 10 + digit;
    }
    if (digits === 0 || digits > 10) throw badName(baseName, rest, 'is not an LwM2M path', format);
    if (id > MAX_ID)
      throw decodeError(`id ${id} out of range in SenML name ${JSON.stringify(baseName + rest)}`, format);
    if (ids.length === 4) throw badName(baseName, rest, 'has more than 4 levels', format);
    ids.push(id);
    if (pos < length) {
      if (charAt(baseName, rest, pos) !== 0x2f) throw badName(baseName, rest, 'is not an LwM2M path', format);
      pos++;
    }
  }
  return ids as unknown as Lwm2mPath;
}

/** The character at `pos` of `a + b`. */
function charAt(a: string, b: string, pos: number): number {
  return pos < a.length ? a.charCodeAt(pos) : b.charCodeAt(pos - a.length);
}

function badName(baseName: string, rest: string, problem: string, format: number): DecodeError {
  return decodeError(`SenML name ${JSON.stringify(baseName + rest)} ${problem}`, format);
}

/** Decimal digits of an id (0..65534). */
function digitCount(id: number): number {
  return id < 10 ? 1 : id < 100 ? 2 : id < 1000 ? 3 : id < 10000 ? 4 : 5;
}

/**
 * True when `text`, which resolved to `path`, is exactly what formatPath(path) gives: a leading
 * slash, no trailing one, no leading zeros (those would make it longer than the ids need).
 */
function isFormattedPath(text: string, path: Lwm2mPath): boolean {
  if (path.length === 0 || text.charCodeAt(0) !== 0x2f || text.charCodeAt(text.length - 1) === 0x2f)
    return false;
  let length = path.length;
  for (let i = 0; i < path.length; i++) length += digitCount(path[i] as number);
  return text.length === length;
}

function resolveTime(
  baseTime: number | undefined,
  time: number | undefined,
  options: ResolveOptions,
): number | undefined {
  if (baseTime === undefined && time === undefined) return undefined;
  const sum = (baseTime ?? 0) + (time ?? 0);
  if (options.now !== undefined && sum < RELATIVE_TIME_LIMIT) return options.now + sum;
  return sum;
}

function addBaseValue(value: number | bigint, base: number | bigint | undefined): number | bigint {
  if (base === undefined) return value;
  if (typeof value === 'number' && typeof base === 'number') return value + base;
  const a = typeof value === 'bigint' ? value : Number.isInteger(value) ? BigInt(value) : undefined;
  const b = typeof base === 'bigint' ? base : Number.isInteger(base) ? BigInt(base) : undefined;
  if (a !== undefined && b !== undefined) return normalizeInteger(a + b);
  return Number(value) + Number(base);
}

function valueFieldCount(r: SenmlRecord): number {
  return (
    (r.v === undefined ? 0 : 1) +
    (r.vs === undefined ? 0 : 1) +
    (r.vb === undefined ? 0 : 1) +
    (r.vd === undefined ? 0 : 1) +
    (r.vlo === undefined ? 0 : 1)
  );
}

function presentField(r: SenmlRecord): string {
  if (r.v !== undefined) return 'v';
  if (r.vs !== undefined) return 'vs';
  if (r.vb !== undefined) return 'vb';
  if (r.vd !== undefined) return 'vd';
  return 'vlo';
}

function objectLinkValue(text: string, format: number): ObjectLink {
  const link = parseObjectLink(text);
  if (!link) throw decodeError(`${JSON.stringify(text)} is not an object link (e.g. 3:0)`, format);
  return link;
}

/** {@link numberToTyped}, without its bigint detour for the common small integers. */
function numericValue(
  type: 'integer' | 'unsigned' | 'float' | 'time',
  n: number | bigint,
  format: number,
): ResourceValue {
  if (
    typeof n === 'number' &&
    Number.isSafeInteger(n) &&
    (type === 'integer' || (type === 'unsigned' && n >= 0))
  )
    return n;
  return numberToTyped(type, n, format);
}

function mismatch(r: SenmlRecord, path: Lwm2mPath, type: ResourceType, format: number): never {
  throw decodeError(
    `${formatPath(path)} is a ${type} resource; the record carries ${presentField(r)}`,
    format,
  );
}

/** The typed value of a record at a resource or resource-instance path: the model's type, else the field's. */
function typedValue(
  r: SenmlRecord,
  path: Lwm2mPath,
  registry: ObjectRegistry,
  baseValue: number | bigint | undefined,
  options: ResolveOptions,
): { type: ResourceType; value: ResourceValue } {
  const format = options.format;
  const count = valueFieldCount(r);
  if (count === 0) throw decodeError(`SenML record ${formatPath(path)} has no value`, format);
  if (count > 1) throw decodeError(`SenML record ${formatPath(path)} has more than one value field`, format);
  const type = registry.getResource(path[0] as number, path[2] as number)?.type;
  switch (type) {
    case undefined:
      if (r.v !== undefined) {
        const n = addBaseValue(r.v, baseValue);
        if (typeof n === 'bigint') return { type: n > INT64_MAX ? 'unsigned' : 'integer', value: n };
        return { type: Number.isInteger(n) ? 'integer' : 'float', value: n };
      }
      if (r.vs !== undefined) return { type: 'string', value: r.vs };
      if (r.vb !== undefined) return { type: 'boolean', value: r.vb };
      if (r.vd !== undefined) return { type: 'opaque', value: r.vd };
      return { type: 'objlnk', value: objectLinkValue(r.vlo as string, format) };
    case 'none':
      throw decodeError(`executable resource ${formatPath(path)} carries no value`, format);
    case 'string':
    case 'corelnk':
      return r.vs === undefined ? mismatch(r, path, type, format) : { type, value: r.vs };
    case 'integer':
    case 'unsigned':
    case 'float':
    case 'time':
      return r.v === undefined
        ? mismatch(r, path, type, format)
        : { type, value: numericValue(type, addBaseValue(r.v, baseValue), format) };
    case 'boolean':
      return r.vb === undefined ? mismatch(r, path, type, format) : { type, value: r.vb };
    case 'opaque':
      if (r.vd !== undefined) return { type, value: r.vd };
      if (options.opaqueAsText === true && r.vs !== undefined)
        return { type, value: valueFromText('opaque', r.vs, format) };
      return mismatch(r, path, type, format);
    case 'objlnk':
      return r.vlo === undefined
        ? mismatch(r, path, type, format)
        : { type, value: objectLinkValue(r.vlo, format) };
  }
}

function checkVersion(r: SenmlRecord, format: number): void {
  if (r.bver !== undefined && r.bver > SENML_VERSION) {
    throw decodeError(`SenML version ${r.bver} is newer than the supported ${SENML_VERSION}`, format);
  }
}

/** A resolved value, with its path as text when the payload spelled it as formatPath would. */
export interface ResolvedEntry extends FlatEntry {
  readonly key?: string;
}

/**
 * Resolves records into typed resource and resource-instance values: base name + name into a
 * path, base time + time into an absolute time, base value + value, and the model's type.
 */
export function recordsToEntries(
  records: readonly SenmlRecord[],
  registry: ObjectRegistry,
  options: ResolveOptions,
): ResolvedEntry[] {
  const format = options.format;
  const out: ResolvedEntry[] = [];
  let baseName = '';
  let baseTime: number | undefined;
  let baseValue: number | bigint | undefined;
  for (const r of records) {
    checkVersion(r, format);
    if (r.bn !== undefined) baseName = r.bn;
    if (r.bt !== undefined) baseTime = r.bt;
    if (r.bv !== undefined) baseValue = r.bv;
    const path = resolveName(baseName, r.n, format);
    if (path.length < 3) {
      throw decodeError(`SenML record ${formatPath(path)} is not a resource or resource instance`, format);
    }
    const { type, value } = typedValue(r, path, registry, baseValue, options);
    const time = resolveTime(baseTime, r.t, options);
    // A record named by its base name alone (as composites are written) already has its key.
    const key = r.n === undefined && isFormattedPath(baseName, path) ? baseName : undefined;
    out.push(
      time === undefined
        ? key === undefined
          ? { path, type, value }
          : { path, type, value, key }
        : key === undefined
          ? { path, type, value, time }
          : { path, type, value, time, key },
    );
  }
  return out;
}

/** The paths of a Read-Composite / Observe-Composite request body (records with bn/n only; values ignored). */
export function recordsToPaths(records: readonly SenmlRecord[], format: number): Lwm2mPath[] {
  const out: Lwm2mPath[] = [];
  let baseName = '';
  for (const r of records) {
    checkVersion(r, format);
    if (r.bn !== undefined) baseName = r.bn;
    out.push(resolveName(baseName, r.n, format));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Building nodes from entries

/**
 * Drops superseded values: when one path has several timestamped values (a historical
 * notification read as a plain one), the latest stays. Untimed duplicates are left for
 * {@link entriesToNode} to reject.
 */
function latestValues<T extends FlatEntry>(entries: readonly T[]): readonly T[] {
  let seen: Map<string, number> | undefined;
  let dropped: Set<number> | undefined;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as T;
    if (e.time === undefined) continue;
    seen ??= new Map();
    const key = formatPath(e.path);
    const j = seen.get(key);
    if (j === undefined) {
      seen.set(key, i);
      continue;
    }
    dropped ??= new Set();
    const other = entries[j] as T;
    if (other.time !== undefined && other.time > e.time) {
      dropped.add(i);
    } else {
      dropped.add(j);
      seen.set(key, i);
    }
  }
  if (!dropped) return entries;
  return entries.filter((_, i) => !(dropped as Set<number>).has(i));
}

/**
 * The node at `path` (object, instance, resource or resource instance) from the entries below it.
 * A resource path with no entries is an empty multiple resource when the model allows one.
 */
export function buildNode(
  entries: readonly FlatEntry[],
  path: Lwm2mPath,
  registry: ObjectRegistry,
  format: number,
): Lwm2mNode {
  if (entries.length === 0 && path.length === 3) {
    const definition = registry.getResource(path[0], path[2]);
    if (definition === undefined || definition.multiple) {
      return multipleResource(path[2], definition?.type ?? 'opaque', []);
    }
  }
  return entriesToNode(latestValues(entries), path, registry, format);
}

/**
 * Composite decoding: with `paths`, values grouped into one node per requested path (a path with
 * no value is left out; the root path yields one node per object); without, one node per value.
 * A value outside every requested path fails.
 */
export function buildComposite(
  entries: readonly ResolvedEntry[],
  registry: ObjectRegistry,
  format: number,
  paths?: readonly Lwm2mPath[],
): Map<string, Lwm2mNode> {
  const out = new Map<string, Lwm2mNode>();
  const latest = latestValues(entries);
  if (paths === undefined) {
    for (const e of latest) {
      const key = e.key ?? formatPath(e.path);
      const size = out.size;
      out.set(key, valueNode(e, registry, format));
      if (out.size === size) throw decodeError(`duplicate value for ${key}`, format);
    }
    return out;
  }
  const covered = new Uint8Array(latest.length);
  for (const path of paths) {
    const below: FlatEntry[] = [];
    for (let i = 0; i < latest.length; i++) {
      const e = latest[i] as FlatEntry;
      if (isPathPrefix(path, e.path)) {
        below.push(e);
        covered[i] = 1;
      }
    }
    if (below.length === 0) continue;
    if (path.length === 0) {
      for (const [objectId, list] of groupByObject(below)) {
        out.set(formatPath([objectId]), entriesToNode(list, [objectId], registry, format));
      }
    } else {
      out.set(formatPath(path), entriesToNode(below, path, registry, format));
    }
  }
  const stray = covered.indexOf(0);
  if (stray >= 0) {
    throw decodeError(
      `value at ${formatPath((latest[stray] as FlatEntry).path)} is outside the requested paths`,
      format,
    );
  }
  return out;
}

/** The node of one value on its own: a resource instance, or a single resource unless the model says multiple. */
function valueNode(e: FlatEntry, registry: ObjectRegistry, format: number): Lwm2mNode {
  const path = e.path;
  if (path.length === 4) return resourceInstance(path[3], e.type, e.value);
  if (registry.getResource(path[0] as number, path[2] as number)?.multiple === true) {
    throw decodeError(`resource ${formatPath(path)} mixes a single value with instances`, format);
  }
  return singleResource(path[2] as number, e.type, e.value);
}

function groupByObject(entries: readonly FlatEntry[]): Map<number, FlatEntry[]> {
  const groups = new Map<number, FlatEntry[]>();
  for (const e of entries) {
    const id = e.path[0] as number;
    let list = groups.get(id);
    if (!list) groups.set(id, (list = []));
    list.push(e);
  }
  return groups;
}

/**
 * Groups entries by time, in order of first appearance. At a non-root `path` each instant holds
 * the one node at `path`; at the root (Send), one node per value as {@link buildComposite} does.
 */
export function buildTimestamped(
  entries: readonly FlatEntry[],
  path: Lwm2mPath,
  registry: ObjectRegistry,
  format: number,
): TimestampedNodes[] {
  const groups = new Map<number | undefined, FlatEntry[]>();
  for (const e of entries) {
    let list = groups.get(e.time);
    if (!list) groups.set(e.time, (list = []));
    list.push(e);
  }
  if (groups.size === 0) groups.set(undefined, []);
  const out: TimestampedNodes[] = [];
  for (const [time, list] of groups) {
    const nodes =
      path.length === 0
        ? buildComposite(list, registry, format)
        : new Map([[formatPath(path), buildNode(list, path, registry, format)] as const]);
    out.push(time === undefined ? { nodes } : { time, nodes });
  }
  return out;
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
 * Appends the records of `node` at `path` in the compact form Leshan writes: the first record
 * carries the base name, the others a name relative to it. Returns how many records it added.
 * `pathText` is `formatPath(path)` when the caller has it already.
 */
export function appendNodeRecords(
  node: Lwm2mNode,
  path: Lwm2mPath,
  format: number,
  out: SenmlRecord[],
  pathText?: string,
): number {
  // One value at its own path, as most composite entries are: no entry list needed.
  if (
    ((node.kind === 'resource' && path.length === 3) ||
      (node.kind === 'resourceInstance' && path.length === 4)) &&
    node.id === path[path.length - 1]
  ) {
    const record = newRecord();
    record.bn = pathText ?? formatPath(path);
    setRecordValue(record, node.type, node.value, format);
    out.push(record);
    return 1;
  }
  if (node.kind === 'objectInstance' && path.length === 2 && node.id === path[1]) {
    return appendInstanceRecords(node, (pathText ?? formatPath(path)) + '/', format, out);
  }
  const entries = nodeToEntriesChecked(node, path, format);
  const base = baseNameFor(entries, path, pathText);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as FlatEntry;
    const record = newRecord();
    if (i === 0) record.bn = base;
    const n = relativeName(e.path, path.length);
    if (n !== undefined) record.n = n;
    setRecordValue(record, e.type, e.value, format);
    out.push(record);
  }
  return entries.length;
}

/**
 * The records of an object instance under the base name `base` (`/3/0/`), straight from its
 * resources: what {@link appendNodeRecords} would write through entries, without them.
 */
function appendInstanceRecords(
  instance: ObjectInstanceNode,
  base: string,
  format: number,
  out: SenmlRecord[],
): number {
  const start = out.length;
  for (const resource of instance.resources.values()) {
    if (resource.kind === 'resource') {
      const record = newRecord();
      record.n = String(resource.id);
      setRecordValue(record, resource.type, resource.value, format);
      out.push(record);
      continue;
    }
    const prefix = String(resource.id) + '/';
    for (const [riid, value] of resource.instances) {
      const record = newRecord();
      record.n = prefix + String(riid);
      setRecordValue(record, resource.type, value, format);
      out.push(record);
    }
  }
  const first = out[start];
  if (first) first.bn = base;
  return out.length - start;
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
function formattedKey(key: string): string | undefined {
  return key.charCodeAt(key.length - 1) === 0x2f ? undefined : key;
}

/** The records of a composite payload (Read-Composite response, Write-Composite, Send): each node with its own base name. */
export function compositeRecords(nodes: CompositeNodes, format: number): SenmlRecord[] {
  const out: SenmlRecord[] = [];
  for (const [key, node] of nodes)
    appendNodeRecords(node, compositeKeyPath(key, format), format, out, formattedKey(key));
  return out;
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
): SenmlRecord[] {
  const out: SenmlRecord[] = [];
  const ordered = [...data.filter((d) => d.time === undefined), ...data.filter((d) => d.time !== undefined)];
  for (const { time, nodes } of ordered) {
    if (time !== undefined && !(Number.isFinite(time) && time >= RELATIVE_TIME_LIMIT)) {
      throw encodeError(
        `time ${time} is not an absolute SenML time (seconds since the epoch, at least 2^28)`,
        format,
      );
    }
    const start = out.length;
    for (const [key, node] of nodes) {
      const nodePath = compositeKeyPath(key, format);
      if (!isPathPrefix(path, nodePath))
        throw encodeError(`node at ${key} is not below ${formatPath(path)}`, format);
      appendNodeRecords(node, nodePath, format, out, formattedKey(key));
    }
    const first = out[start];
    if (time !== undefined && first) first.bt = time;
  }
  return out;
}

/** The records of a Read-Composite / Observe-Composite request body: one name per path. */
export function pathRecords(paths: readonly Lwm2mPath[]): SenmlRecord[] {
  return paths.map((p) => ({ n: formatPath(p) }));
}

// ---------------------------------------------------------------------------------------------
// The SenML formats

/** Reads a payload into records, honouring the context's limits; throws {@link DecodeError}. */
export type ReadRecords = (payload: Uint8Array, context: CodecContext) => SenmlRecord[];
/** Writes records; throws {@link EncodeError} for a value the representation cannot carry. */
export type WriteRecords = (records: readonly SenmlRecord[]) => Uint8Array;

const SENML_LEVELS: ReadonlySet<PathLevel> = new Set<PathLevel>([
  'object',
  'objectInstance',
  'resource',
  'resourceInstance',
]);

/** Seconds since the epoch by the context's clock, against which relative SenML times resolve. */
function nowSeconds(context: CodecContext): number {
  return (context.now === undefined ? Date.now() : context.now()) / 1000;
}

/**
 * A SenML format (JSON or CBOR) from its record reader and writer: single-path, composite,
 * path-list and timestamped operations all work on records and differ only in representation.
 * Timestamped operations also accept the root path (Send): values at any path, one node each.
 */
export function createSenmlFormat(
  id: number,
  read: ReadRecords,
  write: WriteRecords,
): CompositeFormat & TimestampedFormat {
  const entries = (payload: Uint8Array, context: CodecContext): FlatEntry[] =>
    recordsToEntries(read(payload, context), context.registry, { format: id, now: nowSeconds(context) });
  return {
    id,
    levels: SENML_LEVELS,
    encode(node, path) {
      const records: SenmlRecord[] = [];
      appendNodeRecords(node, path, id, records);
      return write(records);
    },
    decode(payload, path, context) {
      return buildNode(entries(payload, context), path, context.registry, id);
    },
    encodeComposite(nodes) {
      return write(compositeRecords(nodes, id));
    },
    decodeComposite(payload, context, paths) {
      return buildComposite(entries(payload, context), context.registry, id, paths);
    },
    encodePaths(paths) {
      return write(pathRecords(paths));
    },
    decodePaths(payload, context) {
      return recordsToPaths(read(payload, context), id);
    },
    encodeTimestamped(data, path) {
      return write(timestampedRecords(data, path, id));
    },
    decodeTimestamped(payload, path, context) {
      return buildTimestamped(entries(payload, context), path, context.registry, id);
    },
  };
}
