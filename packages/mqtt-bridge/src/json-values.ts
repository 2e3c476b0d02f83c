import { formatObjectLink, isObjectLink, parseObjectLink } from '@lwm2m/core';
import type {
  Lwm2mNode,
  Lwm2mPath,
  ObjectInstanceNode,
  ObjectRegistry,
  ResourceNode,
  ResourceType,
  ResourceValue,
} from '@lwm2m/core';
import { BridgeRequestError } from './errors.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * One resource value as JSON: numbers and strings as they are, a bigint as a number when it is
 * safe and as a decimal string when not, opaque as base64, time as Unix seconds, an object link
 * as `"3:0"`, a non-finite float as `"NaN"`/`"Infinity"`/`"-Infinity"`.
 */
export function valueToJson(value: ResourceValue): JsonValue {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'bigint':
      return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(value)
        : value.toString();
    default:
      if (value instanceof Uint8Array)
        return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
      if (value instanceof Date) return Math.floor(value.getTime() / 1000);
      return formatObjectLink(value);
  }
}

function resourceToJson(resource: ResourceNode): JsonValue {
  if (resource.kind === 'resource') return valueToJson(resource.value);
  const out: Record<string, JsonValue> = {};
  for (const [id, value] of resource.instances) out[String(id)] = valueToJson(value);
  return out;
}

function instanceToJson(instance: ObjectInstanceNode): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [id, resource] of instance.resources) out[String(id)] = resourceToJson(resource);
  return out;
}

/**
 * A node as JSON shaped like its path: a value for a resource or resource instance, `{ riid: v }`
 * for a multiple-instance resource, `{ rid: … }` for an instance, `{ iid: { rid: … } }` for an object.
 */
export function nodeToJson(node: Lwm2mNode): JsonValue {
  switch (node.kind) {
    case 'resource':
    case 'resourceInstance':
      return valueToJson(node.value);
    case 'multipleResource':
      return resourceToJson(node);
    case 'objectInstance':
      return instanceToJson(node);
    case 'object': {
      const out: Record<string, JsonValue> = {};
      for (const [id, instance] of node.instances) out[String(id)] = instanceToJson(instance);
      return out;
    }
  }
}

/** Composite results (`/3/0/0` → node) as a JSON object by path. */
export function nodesToJson(nodes: ReadonlyMap<string, Lwm2mNode>): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [path, node] of nodes) out[path] = nodeToJson(node);
  return out;
}

// ---- JSON → values ------------------------------------------------------------------------

