/**
 * Decoding SenML records (SenML JSON 110, SenML CBOR 112, LwM2M JSON 11543) into nodes: base name
 * + name into a path, base time + time into an absolute time, base value + value, the model's
 * type. Readers hand records one at a time to a {@link RecordSink}; the sinks here resolve each
 * on the spot and build nodes as they go (a single-path read, a composite of single values) or
 * collect entries where the whole payload must be seen first (grouping by requested path or time).
 *
 * Times: a resolved time (bt + t) below 2^28 is relative to the current time (RFC 8428 §4.5.3),
 * negative meaning in the past. Decoders resolve it against the `now` they are given (the
 * formats pass the context's clock, `Date.now()` by default); LwM2M JSON predates that rule and
 * passes no clock, so its times are always absolute, as Leshan reads them.
 */
import {
  DecodeError,
  MAX_ID,
  formatPath,
  isPathPrefix,
  multipleResource,
  parseObjectLink,
  resourceInstance,
  singleResource,
} from '@lwm2m/core';
import type {
  Lwm2mNode,
  Lwm2mPath,
  ObjectDefinition,
  ObjectLink,
  ObjectRegistry,
  ResourceDefinition,
  ResourceType,
  ResourceValue,
} from '@lwm2m/core';
import { NodeAssembler, entriesToNode } from './flat.js';
import type { SenmlRecord } from './senml-records.js';
import type { FlatEntry, TimestampedNodes } from './types.js';
import { INT64_MAX, normalizeInteger, numberToTyped, valueFromText } from './value-types.js';

/** A resolved time below this many seconds is relative to now (RFC 8428 §4.5.3). */
export const RELATIVE_TIME_LIMIT = 2 ** 28;

/** The SenML version this implementation understands (RFC 8428 §4.4, `bver`). */
export const SENML_VERSION = 10;

/**
 * Takes the records of a payload in order. A reader may reuse one record object for the next
 * record, so a sink must not keep it.
 */
export interface RecordSink {
  record(r: SenmlRecord): void;
}

export interface ResolveOptions {
  readonly format: number;
  /**
   * The clock, in milliseconds since the epoch (as `Date.now`); when given, resolved times below
   * 2^28 s are relative to it. Read at most once per payload, and only when a relative time needs it.
   */
  readonly clock?: () => number;
  /** LwM2M JSON carries opaque values as base64 text in `sv`. */
  readonly opaqueAsText?: boolean;
}

function decodeError(message: string, format: number): DecodeError {
  return new DecodeError(message, { format });
}

/** The character at `pos` of `a + b`. */
function charAt(a: string, b: string, pos: number): number {
  return pos < a.length ? a.charCodeAt(pos) : b.charCodeAt(pos - a.length);
}

/**
 * Reads plain ids from `text` at `pos` into `ids` after the first `count`: 1 to 5 digits each, at
 * most {@link MAX_ID}, single slashes between them and at most one after the last. Gives the new
 * count, or -1 for anything else or more than 4 ids (the general scan then words the error).
 */
function readPlainIds(text: string, pos: number, ids: number[], count: number): number {
  const length = text.length;
  while (pos < length) {
    let id = 0;
    const start = pos;
    for (; pos < length; pos++) {
      const digit = text.charCodeAt(pos) - 0x30;
      if (digit < 0 || digit > 9) break;
      id = id * 10 + digit;
    }
    if (pos === start || pos - start > 5 || id > MAX_ID || count === 4) return -1;
    ids[count++] = id;
    if (pos < length) {
      if (text.charCodeAt(pos) !== 0x2f) return -1;
      pos++;
    }
  }
  return count;
}

/**
 * Reads a base name of plain ids ending in a slash (`/3/0/`, `3/`) into `ids` and gives their
 * count; -1 for any other base name (empty, ending in an id, or malformed), whose records then
 * resolve the long way.
 */
