import { ConflictError } from './errors.js';
import type { SecurityInfo, SecurityStore } from './security.js';

/** Security info held in this process: the default store, and the reference for other implementations. */
export function createMemorySecurityStore(initial: Iterable<SecurityInfo> = []): SecurityStore {
  const byEndpoint = new Map<string, SecurityInfo>();
  const endpointByIdentity = new Map<string, string>();

  function putNow(info: SecurityInfo): void {
    if (info.mode === 'psk') {
      const owner = endpointByIdentity.get(info.identity);
      if (owner !== undefined && owner !== info.endpoint) {
        throw new ConflictError(
          `PSK identity ${JSON.stringify(info.identity)} already belongs to endpoint ${JSON.stringify(owner)}`,
        );
      }
    }
    removeNow(info.endpoint);
    byEndpoint.set(info.endpoint, info);
    if (info.mode === 'psk') endpointByIdentity.set(info.identity, info.endpoint);
  }

  function removeNow(endpoint: string): boolean {
    const old = byEndpoint.get(endpoint);
    if (old === undefined) return false;
    byEndpoint.delete(endpoint);
    if (old.mode === 'psk') endpointByIdentity.delete(old.identity);
    return true;
  }

  for (const info of initial) putNow(info);

  return {
    getByEndpoint: async (endpoint) => byEndpoint.get(endpoint),
    getByPskIdentity: async (identity) => {
      const endpoint = endpointByIdentity.get(identity);
      return endpoint === undefined ? undefined : byEndpoint.get(endpoint);
    },
    put: async (info) => putNow(info),
    remove: async (endpoint) => removeNow(endpoint),
  };
}