function badValue(where: string, message: string): BridgeRequestError {
  return new BridgeRequestError('ERR_BAD_VALUE', '4.00', `${where}: ${message}`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const INTEGER_TEXT = /^-?(0|[1-9][0-9]*)$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

function integerFromJson(json: unknown, unsigned: boolean, where: string): number | bigint {
  let big: bigint;
  if (typeof json === 'number') {
    if (!Number.isInteger(json)) throw badValue(where, `expected an integer, got ${json}`);
    if (!Number.isSafeInteger(json))
      throw badValue(where, `${json} is beyond 2^53: send it as a decimal string`);
    big = BigInt(json);
  } else if (typeof json === 'string' && INTEGER_TEXT.test(json) && json.length <= 21) {
    big = BigInt(json);
  } else {
    throw badValue(where, `expected an integer (number or decimal string), got ${JSON.stringify(json)}`);
  }
  if (unsigned ? big < 0n || big > UINT64_MAX : big < INT64_MIN || big > INT64_MAX) {
    throw badValue(
      where,
      `${big} is out of range for ${unsigned ? 'an unsigned' : 'a signed'} 64-bit integer`,
    );
  }
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

/** A JSON value as the resource value of `type` (the inverse of {@link valueToJson}). */
export function jsonToValue(json: unknown, type: ResourceType, where: string): ResourceValue {
  switch (type) {
    case 'string':
    case 'corelnk':
      if (typeof json !== 'string') throw badValue(where, `expected a string, got ${JSON.stringify(json)}`);
      return json;
    case 'integer':
      return integerFromJson(json, false, where);
    case 'unsigned':
      return integerFromJson(json, true, where);
    case 'float':
      if (typeof json === 'number') return json;
      if (json === 'NaN' || json === 'Infinity' || json === '-Infinity') return Number(json);
      throw badValue(where, `expected a number, got ${JSON.stringify(json)}`);
    case 'boolean':
      if (typeof json !== 'boolean')
        throw badValue(where, `expected true or false, got ${JSON.stringify(json)}`);
      return json;
    case 'opaque':
      if (typeof json !== 'string' || !BASE64.test(json))
        throw badValue(where, 'expected base64 text for an opaque value');
      return new Uint8Array(Buffer.from(json, 'base64'));
    case 'time': {
      if (typeof json === 'number' && Number.isSafeInteger(json)) return new Date(json * 1000);
      if (typeof json === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(json)) {
        const ms = Date.parse(json);
        if (!Number.isNaN(ms)) return new Date(Math.floor(ms / 1000) * 1000);
      }
      throw badValue(where, `expected Unix seconds or an ISO 8601 date, got ${JSON.stringify(json)}`);
    }
    case 'objlnk': {
      if (typeof json === 'string') {
        const link = parseObjectLink(json);
        if (link !== undefined) return link;
      } else if (isObjectLink(json)) {
        const link = parseObjectLink(`${json.objectId}:${json.instanceId}`);
        if (link !== undefined) return link;
      }
      throw badValue(where, `expected an object link "objectId:instanceId", got ${JSON.stringify(json)}`);
    }
    case 'none':
      throw badValue(where, 'an executable resource has no value to write');
  }
}

/** The type of a value of a resource the registry does not define: taken from the JSON. */
function inferJsonType(json: unknown, where: string): ResourceType {
  if (typeof json === 'string') return 'string';
  if (typeof json === 'boolean') return 'boolean';
  if (typeof json === 'number') return Number.isInteger(json) ? 'integer' : 'float';
  throw badValue(where, `expected a string, number or boolean, got ${JSON.stringify(json)}`);
}

const ID_TEXT = /^(0|[1-9][0-9]{0,4})$/;

function idOf(key: string, where: string): number {
  const id = ID_TEXT.test(key) ? Number(key) : NaN;
  if (!(id <= 65534)) throw badValue(where, `${JSON.stringify(key)} is not an id (0-65534)`);
  return id;
}

function resourceFromJson(
  objectId: number,
  resourceId: number,
  json: unknown,
  registry: ObjectRegistry,
  where: string,
): ResourceNode {
  const definition = registry.getResource(objectId, resourceId);
  const multiple = definition === undefined ? isPlainObject(json) : definition.multiple;
  if (multiple) {
    if (!isPlainObject(json))
      throw badValue(where, 'a multiple-instance resource takes an object of instance id → value');
    const instances = new Map<number, ResourceValue>();
    let type = definition?.type;
    for (const [key, item] of Object.entries(json)) {
      const at = `${where}/${key}`;
      type ??= inferJsonType(item, at);
      instances.set(idOf(key, at), jsonToValue(item, type, at));
    }
    return { kind: 'multipleResource', id: resourceId, type: type ?? 'string', instances };
  }
  const type = definition?.type ?? inferJsonType(json, where);
  return { kind: 'resource', id: resourceId, type, value: jsonToValue(json, type, where) };
}

/** An object instance from `{ rid: value | { riid: value } }`. */
export function instanceFromJson(
  objectId: number,
  instanceId: number,
  json: unknown,
  registry: ObjectRegistry,
  where: string,
): ObjectInstanceNode {
  if (!isPlainObject(json))
    throw badValue(where, 'an object instance takes an object of resource id → value');
  const resources = new Map<number, ResourceNode>();
  for (const [key, item] of Object.entries(json)) {
    const at = `${where}/${key}`;
    const id = idOf(key, at);
    resources.set(id, resourceFromJson(objectId, id, item, registry, at));
  }
  return { kind: 'objectInstance', id: instanceId, resources };
}

/**
 * The node to write at `path` from its JSON (the shape {@link nodeToJson} produces): a value for
 * a resource or resource instance, typed from the object registry (or from the JSON for a
 * resource the registry does not know); an object of ids for instances and multiple resources.
 */
export function jsonToNode(path: Lwm2mPath, json: unknown, registry: ObjectRegistry): Lwm2mNode {
  const where = path.length === 0 ? '/' : '/' + path.join('/');
  if (json === undefined) throw badValue(where, 'a value is required');
  switch (path.length) {
    case 0:
      throw badValue(where, 'cannot write the root path');
    case 1: {
      if (!isPlainObject(json)) throw badValue(where, 'an object takes an object of instance id → instance');
      const instances = new Map<number, ObjectInstanceNode>();
      for (const [key, item] of Object.entries(json)) {
        const at = `${where}/${key}`;
        const id = idOf(key, at);
        instances.set(id, instanceFromJson(path[0], id, item, registry, at));
      }
      return { kind: 'object', id: path[0], instances };
    }
    case 2:
      return instanceFromJson(path[0], path[1], json, registry, where);
    case 3:
      return resourceFromJson(path[0], path[2], json, registry, where);
    case 4: {
      const definition = registry.getResource(path[0], path[2]);
      const type = definition?.type ?? inferJsonType(json, where);
      return { kind: 'resourceInstance', id: path[3], type, value: jsonToValue(json, type, where) };
    }
  }
}
