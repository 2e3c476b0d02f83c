import {
  DecodeError,
  EncodeError,
  formatPath,
  isPathPrefix,
  multipleResource,
  objectInstance,
  objectNode,
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

/**
 * Builds the node at `path` from flat entries (each a resource or resource instance below `path`).
 * A resource becomes multiple when the model says so or when an entry addresses one of its
 * instances. Throws {@link DecodeError} for entries outside `path`, duplicates, or a mix of
 * single and instance values for one resource.
 */
export function entriesToNode(
  entries: readonly FlatEntry[],
  path: Lwm2mPath,
  registry: ObjectRegistry,
  format?: number,
): Lwm2mNode {
  const fail = (msg: string): never => {
    throw new DecodeError(msg, format === undefined ? {} : { format });
  };
  if (path.length === 0) fail('a single-path payload cannot target the root path');
  for (const e of entries) {
    if (e.path.length < 3 || !isPathPrefix(path, e.path)) {
      fail(`value at ${formatPath(e.path)} is not a resource below ${formatPath(path)}`);
    }
  }
  const objectId = path[0] as number;

  if (path.length === 4) {
    if (entries.length !== 1) fail(`expected one value for ${formatPath(path)}, got ${entries.length}`);
    const e = entries[0] as FlatEntry;
    return resourceInstance(path[3] as number, e.type, e.value);
  }
  if (path.length === 3) {
    return buildResource(entries, objectId, path[2] as number, registry, fail) ?? fail(`no value for ${formatPath(path)}`);
  }

  // Group by instance, then by resource, keeping first-seen order.
  const byInstance = new Map<number, Map<number, FlatEntry[]>>();
  for (const e of entries) {
    const iid = e.path[1] as number;
    const rid = e.path[2] as number;
    let resources = byInstance.get(iid);
    if (!resources) byInstance.set(iid, (resources = new Map()));
    let list = resources.get(rid);
    if (!list) resources.set(rid, (list = []));
    list.push(e);
  }
  const instances: ObjectInstanceNode[] = [];
  if (path.length === 2 && !byInstance.has(path[1] as number)) byInstance.set(path[1] as number, new Map());
  for (const [iid, resources] of byInstance) {
    const nodes: ResourceNode[] = [];
    for (const [rid, list] of resources) {
      nodes.push(buildResource(list, objectId, rid, registry, fail) as ResourceNode);
    }
    instances.push(objectInstance(iid, nodes));
  }
  if (path.length === 2) return instances[0] as ObjectInstanceNode;
  return objectNode(objectId, instances);
}

function buildResource(
  entries: readonly FlatEntry[],
  objectId: number,
  resourceId: number,
  registry: ObjectRegistry,
  fail: (msg: string) => never,
): ResourceNode | undefined {
  const first = entries[0];
  if (!first) return undefined;
  const multiple = registry.getResource(objectId, resourceId)?.multiple === true || first.path.length === 4;
  if (!multiple) {
    if (entries.length !== 1) fail(`resource ${formatPath(first.path)} has ${entries.length} values`);
    return singleResource(resourceId, first.type, first.value);
  }
  const instances = new Map<number, ResourceValue>();
  let type: ResourceType = first.type;
  for (const e of entries) {
    if (e.path.length !== 4) fail(`resource ${formatPath(e.path)} mixes a single value with instances`);
    const riid = e.path[3] as number;
    if (instances.has(riid)) fail(`duplicate value for ${formatPath(e.path)}`);
    instances.set(riid, e.value);
    if (type === 'none' || type === 'opaque') type = e.type;
  }
  return multipleResource(resourceId, type, instances);
}

/** The model's type for a resource path, or undefined for an unknown object/resource. */
export function modelType(path: Lwm2mPath, registry: ObjectRegistry): ResourceType | undefined {
  if (path.length < 3) return undefined;
  return registry.getResource(path[0] as number, path[2] as number)?.type;
}