function baseIds(baseName: string, ids: number[]): number {
  const length = baseName.length;
  if (length === 0 || baseName.charCodeAt(length - 1) !== 0x2f) return -1;
  return readPlainIds(baseName, baseName.charCodeAt(0) === 0x2f ? 1 : 0, ids, 0);
}

/** Decimal digits of an id (0..65534). */
function digitCount(id: number): number {
  return id < 10 ? 1 : id < 100 ? 2 : id < 1000 ? 3 : id < 10000 ? 4 : 5;
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

function checkVersion(r: SenmlRecord, format: number): void {
  if (r.bver !== undefined && r.bver > SENML_VERSION) {
    throw decodeError(`SenML version ${r.bver} is newer than the supported ${SENML_VERSION}`, format);
  }
}

/**
 * Resolves records one after another: base name, base time and base value carry over from record
 * to record. The results of the last record are fields, overwritten by the next, so that resolving
 * allocates nothing but the value; `path()` copies the path out.
 */
export class RecordResolver {
  /** Ids of the last record's path; the first `length` count. */
  readonly ids: number[] = [0, 0, 0, 0];
  length = 0;
  type: ResourceType = 'none';
  value: ResourceValue = 0;
  /** Absolute time in seconds, when the record or a base time gives one. */
  time: number | undefined;
  /** The model's definition of the last record's resource, if any. */
  definition: ResourceDefinition | undefined;
  private readonly registry: ObjectRegistry;
  private readonly options: ResolveOptions;
  private readonly format: number;
  private baseName = '';
  /** The ids of the base name when it is plain ids ending in a slash (`/3/0/`), else -1 for their count. */
  private readonly baseIds: number[] = [0, 0, 0, 0];
  private baseCount = -1;
  private baseTime: number | undefined;
  private baseValue: number | bigint | undefined;
  /** The object definition of the last record, kept while records stay in one object. */
  private objectId = -1;
  private object: ObjectDefinition | undefined;
  /** The clock's reading for this payload, once read: every relative time in it means the same now. */
  private nowSeconds: number | undefined;

  constructor(registry: ObjectRegistry, options: ResolveOptions) {
    this.registry = registry;
    this.options = options;
    this.format = options.format;
  }

  path(): Lwm2mPath {
    return this.ids.slice(0, this.length) as unknown as Lwm2mPath;
  }

  /**
   * The last record's path as text when its base name alone named it, spelled as formatPath
   * would (as composites are written): the key of a composite node, without formatting it again.
   */
  key(r: SenmlRecord): string {
    const text = this.baseName;
    const length = this.length;
    if (r.n === undefined && text.charCodeAt(0) === 0x2f && text.charCodeAt(text.length - 1) !== 0x2f) {
      // A leading slash, no trailing one and no leading zeros: then it is exactly as long as the ids need.
      let formatted = length;
      for (let i = 0; i < length; i++) formatted += digitCount(this.ids[i] as number);
      if (text.length === formatted) return text;
    }
    return formatPath(this.path());
  }

  /** Takes the base fields of `r` and resolves its name alone (a path list holds no values). */
  resolvePath(r: SenmlRecord): void {
    checkVersion(r, this.format);
    if (r.bn !== undefined && r.bn !== this.baseName) {
      this.baseName = r.bn;
      this.baseCount = baseIds(r.bn, this.baseIds);
    }
    if (r.bt !== undefined) this.baseTime = r.bt;
    if (r.bv !== undefined) this.baseValue = r.bv;
    if (this.baseCount < 0 || !this.resolveRelative(r.n ?? '')) this.resolveName(this.baseName, r.n ?? '');
  }

  /**
   * Resolves a name relative to a base name ending in a slash (`/3/0/` + `6/0`), the form of every
   * record after the first in a Read answer: the base's ids are known, only the name is scanned.
   * Gives up (false) on anything but plain ids, for {@link resolveName} to resolve or word the error.
   */
  private resolveRelative(name: string): boolean {
    const ids = this.ids;
    const baseCount = this.baseCount;
    for (let i = 0; i < baseCount; i++) ids[i] = this.baseIds[i] as number;
    const count = readPlainIds(name, 0, ids, baseCount);
    if (count < 0) return false;
    this.length = count;
    return true;
  }

  /** Resolves a record holding a resource or resource-instance value. */
  resolve(r: SenmlRecord): void {
    this.resolvePath(r);
    const format = this.format;
    const ids = this.ids;
    if (this.length < 3) {
      throw decodeError(
        `SenML record ${formatPath(this.path())} is not a resource or resource instance`,
        format,
      );
    }
    const objectId = ids[0] as number;
    if (objectId !== this.objectId) {
      this.objectId = objectId;
      this.object = this.registry.getObject(objectId);
    }
    const definition = this.object?.resources.get(ids[2] as number);
    this.definition = definition;
    this.resolveValue(r, definition?.type);
    const baseTime = this.baseTime;
    if (baseTime === undefined && r.t === undefined) {
      this.time = undefined;
    } else {
      const sum = (baseTime ?? 0) + (r.t ?? 0);
      this.time = this.options.clock !== undefined && sum < RELATIVE_TIME_LIMIT ? this.now() + sum : sum;
    }
  }

  /** The resolved value as an entry of its own. */
  entry(): FlatEntry {
    const path = this.path();
    const time = this.time;
    return time === undefined
      ? { path, type: this.type, value: this.value }
      : { path, type: this.type, value: this.value, time };
  }

  private now(): number {
    return (this.nowSeconds ??= (this.options.clock as () => number)() / 1000);
  }

  /**
   * Resolves bn + n into `ids`. Lenient where peers differ: the leading slash may be missing
   * (`3/0/1`), a trailing one is ignored, and ids may carry leading zeros (Wakaama's tests send
   * `/67/0/00`). Ids must still be decimal and within 0..65534.
   */
  private resolveName(baseName: string, rest: string): void {
    // Scanned by hand across both strings: neither a regex, split nor the concatenated string
    // (which the scan would have to flatten) is needed.
    const format = this.format;
    const ids = this.ids;
    const split = baseName.length;
    const length = split + rest.length;
    if (length === 0) throw decodeError('SenML record has no name and no base name', format);
    let count = 0;
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
      if (digits === 0 || digits > 10) throw this.badName(baseName, rest, 'is not an LwM2M path');
      if (id > MAX_ID)
        throw decodeError(`id ${id} out of range in SenML name ${JSON.stringify(baseName + rest)}`, format);
      if (count === 4) throw this.badName(baseName, rest, 'has more than 4 levels');
      ids[count++] = id;
      if (pos < length) {
        if (charAt(baseName, rest, pos) !== 0x2f) throw this.badName(baseName, rest, 'is not an LwM2M path');
        pos++;
      }
    }
    this.length = count;
  }

  private badName(baseName: string, rest: string, problem: string): DecodeError {
    return decodeError(`SenML name ${JSON.stringify(baseName + rest)} ${problem}`, this.format);
  }

  private mismatch(r: SenmlRecord, type: ResourceType): never {
    throw decodeError(
      `${formatPath(this.path())} is a ${type} resource; the record carries ${presentField(r)}`,
      this.format,
    );
  }

  /** Sets `type` and `value` from the record: the model's type, else the value field's. */
  private resolveValue(r: SenmlRecord, type: ResourceType | undefined): void {
    const format = this.format;
    const count = valueFieldCount(r);
    if (count !== 1) {
      const problem = count === 0 ? 'has no value' : 'has more than one value field';
      throw decodeError(`SenML record ${formatPath(this.path())} ${problem}`, format);
    }
    switch (type) {
      case undefined:
        if (r.v !== undefined) {
          const n = addBaseValue(r.v, this.baseValue);
          this.type =
            typeof n === 'bigint'
              ? n > INT64_MAX
                ? 'unsigned'
                : 'integer'
              : Number.isInteger(n)
                ? 'integer'
                : 'float';
          this.value = n;
        } else if (r.vs !== undefined) {
          this.type = 'string';
          this.value = r.vs;
        } else if (r.vb !== undefined) {
          this.type = 'boolean';
          this.value = r.vb;
        } else if (r.vd !== undefined) {
          this.type = 'opaque';
          this.value = r.vd;
        } else {
          this.type = 'objlnk';
          this.value = objectLinkValue(r.vlo as string, format);
        }
        return;
      case 'none':
        throw decodeError(`executable resource ${formatPath(this.path())} carries no value`, format);
      case 'string':
      case 'corelnk':
        this.value = r.vs ?? this.mismatch(r, type);
        break;
      case 'integer':
      case 'unsigned':
      case 'float':
      case 'time':
        this.value =
          r.v === undefined
            ? this.mismatch(r, type)
            : numericValue(type, addBaseValue(r.v, this.baseValue), format);
        break;
      case 'boolean':
        this.value = r.vb ?? this.mismatch(r, type);
        break;
      case 'opaque':
        if (r.vd !== undefined) this.value = r.vd;
        else if (this.options.opaqueAsText === true && r.vs !== undefined)
          this.value = valueFromText('opaque', r.vs, format);
        else this.mismatch(r, type);
        break;
      case 'objlnk':
        this.value = r.vlo === undefined ? this.mismatch(r, type) : objectLinkValue(r.vlo, format);
        break;
    }
    this.type = type;
  }
}

