/**
 * LwM2M CBOR (application/vnd.oma.lwm2m+cbor, content format 11544, LwM2M 1.2 TS Core §7.4.6):
 * nested CBOR maps keyed by path ids. A key is one id (`3`) or an array of ids that stands for
 * several levels at once (`[3, 0]`), so `{[3, 0]: {0: "Open Mobile Alliance", 6: {0: 1, 1: 5}}}`
 * is the Device instance and `{[3, 0, 0]: "x"}` its Manufacturer alone. The root map may hold
 * several objects, so the format also carries composite payloads (Read-Composite answers,
 * Write-Composite, Observe-Composite notifications, Send).
 *
 * Both directions go through the CBOR reader and writer of this package (cbor-reader.ts says why
 * not cbor-x): the reader checks every limit as it goes and builds the path tree without an
 * intermediate object graph, and duplicate paths are caught.
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
  ObjectInstanceNode,
  ObjectRegistry,
  PathLevel,
  ResourceNode,
  ResourceType,
  ResourceValue,
} from '@lwm2m/core';
import { ARRAY, BREAK, CborReader, MAP, UNSIGNED, guessType, scalarToValue } from './cbor-reader.js';
import type { CborScalar } from './cbor-reader.js';
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

/**
 * Reads a whole payload into a {@link Branch} tree, checking structure, ids, duplicates and the
 * context's limits as it goes. Values are typed on the spot with the model (or guessed).
 */
class Lwm2mCborReader {
  private readonly r: CborReader;
  private readonly registry: ObjectRegistry;
  /** Ids of the path being read; only the first `pathLength` are meaningful. */
  private readonly ids: number[] = [0, 0, 0, 0];
  private pathLength = 0;

  constructor(bytes: Uint8Array, context: CodecContext) {
    this.r = new CborReader(bytes, context.limits, FORMAT, 'LwM2M CBOR: ');
    this.registry = context.registry;
  }

  private currentPath(length = this.pathLength): string {
    return formatPath(this.ids.slice(0, length) as unknown as Lwm2mPath);
  }

  /** The tree of the whole payload, which must be exactly one map. */
  readRoot(): Branch {
    const r = this.r;
    if (r.bytes.byteLength === 0) r.fail('empty payload');
    const start = r.pos;
    const initial = r.next();
    if (initial >> 5 !== MAP) r.fail('the payload must be a map', start);
    const root: Branch = new Map();
    this.readMap(initial & 0x1f, start, root, 1);
    r.expectEnd('the root map');
    return root;
  }

  /** Reads the entries of a map whose head is already consumed into `branch`. */
  private readMap(info: number, start: number, branch: Branch, depth: number): void {
    const r = this.r;
    r.checkDepth(depth, start);
    const count = r.length(info, start, 2);
    const base = this.pathLength;
    for (let i = 0; count < 0 || i < count; i++) {
      if (count < 0 && r.peek() === BREAK) {
        r.pos++;
        return;
      }
      if (++r.entries > r.limits.maxEntries) r.fail(`more than ${r.limits.maxEntries} map entries`);
      this.pathLength = base;
      this.readKey(depth);
      this.readEntryValue(branch, base, depth);
    }
    this.pathLength = base;
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

  /** Reads the value after a key: a nested map or a resource value, stored in the tree. */
  private readEntryValue(root: Branch, base: number, depth: number): void {
    const r = this.r;
    // Walk (creating) the branches for the ids this key added, but the last.
    let branch = root;
    for (let level = base; level < this.pathLength - 1; level++) {
      branch = this.childBranch(branch, level);
    }
    const last = this.pathLength - 1;
    const start = r.pos;
    const initial = r.peek();
    if (initial >> 5 === MAP) {
      r.pos++;
      if (this.pathLength >= 4) r.fail(`a map at ${this.currentPath()}, which is a resource instance`, start);
      this.readMap(initial & 0x1f, start, this.childBranch(branch, last), depth + 1);
      return;
    }
    if (this.pathLength < 3) r.fail(`a value at ${this.currentPath()}, which is not a resource`, start);
    const id = this.ids[last] as number;
    if (branch.has(id)) r.fail(`${this.currentPath()} is given twice`, start);
    const item = r.readScalar(depth + 1);
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
    return this.r.fail(`${this.currentPath(level + 1)} has a value and nested entries`);
  }

  private typed(item: CborScalar, start: number): TypedValue {
    const definition = this.registry.getResource(this.ids[0] as number, this.ids[2] as number);
    if (definition?.type === 'none')
      this.r.fail(`executable resource ${this.currentPath(3)} carries no value`, start);
    const type = definition?.type ?? guessType(item);
    try {
      return { type, value: scalarToValue(item, type, FORMAT) };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return this.r.fail(`${message} at ${this.currentPath()}`, start);
    }
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
