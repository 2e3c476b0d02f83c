import { DecodeError, EncodeError, formatPath, resourceInstance, singleResource } from '@lwm2m/core';
import type {
  Lwm2mNode,
  Lwm2mPath,
  ObjectDefinition,
  ObjectInstanceNode,
  ObjectRegistry,
  ResourceNode,
  ResourceType,
  ResourceValue,
} from '@lwm2m/core';
import type { FlatEntry } from './types.js';

/**
 * Flattens a node at `path` into resource and resource-instance entries, in id order as stored.
 * Empty object instances and empty multiple resources yield nothing: flat formats cannot say them.
 */
export function nodeToEntries(node: Lwm2mNode, path: Lwm2mPath, out: FlatEntry[] = []): FlatEntry[] {
  switch (node.kind) {
    case 'object':
      expectLevel(path, 1, node);
      for (const inst of node.instances.values()) instanceEntries(inst, path[0] as number, out);
      return out;
    case 'objectInstance':
      expectLevel(path, 2, node);
      return instanceEntries(node, path[0] as number, out);
    case 'resource':
    case 'multipleResource':
      expectLevel(path, 3, node);
      return resourceEntries(node, path[0] as number, path[1] as number, out);
    case 'resourceInstance':
      expectLevel(path, 4, node);
      out.push({ path, type: node.type, value: node.value });
      return out;
  }
}

function expectLevel(path: Lwm2mPath, length: number, node: Lwm2mNode): void {
  if (path.length !== length || path[length - 1] !== node.id) {
    throw new EncodeError(`a ${node.kind} node with id ${node.id} does not fit path ${formatPath(path)}`);
  }
}

function instanceEntries(inst: ObjectInstanceNode, objectId: number, out: FlatEntry[]): FlatEntry[] {
  for (const res of inst.resources.values()) resourceEntries(res, objectId, inst.id, out);
  return out;
}

function resourceEntries(
  res: ResourceNode,
  objectId: number,
  instanceId: number,
  out: FlatEntry[],
): FlatEntry[] {
  if (res.kind === 'resource') {
    out.push({ path: [objectId, instanceId, res.id], type: res.type, value: res.value });
  } else {
    for (const [riid, value] of res.instances) {
      out.push({ path: [objectId, instanceId, res.id, riid], type: res.type, value });
    }
  }
  return out;
}

function fail(format: number | undefined, message: string): never {
  throw new DecodeError(message, format === undefined ? {} : { format });
}

/** A multiple resource while its instances are being gathered. */
interface GatheredResource {
  readonly kind: 'multipleResource';
  readonly id: number;
  type: ResourceType;
  readonly instances: Map<number, ResourceValue>;
}

type GatheringResource = ResourceNode | GatheredResource;

/** `ids` cut to `length`, as a path for messages. */
function pathOf(ids: readonly number[], length: number): Lwm2mPath {
  return ids.slice(0, length) as unknown as Lwm2mPath;
}

/** Above every resource id: no id is taken for new without a lookup. */
const UNKNOWN_MAX_RID = 0x10000;

/**
 * Builds the node at `path` from values added one at a time, each a resource or resource instance
 * below `path`, straight into the node's maps. A resource becomes multiple when the model says so
 * or when a value addresses one of its instances. Fails with {@link DecodeError} for values outside
 * `path`, duplicates, or a mix of single and instance values for one resource. Instances and
 * resources keep first-seen order.
 *
 * Two values at one path are a duplicate unless both carry a time (a historical notification read
 * as a plain one): then the later stays, the earlier on a tie.
 */