// ---------------------------------------------------------------------------------------------
// Sinks

/** Builds the node at one path as records come (a single-path Read, Write or notification). */
export class NodeSink implements RecordSink {
  private readonly resolver: RecordResolver;
  private readonly assembler: NodeAssembler;
  private readonly path: Lwm2mPath;
  private readonly registry: ObjectRegistry;

  constructor(path: Lwm2mPath, registry: ObjectRegistry, options: ResolveOptions) {
    this.resolver = new RecordResolver(registry, options);
    this.assembler = new NodeAssembler(path, registry, options.format);
    this.path = path;
    this.registry = registry;
  }

  record(r: SenmlRecord): void {
    const resolver = this.resolver;
    resolver.resolve(r);
    const multiple = resolver.definition?.multiple === true;
    this.assembler.add(resolver.ids, resolver.length, resolver.type, resolver.value, resolver.time, multiple);
  }

  /** The node; a resource path without values is an empty multiple resource when the model allows one. */
  node(): Lwm2mNode {
    const path = this.path;
    if (this.assembler.count === 0 && path.length === 3) {
      const definition = this.registry.getResource(path[0], path[2]);
      if (definition === undefined || definition.multiple) {
        return multipleResource(path[2], definition?.type ?? 'opaque', []);
      }
    }
    return this.assembler.finish();
  }
}

