import { CORE_OBJECT_XML } from './core-objects.generated.js';
import { parseDdf } from './ddf.js';
import type { ObjectDefinition } from './model.js';
import { createObjectRegistry } from './registry.js';
import type { MutableObjectRegistry } from './registry.js';

/**
 * The object definitions shipped with this package (0 Security, 1 Server, 2 Access Control, 3 Device,
 * 4 Connectivity Monitoring, 5 Firmware Update, 6 Location, 7 Connectivity Statistics, 3303 Temperature),
 * with the facts of the OMA LwM2M registry. Parsed on each call, so callers own what they get.
 */
export function coreObjectDefinitions(): ObjectDefinition[] {
  return Object.values(CORE_OBJECT_XML).flatMap((xml) => parseDdf(xml));
}

/** A registry pre-filled with {@link coreObjectDefinitions}; add vendor objects to it as needed. */
export function createCoreObjectRegistry(): MutableObjectRegistry {
  return createObjectRegistry(coreObjectDefinitions());
}
