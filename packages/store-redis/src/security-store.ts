import { ConflictError } from '@lwm2m/core';
import type { SecurityInfo, SecurityStore } from '@lwm2m/core';
import { parseWithBytes, stringifyWithBytes } from './json-bytes.js';
import type { RedisStoreOptions } from './registration-store.js';

/*
 * Keys (P = prefix):
 *   P sec:ep:<endpoint>     the endpoint's SecurityInfo JSON (bytes as base64)
 *   P sec:psk:<identity>    the endpoint owning a PSK identity
 *   P sec:psk-of:<endpoint> the PSK identity an endpoint holds (to clean the index on change)
 */

// ARGV: prefix, endpoint, json, psk identity ('' when not PSK).
const PUT = `
local p, ep, json, identity = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if identity ~= '' then
  local owner = redis.call('GET', p .. 'sec:psk:' .. identity)
  if owner and owner ~= ep then return redis.error_reply('CONFLICT ' .. owner) end
end
local old = redis.call('GET', p .. 'sec:psk-of:' .. ep)
if old and redis.call('GET', p .. 'sec:psk:' .. old) == ep then redis.call('DEL', p .. 'sec:psk:' .. old) end
redis.call('DEL', p .. 'sec:psk-of:' .. ep)
if identity ~= '' then
  redis.call('SET', p .. 'sec:psk:' .. identity, ep)
  redis.call('SET', p .. 'sec:psk-of:' .. ep, identity)
end
redis.call('SET', p .. 'sec:ep:' .. ep, json)
return 1
`;

// ARGV: prefix, endpoint.
const REMOVE = `
local p, ep = ARGV[1], ARGV[2]
local removed = redis.call('DEL', p .. 'sec:ep:' .. ep)
local old = redis.call('GET', p .. 'sec:psk-of:' .. ep)
if old and redis.call('GET', p .. 'sec:psk:' .. old) == ep then redis.call('DEL', p .. 'sec:psk:' .. old) end
redis.call('DEL', p .. 'sec:psk-of:' .. ep)
return removed
`;

// ARGV: prefix, identity.
const GET_BY_PSK = `
local ep = redis.call('GET', ARGV[1] .. 'sec:psk:' .. ARGV[2])
if not ep then return false end
return redis.call('GET', ARGV[1] .. 'sec:ep:' .. ep)
`;

/** Security info in Redis, shared by the servers and bootstrap servers pointed at it. */
export function createRedisSecurityStore(options: RedisStoreOptions): SecurityStore {
  const redis = options.redis;
  const p = options.prefix ?? 'lwm2m:';

  return {
    async getByEndpoint(endpoint) {
      const json = await redis.get(`${p}sec:ep:${endpoint}`);
      return json === null ? undefined : (parseWithBytes(json) as SecurityInfo);
    },
    async getByPskIdentity(identity) {
      const json = (await redis.eval(GET_BY_PSK, 0, p, identity)) as string | null;
      return json === null ? undefined : (parseWithBytes(json) as SecurityInfo);
    },
    async put(info) {
      try {
        await redis.eval(
          PUT,
          0,
          p,
          info.endpoint,
          stringifyWithBytes(info),
          info.mode === 'psk' ? info.identity : '',
        );
      } catch (error) {
        if (error instanceof Error && error.message.startsWith('CONFLICT')) {
          const owner = error.message.slice('CONFLICT '.length);
          throw new ConflictError(`PSK identity already belongs to endpoint ${JSON.stringify(owner)}`);
        }
        throw error;
      }
    },
    async remove(endpoint) {
      return ((await redis.eval(REMOVE, 0, p, endpoint)) as number) > 0;
    },
  };
}
