import type { ResourceValue } from '@lwm2m/core';
import type { ChangeSink, InstanceHandler, ResourceContent, WriteContext } from './instance.js';

export type InitialValues =
  | Iterable<readonly [number, ResourceContent]>
  | Readonly<Record<number, ResourceContent | readonly ResourceValue[]>>;

function toMap(values: InitialValues | undefined): Map<number, ResourceContent> {
  const map = new Map<number, ResourceContent>();
  if (values === undefined) return map;
  if (Symbol.iterator in values) {
    for (const [id, content] of values as Iterable<readonly [number, ResourceContent]>) map.set(id, content);
    return map;
  }
  for (const [key, content] of Object.entries(values)) {
    // An array is the short way to write a multiple resource: instances 0, 1, 2...
    map.set(
      Number(key),
      Array.isArray(content)
        ? new Map(content.map((v, i) => [i, v as ResourceValue]))
        : (content as ResourceContent),
    );
  }
  return map;
}

const NO_EXECUTABLES: readonly number[] = Object.freeze([]);

/**
 * An instance that keeps its values in memory: the usual base for device objects. `set()` changes
 * a value from the device side and tells observers; writes from servers land in `write()`.
 * Subclasses override `write`, `execute` or `read` to react or compute values.
 */
export class StoredInstance implements InstanceHandler {
  protected readonly values: Map<number, ResourceContent>;
  /** Ids of executable resources this instance offers (they hold no value). */
  protected readonly executables: readonly number[];
  #sink: ChangeSink | undefined;
  #objectId = -1;
  #instanceId = -1;

  constructor(values?: InitialValues, executables: readonly number[] = NO_EXECUTABLES) {
    this.values = toMap(values);
    this.executables = executables;
  }

  *resourceIds(): Iterable<number> {
    yield* this.values.keys();
    for (const id of this.executables) if (!this.values.has(id)) yield id;
  }

  read(resourceId: number): ResourceContent | undefined {
    return this.values.get(resourceId);
  }

  write(resourceId: number, content: ResourceContent, _context: WriteContext): void | Promise<void> {
    this.values.set(resourceId, content);
  }

  remove(resourceId: number): void | Promise<void> {
    this.values.delete(resourceId);
  }

  execute(_resourceId: number, _args: string): void | Promise<void> {
    // Executables without behaviour are accepted and do nothing; subclasses give them one.
  }

  attach(sink: ChangeSink, objectId: number, instanceId: number): void {
    this.#sink = sink;
    this.#objectId = objectId;
    this.#instanceId = instanceId;
  }

  detach(): void {
    this.#sink = undefined;
  }

  /** The current content of a resource. */
  get(resourceId: number): ResourceContent | undefined {
    return this.values.get(resourceId);
  }

  /** Changes a value from the device side; observers are notified when their conditions hold. */
  set(resourceId: number, content: ResourceContent): void {
    this.values.set(resourceId, content);
    this.changed(resourceId);
  }

  /** Tells observers that a (computed) resource changed. */
  protected changed(resourceId: number): void {
    this.#sink?.resourceChanged(this.#objectId, this.#instanceId, resourceId);
  }

  /** The instance id once attached to a client, else -1. */
  protected get instanceId(): number {
    return this.#instanceId;
  }
}
