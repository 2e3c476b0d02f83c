/**
 * LwM2M CBOR (application/vnd.oma.lwm2m+cbor, content format 11544, LwM2M 1.2 TS Core §7.4.6):
 * nested CBOR maps keyed by path ids. A key is one id (`3`) or an array of ids that stands for
 * several levels at once (`[3, 0]`), so `{[3, 0]: {0: "Open Mobile Alliance", 6: {0: 1, 1: 5}}}`
 * is the Device instance and `{[3, 0, 0]: "x"}` its Manufacturer alone. The root map may hold
 * several objects, so the format also carries composite payloads (Read-Composite answers,
 * Write-Composite, Observe-Composite notifications, Send).
 *
 * Both directions go through the CBOR reader and writer of this package (cbor-reader.ts says why
 * not cbor-x): the reader checks every limit as it goes and hands each value to a sink, and
 * duplicate paths are caught. A single node is read straight into its node maps and written
 * straight from them; composites go through a tree of paths, where values of several requested
 * paths meet.
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
  formatPath,
  isPathPrefix,
  multipleResource,
  objectInstance,
  objectNode,
  parsePath,
  resourceInstance,
  singleResource,
} from '@lwm2m/core';
import type {
  Lwm2mNode,
  Lwm2mPath,
  MultipleResource,
  ObjectDefinition,
  ObjectInstanceNode,
  ObjectNode,
  ObjectRegistry,
  ResourceDefinition,
  PathLevel,
  ResourceNode,
  ResourceType,
  ResourceValue,
} from '@lwm2m/core';
import { ARRAY, BREAK, CborReader, MAP, UNSIGNED, guessType, scalarToValue } from './cbor-reader.js';
import { CborWriter, writeResourceValue } from './cbor-writer.js';
import type { CodecContext, CompositeFormat, CompositeNodes } from './types.js';

const FORMAT = ContentFormat.LWM2M_CBOR;
const LEVELS: ReadonlySet<PathLevel> = new Set<PathLevel>([
  'object',
  'objectInstance',
  'resource',
  'resourceInstance',
]);

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

function encodeFail(message: string): never {
  throw new EncodeError(message, { format: FORMAT });
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
    else writeResourceValue(w, target.type, target.value, FORMAT);
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

/** The children of a node that has any, in the order they are written. */
type Container = ObjectNode | ObjectInstanceNode | MultipleResource;

function isContainer(node: Lwm2mNode): node is Container {
  return node.kind === 'object' || node.kind === 'objectInstance' || node.kind === 'multipleResource';
}

function childCount(node: Container): number {
  return node.kind === 'object'
    ? node.instances.size
    : node.kind === 'objectInstance'
      ? node.resources.size
      : node.instances.size;
}

/** The one child of a container holding exactly one. */
function onlyChild(node: Container): Lwm2mNode {
  if (node.kind === 'object')
    return (node.instances.values().next() as IteratorYieldResult<ObjectInstanceNode>).value;
  if (node.kind === 'objectInstance')
    return (node.resources.values().next() as IteratorYieldResult<ResourceNode>).value;
  const [riid, value] = (node.instances.entries().next() as IteratorYieldResult<[number, ResourceValue]>)
    .value;
  return resourceInstance(riid, node.type, value);
}

/**
 * True when every child of the containers in `node` sits under its own id as key and every id is
 * in range: then the node can be written as it stands, as the tree would write it, with no
 * duplicate to catch. Anything else goes through the tree, which reports it.
 */
function isWellKeyed(node: Lwm2mNode): boolean {
  switch (node.kind) {
    case 'object':
      for (const [iid, instance] of node.instances)
        if (iid !== instance.id || !isWellKeyed(instance)) return false;
      return isId(node.id);
    case 'objectInstance':
      for (const [rid, resource] of node.resources)
        if (rid !== resource.id || !isWellKeyed(resource)) return false;
      return isId(node.id);
    case 'multipleResource':
      for (const riid of node.instances.keys()) if (!isId(riid)) return false;
      return isId(node.id);
    default:
      return isId(node.id);
  }
}

function isId(id: number): boolean {
  return Number.isInteger(id) && id >= 0 && id <= MAX_ID;
}

/**
 * Writes the entries of `node` (a map at path depth `depth`) straight from the node, folding
 * single-child chains into array keys exactly as {@link writeMap} does for the tree.
 */
