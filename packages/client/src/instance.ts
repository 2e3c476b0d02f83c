import type { ResourceValue } from '@lwm2m/core';

/** What a resource holds: one value, or the instances of a multiple-instance resource by id. */
export type ResourceContent = ResourceValue | ReadonlyMap<number, ResourceValue>;

/** Told when a value changes outside a server's request, so observations can notify. */
export interface ChangeSink {
  resourceChanged(objectId: number, instanceId: number, resourceId: number): void;
}

/** What a write is part of; handlers rarely need it. */
export interface WriteContext {
  /** The Short Server ID of the server writing, or undefined for the bootstrap server / local writes. */
  readonly ssid: number | undefined;
  readonly bootstrap: boolean;
}

/**
 * One object instance, implemented by you: a plain object with these methods or a class (extend
 * {@link StoredInstance} to keep values in memory). The client checks paths, operations (R/W/E
 * of the object definition), types and ranges before calling, so handlers only see valid input;
 * a handler may still throw an {@link Lwm2mOperationError} to answer with its code.
 */
export interface InstanceHandler {
  /** Ids of the resources this instance has (executable ones included). */
  resourceIds(): Iterable<number>;
  /** The current content of a resource, or undefined when the instance does not have it. */
  read(resourceId: number): ResourceContent | undefined | Promise<ResourceContent | undefined>;
  /** Stores a new content (a multiple resource always gets all its instances). */
  write?(resourceId: number, content: ResourceContent, context: WriteContext): void | Promise<void>;
  /** Removes an optional resource (a replacing Write of the instance that leaves it out). */
  remove?(resourceId: number): void | Promise<void>;
  /** Runs an executable resource; `args` is the Execute payload as text (may be empty). */
  execute?(resourceId: number, args: string): void | Promise<void>;
  /** Called once the instance is added to a client's tree (so it can report changes). */
  attach?(sink: ChangeSink, objectId: number, instanceId: number): void;
  /** Called when the instance leaves the tree (Delete, or the client closing). */
  detach?(): void;
}

/** An object a client implements: its id and how servers may create instances. */
export interface ObjectImplementation {
  readonly id: number;
  /** Instances present at start, by id. */
  readonly instances?: ReadonlyMap<number, InstanceHandler> | Readonly<Record<number, InstanceHandler>>;
  /** Makes the handler for a server's Create; without it Create answers 4.05. */
  create?(instanceId: number): InstanceHandler;
}