/**
 * One node per value, keyed by its path (Send, a notification of an unknown Observe-Composite):
 * a resource instance, or a single resource unless the model says multiple. Two values at one
 * path fail unless both carry a time; then the later stays, the earlier on a tie.
 */
export class ValueNodesSink implements RecordSink {
  readonly nodes = new Map<string, Lwm2mNode>();
  private readonly resolver: RecordResolver;
  private readonly format: number;
  /** Times of the nodes that carry one, by key; made for the first timed value. */
  private times: Map<string, number> | undefined;

  constructor(registry: ObjectRegistry, options: ResolveOptions) {
    this.resolver = new RecordResolver(registry, options);
    this.format = options.format;
  }

  record(r: SenmlRecord): void {
    const resolver = this.resolver;
    resolver.resolve(r);
    const key = resolver.key(r);
    const time = resolver.time;
    const nodes = this.nodes;
    if (time === undefined && this.times === undefined) {
      // No time anywhere so far: a second value at a path is a duplicate, told by the map not
      // growing (the throw drops the overwrite), without a lookup first.
      const size = nodes.size;
      nodes.set(key, this.node(key));
      if (nodes.size === size) throw decodeError(`duplicate value for ${key}`, this.format);
      return;
    }
    if (nodes.has(key)) {
      const earlier = time === undefined ? undefined : this.times?.get(key);
      if (earlier === undefined) throw decodeError(`duplicate value for ${key}`, this.format);
      if (earlier > (time as number)) return;
    }
    if (time !== undefined) (this.times ??= new Map()).set(key, time);
    nodes.set(key, this.node(key));
  }

