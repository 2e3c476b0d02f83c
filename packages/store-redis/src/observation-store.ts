import type { ObservationStore, StoredObservation } from '@lwm2m/server';
import type { RedisStoreOptions } from './registration-store.js';

/*
 * Keys (P = prefix):
 *   P obs:<token>          the observation's JSON
 *   P obs:reg:<id>         set of the tokens of a registration
 *   P obs:all              set of every token
 */

// ARGV: prefix, token.
const REMOVE = `
local p, token = ARGV[1], ARGV[2]
local json = redis.call('GET', p .. 'obs:' .. token)
if not json then return false end
local o = cjson.decode(json)
redis.call('DEL', p .. 'obs:' .. token)
redis.call('SREM', p .. 'obs:reg:' .. o.registrationId, token)
redis.call('SREM', p .. 'obs:all', token)
return json
`;

// ARGV: prefix, registration id.
const REMOVE_BY_REGISTRATION = `
local p, id = ARGV[1], ARGV[2]
local tokens = redis.call('SMEMBERS', p .. 'obs:reg:' .. id)
local out = {}
for _, token in ipairs(tokens) do
  local json = redis.call('GET', p .. 'obs:' .. token)
  if json then table.insert(out, json) end
  redis.call('DEL', p .. 'obs:' .. token)
  redis.call('SREM', p .. 'obs:all', token)
end
redis.call('DEL', p .. 'obs:reg:' .. id)
return out
`;

function parse(json: string): StoredObservation {
  return JSON.parse(json) as StoredObservation;
}

/** Observations in Redis: they outlive the process that made them. */
export function createRedisObservationStore(options: RedisStoreOptions): ObservationStore {
  const redis = options.redis;
  const p = options.prefix ?? 'lwm2m:';

  return {
    async add(observation) {
      // A token reused under another registration must leave the old one's set.
      await redis.eval(REMOVE, 0, p, observation.token);
      await redis
        .multi()
        .set(`${p}obs:${observation.token}`, JSON.stringify(observation))
        .sadd(`${p}obs:reg:${observation.registrationId}`, observation.token)
        .sadd(`${p}obs:all`, observation.token)
        .exec();
    },
    async get(token) {
      const json = await redis.get(`${p}obs:${token}`);
      return json === null ? undefined : parse(json);
    },
    async remove(token) {
      const json = (await redis.eval(REMOVE, 0, p, token)) as string | null;
      return json === null ? undefined : parse(json);
    },
    async removeByRegistration(registrationId) {
      const jsons = (await redis.eval(REMOVE_BY_REGISTRATION, 0, p, registrationId)) as string[];
      return jsons.map(parse);
    },
    async byRegistration(registrationId) {
      const tokens = await redis.smembers(`${p}obs:reg:${registrationId}`);
      if (tokens.length === 0) return [];
      const jsons = await redis.mget(tokens.map((t) => `${p}obs:${t}`));
      return jsons.filter((j): j is string => j !== null).map(parse);
    },
    async *all() {
      let cursor = '0';
      do {
        const [next, tokens] = await redis.sscan(`${p}obs:all`, cursor, 'COUNT', 500);
        cursor = next;
        if (tokens.length === 0) continue;
        const jsons = await redis.mget(tokens.map((t) => `${p}obs:${t}`));
        for (const json of jsons) if (json !== null) yield parse(json);
      } while (cursor !== '0');
    },
  };
}
