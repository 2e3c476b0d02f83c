import {
  DecodeError,
  EncodeError,
  formatPath,
  isPathPrefix,
  resourceInstance,
  singleResource,
} from '@lwm2m/core';
import type {
  Lwm2mNode,
  Lwm2mPath,
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

function resourceEntries(res: ResourceNode, objectId: number, instanceId: number, out: FlatEntry[]): FlatEntry[] {
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

/**
 * Builds the node at `path` from flat entries (each a resource or resource instance below `path`).
 * A resource becomes multiple when the model says so or when an entry addresses one of its
 * instances. Throws {@link DecodeError} for entries outside `path`, duplicates, or a mix of
 * single and instance values for one resource. Instances and resources keep first-seen order.
 */
export function entriesToNode(
  entries: readonly FlatEntry[],
  path: Lwm2mPath,
  registry: ObjectRegistry,
  format?: number,
): Lwm2mNode {
  if (path.length === 0) fail(format, 'a single-path payload cannot target the root path');
  if (path.length === 4) {
    const e = entries[0];
    if (entries.length !== 1 || e === undefined)
      fail(format, `expected one value for ${formatPath(path)}, got ${entries.length}`);
    checkBelow(e, path, format);
    return resourceInstance(path[3] as number, e.type, e.value);
  }
  const objectId = path[0] as number;
  // One pass, building the final maps directly: this runs for every decoded payload.
  const instances = new Map<number, Map<number, ResourceNode | GatheredResource>>();
  let lastIid = -1;
  let resources: Map<number, ResourceNode | GatheredResource> | undefined;
  for (const e of entries) {
    checkBelow(e, path, format);
    const iid = e.path[1] as number;
    const rid = e.path[2] as number;
    if (iid !== lastIid || resources === undefined) {
      resources = instances.get(iid);
      if (resources === undefined) instances.set(iid, (resources = new Map()));
      lastIid = iid;
    }
    const existing = resources.get(rid);
    if (existing === undefined) {
      const multiple = e.path.length === 4 || registry.getResource(objectId, rid)?.multiple === true;
      if (!multiple) {
        resources.set(rid, singleResource(rid, e.type, e.value));
        continue;
      }
      if (e.path.length !== 4) fail(format, `resource ${formatPath(e.path)} mixes a single value with instances`);
      const gathered: GatheredResource = { kind: 'multipleResource', id: rid, type: e.type, instances: new Map() };
      gathered.instances.set(e.path[3] as number, e.value);
      resources.set(rid, gathered);
    } else if (existing.kind === 'resource') {
      fail(format, `resource ${formatPath(e.path.slice(0, 3) as unknown as Lwm2mPath)} has several values`);
    } else {
      if (e.path.length !== 4) fail(format, `resource ${formatPath(e.path)} mixes a single value with instances`);
      const gathered = existing as GatheredResource;
      const riid = e.path[3] as number;
      if (gathered.instances.has(riid)) fail(format, `duplicate value for ${formatPath(e.path)}`);
      gathered.instances.set(riid, e.value);
      if (gathered.type === 'none' || gathered.type === 'opaque') gathered.type = e.type;
    }
  }
  if (path.length === 3) {
    const node = resources?.get(path[2] as number);
    return node ?? fail(format, `no value for ${formatPath(path)}`);
  }
  if (path.length === 2) {
    const iid = path[1] as number;
    return instanceNode(iid, instances.get(iid) ?? new Map());
  }
  const nodes = new Map<number, ObjectInstanceNode>();
  for (const [iid, map] of instances) nodes.set(iid, instanceNode(iid, map));
  return { kind: 'object', id: objectId, instances: nodes };
}

function instanceNode(id: number, resources: ReadonlyMap<number, ResourceNode>): ObjectInstanceNode {
  return { kind: 'objectInstance', id, resources };
}

function checkBelow(e: FlatEntry, path: Lwm2mPath, format: number | undefined): void {
  if (e.path.length < 3 || !isPathPrefix(path, e.path)) {
    fail(format, `value at ${formatPath(e.path)} is not a resource below ${formatPath(path)}`);
  }
}