  /** The node of the value just resolved. */
  private node(key: string): Lwm2mNode {
    const resolver = this.resolver;
    const ids = resolver.ids;
    if (resolver.length === 4) return resourceInstance(ids[3] as number, resolver.type, resolver.value);
    if (resolver.definition?.multiple === true) {
      throw decodeError(`resource ${key} mixes a single value with instances`, this.format);
    }
    return singleResource(ids[2] as number, resolver.type, resolver.value);
  }
}

/** Collects the values as entries, for grouping once the whole payload is read. */
export class EntrySink implements RecordSink {
  readonly entries: FlatEntry[] = [];
  private readonly resolver: RecordResolver;

  constructor(registry: ObjectRegistry, options: ResolveOptions) {
    this.resolver = new RecordResolver(registry, options);
  }

  record(r: SenmlRecord): void {
    this.resolver.resolve(r);
    this.entries.push(this.resolver.entry());
  }
}

/** The paths of a Read-Composite / Observe-Composite request body (records with bn/n only; values ignored). */
export class PathSink implements RecordSink {
  readonly paths: Lwm2mPath[] = [];
  private readonly resolver: RecordResolver;

  constructor(registry: ObjectRegistry, format: number) {
    this.resolver = new RecordResolver(registry, { format });
  }

  record(r: SenmlRecord): void {
    this.resolver.resolvePath(r);
    this.paths.push(this.resolver.path());
  }
}

// ---------------------------------------------------------------------------------------------
// Grouping entries

/**
 * Drops superseded values: when one path has several timestamped values (a historical
 * notification read as a plain one), the latest stays. Untimed duplicates are left for the
 * node builders to reject.
 */
function latestValues(entries: readonly FlatEntry[]): readonly FlatEntry[] {
  let seen: Map<string, number> | undefined;
  let dropped: Set<number> | undefined;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as FlatEntry;
    if (e.time === undefined) continue;
    seen ??= new Map();
    const key = formatPath(e.path);
    const j = seen.get(key);
    if (j === undefined) {
      seen.set(key, i);
      continue;
    }
    dropped ??= new Set();
    const other = entries[j] as FlatEntry;
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

/** The node of one value on its own: a resource instance, or a single resource unless the model says multiple. */
function valueNode(e: FlatEntry, registry: ObjectRegistry, format: number): Lwm2mNode {
  const path = e.path;
  if (path.length === 4) return resourceInstance(path[3], e.type, e.value);
  if (registry.getResource(path[0] as number, path[2] as number)?.multiple === true) {
    throw decodeError(`resource ${formatPath(path)} mixes a single value with instances`, format);
  }
  return singleResource(path[2] as number, e.type, e.value);
}

/**
 * Composite decoding from entries: with `paths`, values grouped into one node per requested path
 * (a path with no value is left out; the root path yields one node per object); without, one node
 * per value. A value outside every requested path fails.
 */
export function buildComposite(
  entries: readonly FlatEntry[],
  registry: ObjectRegistry,
  format: number,
  paths?: readonly Lwm2mPath[],
): Map<string, Lwm2mNode> {
  const out = new Map<string, Lwm2mNode>();
  const latest = latestValues(entries);
  if (paths === undefined) {
    for (const e of latest) {
      const key = formatPath(e.path);
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

/** The node at `path` from entries below it; a resource path without any, as {@link NodeSink.node}. */
function buildNode(
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
  return entriesToNode(entries, path, registry, format);
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