export class NodeAssembler {
  /** Values added so far (a superseded timed value included). */
  count = 0;
  private readonly path: Lwm2mPath;
  private readonly format: number | undefined;
  /** The definition of the object at `path[0]`, looked up once. */
  private readonly object: ObjectDefinition | undefined;
  private readonly instances = new Map<number, Map<number, GatheringResource>>();
  private lastIid = -1;
  private resources: Map<number, GatheringResource> | undefined;
  /** The multiple resource last added to in `resources`, and its id (-1 for none). */
  private lastRid = -1;
  private lastResource: GatheredResource | undefined;
  /** The highest resource id in `resources`, or {@link UNKNOWN_MAX_RID} when not known. */
  private maxRid = -1;
  /** The value at a resource-instance `path`. */
  private leaf: { type: ResourceType; value: ResourceValue } | undefined;
  /** Times of the values that carry one, by formatted path; made for the first timed value. */
  private times: Map<string, number> | undefined;

  constructor(path: Lwm2mPath, registry: ObjectRegistry, format?: number) {
    if (path.length === 0) fail(format, 'a single-path payload cannot target the root path');
    this.path = path;
    this.format = format;
    this.object = registry.getObject(path[0] as number);
  }

  /**
   * Adds the value at the first `length` (3 or 4) of `ids`; `time` in seconds when it carries one.
   * `multiple`: whether the model makes the resource a multiple one, when the caller has looked it
   * up already.
   */
  add(
    ids: readonly number[],
    length: number,
    type: ResourceType,
    value: ResourceValue,
    time?: number,
    multiple?: boolean,
  ): void {
    const path = this.path;
    const format = this.format;
    if (length < 3 || length > 4 || !isIdPrefix(path, ids, length)) {
      fail(format, `value at ${formatPath(pathOf(ids, length))} is not a resource below ${formatPath(path)}`);
    }
    this.count++;
    if (path.length === 4) {
      if (this.leaf !== undefined) {
        const outcome = this.repeated(ids, length, time);
        if (outcome === 'duplicate')
          fail(format, `expected one value for ${formatPath(path)}, got ${this.count}`);
        if (outcome === 'keep') return;
      } else if (time !== undefined) this.setTime(ids, length, time);
      this.leaf = { type, value };
      return;
    }
    const resources = this.resourcesOf(ids[1] as number);
    const rid = ids[2] as number;
    // Instances of one resource come in a row: the one gathered last is at hand without a lookup.
    // Resources mostly come in id order: one above every id so far is new without a lookup either.
    const existing =
      rid > this.maxRid ? undefined : rid === this.lastRid ? this.lastResource : resources.get(rid);
    if (existing === undefined) {
      if (rid > this.maxRid) this.maxRid = rid;
      if (time !== undefined) this.setTime(ids, length, time);
      if (length === 3 && !(multiple ?? this.object?.resources.get(rid)?.multiple === true)) {
        resources.set(rid, singleResource(rid, type, value));
        this.lastRid = -1;
        return;
      }
      if (length !== 4) this.mixed(ids);
      const gathered: GatheredResource = { kind: 'multipleResource', id: rid, type, instances: new Map() };
      gathered.instances.set(ids[3] as number, value);
      resources.set(rid, gathered);
      this.lastRid = rid;
      this.lastResource = gathered;
      return;
    }
    if (existing.kind === 'resource') {
      if (length !== 3) this.mixed(ids);
      const outcome = this.repeated(ids, length, time);
      if (outcome === 'duplicate') fail(format, `resource ${formatPath(pathOf(ids, 3))} has several values`);
      if (outcome === 'replace') resources.set(rid, singleResource(rid, type, value));
      return;
    }
    if (length !== 4) this.mixed(ids);
    const gathered = existing as GatheredResource;
    const instances = gathered.instances;
    const riid = ids[3] as number;
    const size = instances.size;
    if (time === undefined) {
      // A new instance grows the map; one already there is a duplicate (the throw drops the overwrite).
      instances.set(riid, value);
      if (instances.size === size) fail(format, `duplicate value for ${formatPath(pathOf(ids, 4))}`);
    } else {
      if (instances.has(riid)) {
        const outcome = this.repeated(ids, length, time);
        if (outcome === 'duplicate') fail(format, `duplicate value for ${formatPath(pathOf(ids, 4))}`);
        if (outcome === 'keep') return;
      } else this.setTime(ids, length, time);
      instances.set(riid, value);
    }
    this.lastRid = rid;
    this.lastResource = gathered;
    if (gathered.type === 'none' || gathered.type === 'opaque') gathered.type = type;
  }