function writeChildren(w: CborWriter, node: Container, depth: number): void {
  w.head(MAP, childCount(node));
  if (node.kind === 'multipleResource') {
    // Resource instances are leaves: one id key each, nothing to fold.
    for (const [riid, value] of node.instances) {
      w.head(UNSIGNED, riid);
      writeResourceValue(w, node.type, value, FORMAT);
    }
    return;
  }
  const children: Iterable<Lwm2mNode> =
    node.kind === 'object' ? node.instances.values() : node.resources.values();
  for (const child of children) writeEntry(w, child, depth, undefined);
}

/**
 * Writes one map entry: the key (the child's id, or an array of ids when single children follow,
 * up to the resource-instance level, after the ids in `prefix`) and its value.
 */
function writeEntry(w: CborWriter, child: Lwm2mNode, depth: number, prefix: Lwm2mPath | undefined): void {
  const before = prefix === undefined ? 0 : prefix.length;
  let chain = before + 1;
  let target = child;
  while (isContainer(target) && depth + chain < 4 && childCount(target) === 1) {
    target = onlyChild(target);
    chain++;
  }
  if (chain === 1) {
    w.head(UNSIGNED, child.id);
  } else {
    w.head(ARRAY, chain);
    for (let i = 0; i < before; i++) w.head(UNSIGNED, (prefix as Lwm2mPath)[i] as number);
    let node = child;
    w.head(UNSIGNED, node.id);
    for (let i = before + 1; i < chain; i++) {
      node = onlyChild(node as Container);
      w.head(UNSIGNED, node.id);
    }
  }
  if (isContainer(target)) writeChildren(w, target, depth + chain);
  else writeResourceValue(w, target.type, target.value, FORMAT);
}

