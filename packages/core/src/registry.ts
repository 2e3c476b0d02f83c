import { ModelError } from './errors.js';
import type { ObjectDefinition, ObjectRegistry, ResourceDefinition } from './model.js';

export interface MutableObjectRegistry extends ObjectRegistry {
  /** Adds a definition; a later one with the same id and version replaces the earlier. */
  add(definition: ObjectDefinition): void;
}

/** Compares `1.0` < `1.1` < `1.10` numerically, part by part. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** An in-memory registry holding every version of every object it is given. */
export function createObjectRegistry(definitions: Iterable<ObjectDefinition> = []): MutableObjectRegistry {
  /** objectId → version → definition */
  const byId = new Map<number, Map<string, ObjectDefinition>>();
  /** objectId → newest version, kept so lookups without a version cost one map get. */
  const newest = new Map<number, ObjectDefinition>();

  const registry: MutableObjectRegistry = {
    add(definition) {
      if (!Number.isInteger(definition.id) || definition.id < 0 || definition.id > 65534) {
        throw new ModelError(`object id out of range: ${definition.id}`);
      }
      let versions = byId.get(definition.id);
      if (!versions) byId.set(definition.id, (versions = new Map()));
      versions.set(definition.version, definition);
      const current = newest.get(definition.id);
      if (!current || compareVersions(definition.version, current.version) >= 0)
        newest.set(definition.id, definition);
    },
    getObject(objectId, version) {
      return version === undefined ? newest.get(objectId) : byId.get(objectId)?.get(version);
    },
    getResource(objectId, resourceId, version): ResourceDefinition | undefined {
      return registry.getObject(objectId, version)?.resources.get(resourceId);
    },
    objects() {
      return [...newest.values()].sort((a, b) => a.id - b.id);
    },
  };
  for (const d of definitions) registry.add(d);
  return registry;
}
