import { Redis } from 'ioredis';
import { createMemorySecurityStore } from '@lwm2m/core';
import type { SecurityInfo, SecurityStore } from '@lwm2m/core';
import type { ServerStores } from '@lwm2m/server';
import {
  createRedisObservationStore,
  createRedisRegistrationStore,
  createRedisSecurityStore,
} from '@lwm2m/store-redis';

export interface OpenedServerStores {
  readonly stores: ServerStores;
  readonly security: SecurityStore;
  /** Close it (`quit()`) after the server: undefined with the in-memory stores. */
  readonly redis: Redis | undefined;
}

/**
 * The server's stores: in Redis when LWM2M_REDIS_URL is set (keys under LWM2M_REDIS_PREFIX,
 * default `lwm2m:`, shared with other server processes and the bootstrap server), in memory
 * otherwise; `entries` are put into the security store.
 */
export async function openServerStores(
  env: NodeJS.ProcessEnv,
  entries: readonly SecurityInfo[],
): Promise<OpenedServerStores> {
  const url = env['LWM2M_REDIS_URL'];
  let opened: OpenedServerStores;
  if (url !== undefined && url !== '') {
    const redis = new Redis(url, { maxRetriesPerRequest: 3 });
    const prefix = env['LWM2M_REDIS_PREFIX'] ?? 'lwm2m:';
    const security = createRedisSecurityStore({ redis, prefix });
    opened = {
      stores: {
        registrations: createRedisRegistrationStore({ redis, prefix }),
        observations: createRedisObservationStore({ redis, prefix }),
        security,
      },
      security,
      redis,
    };
  } else {
    const security = createMemorySecurityStore();
    opened = { stores: { security }, security, redis: undefined };
  }
  for (const info of entries) await opened.security.put(info);
  return opened;
}