function encode(node: Lwm2mNode, path: Lwm2mPath): Uint8Array {
  const level = KIND_LEVEL[node.kind];
  if (path.length !== level || path[level - 1] !== node.id) {
    encodeFail(`a ${node.kind} node with id ${node.id} does not fit path ${formatPath(path)}`);
  }
  const w = new CborWriter();
  // An object without instances has nothing to say: an empty map, as Anjay answers such a Read.
  if (node.kind === 'object' && node.instances.size === 0) {
    if (!isId(node.id)) encodeFail(`id ${node.id} out of range`);
    w.head(MAP, 0);
    return w.finish();
  }
  if (isWellKeyed(node)) {
    // One entry at the root: the ids above the node, then the node (folded further when it has one child).
    w.head(MAP, 1);
    writeEntry(w, node, 0, path.length > 1 ? (path.slice(0, -1) as unknown as Lwm2mPath) : undefined);
    return w.finish();
  }
  const root: Branch = new Map();
  insertNode(root, node, path);
  writeMap(w, root, 0);
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

/**
 * Takes what the reader finds, in payload order: each value at a resource or resource-instance
 * path, and each empty map (an empty object instance or multiple resource, or nothing at all).
 * `ids` is the reader's own array: only its first `length` count, and only during the call.
 * `start` is the offset to report a conflict at.
 */
interface EntrySink {
  value(
    ids: readonly number[],
    length: number,
    type: ResourceType,
    value: ResourceValue,
    definition: ResourceDefinition | undefined,
    start: number,
  ): void;
  emptyMap(ids: readonly number[], length: number, start: number): void;
}

/**
 * Reads a whole payload, handing values and empty maps to a sink, checking structure, ids and the
 * context's limits as it goes. Values are typed on the spot with the model (or guessed).
 */
class Lwm2mCborReader {
  readonly r: CborReader;
  private readonly registry: ObjectRegistry;
  /** Ids of the path being read; only the first `pathLength` are meaningful. */
  private readonly ids: number[] = [0, 0, 0, 0];
  private pathLength = 0;
  private sink: EntrySink | undefined;
  /** The object definition of the last value, kept while values stay in one object. */
  private objectId = -1;
  private object: ObjectDefinition | undefined;

  constructor(bytes: Uint8Array, context: CodecContext) {
    this.r = new CborReader(bytes, context.limits, FORMAT, 'LwM2M CBOR: ');
    this.registry = context.registry;
  }

  currentPath(length = this.pathLength): string {
    return formatPath(this.ids.slice(0, length) as unknown as Lwm2mPath);
  }

  /** Reads the whole payload, which must be exactly one map, into `sink`. */
  readRoot(sink: EntrySink): void {
    const r = this.r;
    this.sink = sink;
    if (r.bytes.byteLength === 0) r.fail('empty payload');
    const start = r.pos;
    const initial = r.next();
    if (initial >> 5 !== MAP) r.fail('the payload must be a map', start);
    this.readMap(initial & 0x1f, start, 1);
    r.expectEnd('the root map');
  }

  /** Reads the entries of a map whose head is already consumed; an empty one goes to the sink. */
  private readMap(info: number, start: number, depth: number): void {
    const r = this.r;
    r.checkDepth(depth, start);
    const count = r.length(info, start, 2);
    const base = this.pathLength;
    let i = 0;
    for (; count < 0 || i < count; i++) {
      if (count < 0 && r.peek() === BREAK) {
        r.pos++;
        break;
      }
      if (++r.entries > r.limits.maxEntries) r.fail(`more than ${r.limits.maxEntries} map entries`);
      this.pathLength = base;
      this.readKey(depth);
      this.readEntryValue(depth);
    }
    this.pathLength = base;
    if (i === 0) (this.sink as EntrySink).emptyMap(this.ids, base, start);
  }

  /** Reads a key (one id or an array of ids) onto the current path. */
  private readKey(depth: number): void {
    const r = this.r;
    const start = r.pos;
    const initial = r.next();
    const major = initial >> 5;
    if (major === UNSIGNED) {
      this.pushId(r.argument(initial & 0x1f, start), start);
      return;
    }
    if (major !== ARRAY) r.fail('a key must be an id or an array of ids', start);
    r.checkDepth(depth + 1, start);
    const count = r.length(initial & 0x1f, start, 1);
    if (count === 0) r.fail('an empty array key names no path', start);
    const before = this.pathLength;
    for (let i = 0; count < 0 || i < count; i++) {
      const idStart = r.pos;
      const head = r.next();
      if (count < 0 && head === BREAK) break;
      if (head >> 5 !== UNSIGNED) r.fail('a key array must hold ids only', idStart);
      this.pushId(r.argument(head & 0x1f, idStart), idStart);
    }
    if (this.pathLength === before) r.fail('an empty array key names no path', start);
  }

  private pushId(id: number | bigint, start: number): void {
    if (typeof id === 'bigint' || id > MAX_ID) this.r.fail(`id ${id} out of range 0..${MAX_ID}`, start);
    if (this.pathLength >= 4)
      this.r.fail(`path ${this.currentPath()}/${id} is deeper than a resource instance`, start);
    this.ids[this.pathLength++] = id;
  }

  /** Reads the value after a key: a nested map, or a resource value for the sink. */
  private readEntryValue(depth: number): void {
    const r = this.r;
    const start = r.pos;
    const initial = r.peek();
    if (initial >> 5 === MAP) {
      r.pos++;
      if (this.pathLength >= 4) r.fail(`a map at ${this.currentPath()}, which is a resource instance`, start);
      this.readMap(initial & 0x1f, start, depth + 1);
      return;
    }
    if (this.pathLength < 3) r.fail(`a value at ${this.currentPath()}, which is not a resource`, start);
    const ids = this.ids;
    const objectId = ids[0] as number;
    if (objectId !== this.objectId) {
      this.objectId = objectId;
      this.object = this.registry.getObject(objectId);
    }
    const definition = this.object?.resources.get(ids[2] as number);
    const item = r.readScalar(depth + 1);
    if (definition?.type === 'none')
      r.fail(`executable resource ${this.currentPath(3)} carries no value`, start);
    const type = definition?.type ?? guessType(item);
    let value: ResourceValue;
    try {
      value = scalarToValue(item, type, FORMAT);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return r.fail(`${message} at ${this.currentPath()}`, start);
    }
    (this.sink as EntrySink).value(ids, this.pathLength, type, value, definition, start);
  }
}

/** `ids` cut to `length`, formatted, for messages. */
function idsText(ids: readonly number[], length: number): string {
  return formatPath(ids.slice(0, length) as unknown as Lwm2mPath);
}

/**
 * Builds the {@link Branch} tree of the whole payload (for composites, whose requested paths are
 * looked up once everything is read), catching duplicates and values with nested entries.
 */
class TreeSink implements EntrySink {
  readonly root: Branch = new Map();
  private readonly r: CborReader;

  constructor(r: CborReader) {
    this.r = r;
  }

  value(
    ids: readonly number[],
    length: number,
    type: ResourceType,
    value: ResourceValue,
    _d: unknown,
    start: number,
  ): void {
    const branch = this.branchAt(ids, length - 1, start);
    const id = ids[length - 1] as number;
    if (branch.has(id)) this.r.fail(`${idsText(ids, length)} is given twice`, start);
    branch.set(id, { type, value });
  }

  emptyMap(ids: readonly number[], length: number, start: number): void {
    this.branchAt(ids, length, start);
  }

  /** The branch at the first `length` ids, created as needed; a value in the way is a conflict. */
  private branchAt(ids: readonly number[], length: number, start: number): Branch {
    let branch = this.root;
    for (let level = 0; level < length; level++) {
      const id = ids[level] as number;
      const existing = branch.get(id);
      if (existing === undefined) {
        const created: Branch = new Map();
        branch.set(id, created);
        branch = created;
      } else if (existing instanceof Map) {
        branch = existing;
      } else {
        this.r.fail(`${idsText(ids, level + 1)} has a value and nested entries`, start);
      }
    }
    return branch;
  }
}

/** A multiple resource while its instances are read. */
interface GatheredResource {
  readonly kind: 'multipleResource';
  readonly id: number;
  type: ResourceType;
  readonly instances: Map<number, ResourceValue>;
}

/**
 * Builds the node at one path straight from the values as they are read (a single-path Read,
 * Write or notification): nothing may lie outside the path but the maps on the way to it.
 */
class NodeSink implements EntrySink {
  private readonly path: Lwm2mPath;
  private readonly r: CborReader;
  private readonly registry: ObjectRegistry;
  /** Resources by instance id, in first-seen order. */
  private readonly instances = new Map<number, Map<number, ResourceNode | GatheredResource>>();
  private lastIid = -1;
  private resources: Map<number, ResourceNode | GatheredResource> | undefined;
  /** The value at a resource-instance path. */
  private leaf: TypedValue | undefined;
  /** The first single value the model says is a multiple resource. */
  private misfit: { readonly message: string; readonly start: number } | undefined;

  constructor(path: Lwm2mPath, r: CborReader, registry: ObjectRegistry) {
    this.path = path;
    this.r = r;
    this.registry = registry;
  }

  value(
    ids: readonly number[],
    length: number,
    type: ResourceType,
    value: ResourceValue,
    definition: ResourceDefinition | undefined,
    start: number,
  ): void {
    this.within(ids, length, true, start);
    if (this.path.length === 4) {
      if (this.leaf !== undefined) this.r.fail(`${idsText(ids, length)} is given twice`, start);
      this.leaf = { type, value };
      return;
    }
    const resources = this.resourcesOf(ids[1] as number);
    const rid = ids[2] as number;
    const existing = resources.get(rid);
    if (length === 3) {
      if (existing !== undefined) this.r.fail(`${idsText(ids, 3)} is given twice`, start);
      // Reported once the payload is read, so that a conflict later in it (instances under this
      // value) is what the error names, as for a resource the model does not know.
      if (definition?.multiple === true && this.misfit === undefined) {
        this.misfit = { message: `multiple-instance resource ${idsText(ids, 3)} has a single value`, start };
      }
      resources.set(rid, singleResource(rid, type, value));
      return;
    }
    const riid = ids[3] as number;
    if (existing === undefined) {
      const gathered: GatheredResource = { kind: 'multipleResource', id: rid, type, instances: new Map() };
      gathered.instances.set(riid, value);
      resources.set(rid, gathered);
      return;
    }
    if (existing.kind === 'resource') this.r.fail(`${idsText(ids, 3)} has a value and nested entries`, start);
    const instances = (existing as GatheredResource).instances;
    const size = instances.size;
    // An empty map made it without a model type: the first value's type stands, as for a new one.
    if (size === 0) (existing as GatheredResource).type = type;
    instances.set(riid, value);
    if (instances.size === size) this.r.fail(`${idsText(ids, 4)} is given twice`, start);
  }

  emptyMap(ids: readonly number[], length: number, start: number): void {
    // A map on the way to the path says nothing; one at or below it is an empty container.
    if (!this.within(ids, length, false, start)) return;
    if (length === 2) {
      this.resourcesOf(ids[1] as number);
    } else if (length === 3) {
      const resources = this.resourcesOf(ids[1] as number);
      const rid = ids[2] as number;
      const existing = resources.get(rid);
      if (existing?.kind === 'resource')
        this.r.fail(`${idsText(ids, 3)} has a value and nested entries`, start);
      if (existing === undefined) {
        const type = this.registry.getResource(ids[0] as number, rid)?.type ?? 'opaque';
        resources.set(rid, { kind: 'multipleResource', id: rid, type, instances: new Map() });
      }
    }
  }

  /**
   * Whether the first `length` ids lie at or below the path (true), or on the way to it (false,
   * allowed for maps only); anything else fails.
   */
  private within(ids: readonly number[], length: number, isValue: boolean, start: number): boolean {
    const path = this.path;
    const common = length < path.length ? length : path.length;
    for (let i = 0; i < common; i++) {
      if (ids[i] !== path[i]) this.r.fail(`${idsText(ids, i + 1)} is outside ${formatPath(path)}`, start);
    }
    if (length >= path.length) return true;
    if (isValue) this.r.fail(`value at ${idsText(ids, length)} is outside ${formatPath(path)}`, start);
    return false;
  }

  /** The resources map of instance `iid`, made when new; the last one is kept at hand. */
  private resourcesOf(iid: number): Map<number, ResourceNode | GatheredResource> {
    let resources = this.resources;
    if (iid !== this.lastIid || resources === undefined) {
      resources = this.instances.get(iid);
      if (resources === undefined) this.instances.set(iid, (resources = new Map()));
      this.resources = resources;
      this.lastIid = iid;
    }
    return resources;
  }

  /** The node at the path, or undefined when the payload has nothing there. */
  node(): Lwm2mNode | undefined {
    const path = this.path;
    if (this.misfit !== undefined) this.r.fail(this.misfit.message, this.misfit.start);
    switch (path.length) {
      case 1: {
        const instances = new Map<number, ObjectInstanceNode>();
        for (const [iid, resources] of this.instances)
          instances.set(iid, { kind: 'objectInstance', id: iid, resources });
        return { kind: 'object', id: path[0] as number, instances };
      }
      case 2: {
        const resources = this.instances.get(path[1] as number);
        return resources === undefined
          ? undefined
          : { kind: 'objectInstance', id: path[1] as number, resources };
      }
      case 3:
        return this.instances.get(path[1] as number)?.get(path[2] as number);
      default: {
        const leaf = this.leaf;
        return leaf === undefined ? undefined : resourceInstance(path[3] as number, leaf.type, leaf.value);
      }
    }
  }
}

function readTree(payload: Uint8Array, context: CodecContext): Branch {
  const reader = new Lwm2mCborReader(payload, context);
  const sink = new TreeSink(reader.r);
  reader.readRoot(sink);
  return sink.root;
}

// ---------------------------------------------------------------------------------------------
// From the tree to nodes

function decodeFail(message: string): never {
  throw new DecodeError(`LwM2M CBOR: ${message}`, { format: FORMAT });
}

// Nodes are built as literals around maps made here: the core constructors copy their input.

function buildResource(
  entry: Branch | TypedValue,
  objectId: number,
  instanceId: number,
  resourceId: number,
  registry: ObjectRegistry,
): ResourceNode {
  const definition = registry.getResource(objectId, resourceId);
  if (!(entry instanceof Map)) {
    if (definition?.multiple === true)
      decodeFail(
        `multiple-instance resource ${formatPath([objectId, instanceId, resourceId])} has a single value`,
      );
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
  return { kind: 'multipleResource', id: resourceId, type: type ?? 'opaque', instances };
}

function buildInstance(
  branch: Branch,
  objectId: number,
  instanceId: number,
  registry: ObjectRegistry,
): ObjectInstanceNode {
  const resources = new Map<number, ResourceNode>();
  for (const [rid, entry] of branch) {
    resources.set(rid, buildResource(entry, objectId, instanceId, rid, registry));
  }
  return { kind: 'objectInstance', id: instanceId, resources };
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
      const instances = new Map<number, ObjectInstanceNode>();
      for (const [iid, branch] of entry as Branch)
        instances.set(iid, buildInstance(branch as Branch, objectId, iid, registry));
      return { kind: 'object', id: objectId, instances };
    }
    case 2:
      return buildInstance(entry as Branch, objectId, path[1] as number, registry);
    case 3:
      return buildResource(entry, objectId, path[1] as number, path[2] as number, registry);
    case 4: {
      const leaf = entry as TypedValue;
      return resourceInstance(path[3] as number, leaf.type, leaf.value);
    }
    default:
      return decodeFail('the root path has no node');
  }
}

function decode(payload: Uint8Array, path: Lwm2mPath, context: CodecContext): Lwm2mNode {
  if (path.length === 0) decodeFail('a single-path payload cannot target the root path');
  const reader = new Lwm2mCborReader(payload, context);
  const sink = new NodeSink(path, reader.r, context.registry);
  reader.readRoot(sink);
  const node = sink.node();
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