  /** The resources map of instance `iid`, made when new; the last one is kept at hand. */
  private resourcesOf(iid: number): Map<number, GatheringResource> {
    let resources = this.resources;
    if (iid !== this.lastIid || resources === undefined) {
      resources = this.instances.get(iid);
      if (resources === undefined) {
        this.instances.set(iid, (resources = new Map()));
        this.maxRid = -1;
      } else {
        // Ids already in that map are not known here: look every one up.
        this.maxRid = UNKNOWN_MAX_RID;
      }
      this.resources = resources;
      this.lastIid = iid;
      this.lastRid = -1;
    }
    return resources;
  }

  /** The node at the path; a resource path needs a value, a resource-instance path exactly one. */
  finish(): Lwm2mNode {
    const path = this.path;
    if (path.length === 4) {
      const leaf = this.leaf ?? fail(this.format, `expected one value for ${formatPath(path)}, got 0`);
      return resourceInstance(path[3] as number, leaf.type, leaf.value);
    }
    if (path.length === 3) {
      const node = this.instances.get(path[1] as number)?.get(path[2] as number);
      return node ?? fail(this.format, `no value for ${formatPath(path)}`);
    }
    if (path.length === 2) {
      const iid = path[1] as number;
      return instanceNode(iid, this.instances.get(iid) ?? new Map());
    }
    const nodes = new Map<number, ObjectInstanceNode>();
    for (const [iid, map] of this.instances) nodes.set(iid, instanceNode(iid, map));
    return { kind: 'object', id: path[0] as number, instances: nodes };
  }

  private mixed(ids: readonly number[]): never {
    return fail(this.format, `resource ${formatPath(pathOf(ids, 3))} mixes a single value with instances`);
  }

  /**
   * A second value at a path: it replaces the first when both carry a time and it is not older,
   * the first stays when it is newer, and without both times it is a duplicate.
   */
  private repeated(
    ids: readonly number[],
    length: number,
    time: number | undefined,
  ): 'replace' | 'keep' | 'duplicate' {
    if (time === undefined || this.times === undefined) return 'duplicate';
    const key = formatPath(pathOf(ids, length));
    const earlier = this.times.get(key);
    if (earlier === undefined) return 'duplicate';
    if (earlier > time) return 'keep';
    this.times.set(key, time);
    return 'replace';
  }

  private setTime(ids: readonly number[], length: number, time: number): void {
    (this.times ??= new Map()).set(formatPath(pathOf(ids, length)), time);
  }
}

/** True when `path` is a prefix of the first `length` of `ids`. */
function isIdPrefix(path: Lwm2mPath, ids: readonly number[], length: number): boolean {
  if (path.length > length) return false;
  for (let i = 0; i < path.length; i++) if (path[i] !== ids[i]) return false;
  return true;
}

/**
 * Builds the node at `path` from flat entries (each a resource or resource instance below `path`),
 * as {@link NodeAssembler} does. Throws {@link DecodeError} for entries outside `path`,
 * duplicates, or a mix of single and instance values for one resource.
 */
export function entriesToNode(
  entries: readonly FlatEntry[],
  path: Lwm2mPath,
  registry: ObjectRegistry,
  format?: number,
): Lwm2mNode {
  const assembler = new NodeAssembler(path, registry, format);
  for (const e of entries) assembler.add(e.path, e.path.length, e.type, e.value, e.time);
  return assembler.finish();
}

function instanceNode(id: number, resources: ReadonlyMap<number, ResourceNode>): ObjectInstanceNode {
  return { kind: 'objectInstance', id, resources };
}
