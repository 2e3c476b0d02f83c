import type { ResourceType } from './model.js';

/** A link to an object instance (`objlnk`); `65535:65535` is the null link. */
export interface ObjectLink {
  readonly objectId: number;
  readonly instanceId: number;
}

/**
 * The one JS representation of a resource value, whatever the format it came in:
 * string → string; integer/unsigned → number, or bigint beyond ±2^53; float → number;
 * boolean → boolean; opaque → Uint8Array; time → Date (whole seconds); objlnk → ObjectLink;
 * corelnk → string (RFC 6690 text).
 */
export type ResourceValue = string | number | bigint | boolean | Uint8Array | Date | ObjectLink;

/** A single-instance resource. */
export interface SingleResource {
  readonly kind: 'resource';
  readonly id: number;
  readonly type: ResourceType;
  readonly value: ResourceValue;
}

/** A multiple-instance resource: its instances by id (it may have none). */
export interface MultipleResource {
  readonly kind: 'multipleResource';
  readonly id: number;
  readonly type: ResourceType;
  readonly instances: ReadonlyMap<number, ResourceValue>;
}

/** One instance of a multiple-instance resource, addressed on its own (`/3/0/7/1`). */
export interface ResourceInstance {
  readonly kind: 'resourceInstance';
  readonly id: number;
  readonly type: ResourceType;
  readonly value: ResourceValue;
}

export type ResourceNode = SingleResource | MultipleResource;

export interface ObjectInstanceNode {
  readonly kind: 'objectInstance';
  readonly id: number;
  readonly resources: ReadonlyMap<number, ResourceNode>;
}

export interface ObjectNode {
  readonly kind: 'object';
  readonly id: number;
  readonly instances: ReadonlyMap<number, ObjectInstanceNode>;
}

/** What a single-path read, write or notification carries. The root path has no node. */
export type Lwm2mNode =
  ObjectNode | ObjectInstanceNode | SingleResource | MultipleResource | ResourceInstance;

export function singleResource(id: number, type: ResourceType, value: ResourceValue): SingleResource {
  return { kind: 'resource', id, type, value };
}

export function multipleResource(
  id: number,
  type: ResourceType,
  instances: ReadonlyMap<number, ResourceValue> | Iterable<readonly [number, ResourceValue]>,
): MultipleResource {
  return { kind: 'multipleResource', id, type, instances: new Map(instances) };
}

export function resourceInstance(id: number, type: ResourceType, value: ResourceValue): ResourceInstance {
  return { kind: 'resourceInstance', id, type, value };
}

export function objectInstance(id: number, resources: Iterable<ResourceNode>): ObjectInstanceNode {
  return { kind: 'objectInstance', id, resources: new Map([...resources].map((r) => [r.id, r] as const)) };
}

export function objectNode(id: number, instances: Iterable<ObjectInstanceNode>): ObjectNode {
  return { kind: 'object', id, instances: new Map([...instances].map((i) => [i.id, i] as const)) };
}

export function isObjectLink(value: unknown): value is ObjectLink {
  return (
    typeof value === 'object' &&
    value !== null &&
    !(value instanceof Uint8Array) &&
    !(value instanceof Date) &&
    typeof (value as ObjectLink).objectId === 'number' &&
    typeof (value as ObjectLink).instanceId === 'number'
  );
}

/** Parses the text form `3:0` of an object link. Returns undefined when malformed. */
export function parseObjectLink(text: string): ObjectLink | undefined {
  const m = /^(0|[1-9][0-9]{0,4}):(0|[1-9][0-9]{0,4})$/.exec(text);
  if (!m) return undefined;
  const objectId = Number(m[1]);
  const instanceId = Number(m[2]);
  if (objectId > 65535 || instanceId > 65535) return undefined;
  return { objectId, instanceId };
}

export function formatObjectLink(link: ObjectLink): string {
  return `${link.objectId}:${link.instanceId}`;
}
