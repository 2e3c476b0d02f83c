import type { ObjectImplementation } from '../instance.js';
import { StoredInstance } from '../stored-instance.js';

/**
 * Object 2, kept as data: servers and the bootstrap server can create, read and write Access
 * Control instances, but the client does not enforce them (it trusts every registered server).
 */
export function accessControlObject(): ObjectImplementation {
  return { id: 2, create: () => new StoredInstance() };
}
