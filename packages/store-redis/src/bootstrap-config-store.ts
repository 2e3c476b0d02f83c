import { ConflictError } from '@lwm2m/core';
import type { ObjectRegistry } from '@lwm2m/core';
import {
  bestPattern,
  bootstrapConfigToJson,
  bootstrapPskIdentity,
  isEndpointPattern,
  parseBootstrapConfig,
  validateBootstrapConfig,
} from '@lwm2m/bootstrap';
import type { BootstrapConfig, BootstrapConfigStore } from '@lwm2m/bootstrap';
import type { Redis } from 'ioredis';

export interface RedisBootstrapConfigStoreOptions {
  /** A connected ioredis client; the caller owns it (and quits it). */
  readonly redis: Redis;
  /** Put before every key, e.g. `lwm2m:`. Default `lwm2m:`. */
  readonly prefix?: string;
  /** Types bare resource values of stored `objects`; the core objects by default. */
  readonly registry?: ObjectRegistry;
}

/*
 * Keys (P = prefix):
 *   P bs:config:<key>   the config's JSON form (as bootstrapConfigToJson writes it)
 *   P bs:keys           set of every config key
 *   P bs:patterns       set of the keys that are glob patterns
 *   P bs:psk            hash: bootstrap PSK identity → config key
 *   P bs:psk-of         hash: config key → its bootstrap PSK identity
 * Changes run as Lua scripts, so the indexes never disagree with the configs.
 */

const PUT = `
local owner = redis.call('HGET', KEYS[4], ARGV[4])
if ARGV[4] ~= '' and owner and owner ~= ARGV[1] then
  return redis.error_reply('CONFLICT ' .. owner)
end
local old = redis.call('HGET', KEYS[5], ARGV[1])
if old and redis.call('HGET', KEYS[4], old) == ARGV[1] then redis.call('HDEL', KEYS[4], old) end
redis.call('HDEL', KEYS[5], ARGV[1])
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[4], ARGV[4], ARGV[1])
  redis.call('HSET', KEYS[5], ARGV[1], ARGV[4])
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
if ARGV[3] == '1' then redis.call('SADD', KEYS[3], ARGV[1]) end
return 1
`;

const REMOVE = `
local removed = redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
local old = redis.call('HGET', KEYS[5], ARGV[1])
if old and redis.call('HGET', KEYS[4], old) == ARGV[1] then redis.call('HDEL', KEYS[4], old) end
redis.call('HDEL', KEYS[5], ARGV[1])
return removed
`;

/**
 * Bootstrap configs in Redis, shared by several bootstrap server processes. Lookups read Redis
 * every time (no cache), so a config put by one process is served by all at once.
 */
export function createRedisBootstrapConfigStore(
  options: RedisBootstrapConfigStoreOptions,
): BootstrapConfigStore {
  const { redis } = options;
  const prefix = options.prefix ?? 'lwm2m:';
  const configKey = (key: string): string => `${prefix}bs:config:${key}`;
  const keysKey = `${prefix}bs:keys`;
  const patternsKey = `${prefix}bs:patterns`;
  const pskKey = `${prefix}bs:psk`;
  const pskOfKey = `${prefix}bs:psk-of`;
  const parseOptions = options.registry === undefined ? {} : { registry: options.registry };

  function parse(key: string, text: string | null): BootstrapConfig | undefined {
    return text === null
      ? undefined
      : parseBootstrapConfig(JSON.parse(text), { ...parseOptions, context: key });
  }

  function checkKey(key: string): void {
    if (typeof key !== 'string' || key.length === 0 || key.length > 1024 || /[\u0000-\u001f]/.test(key)) {
      throw new TypeError(`invalid bootstrap config key ${JSON.stringify(key)}`);
    }
  }

  return {
    async get(endpoint) {
      const own = await redis.get(configKey(endpoint));
      if (own !== null) return parse(endpoint, own);
      const pattern = bestPattern(await redis.smembers(patternsKey), endpoint);
      return pattern === undefined ? undefined : parse(pattern, await redis.get(configKey(pattern)));
    },

    async getBootstrapPsk(identity) {
      const owner = await redis.hget(pskKey, identity);
      if (owner === null) return undefined;
      const config = parse(owner, await redis.get(configKey(owner)));
      const psk = config === undefined ? undefined : bootstrapPskIdentity(config);
      return psk?.identity === identity ? psk.key : undefined;
    },

    async put(key, config) {
      checkKey(key);
      validateBootstrapConfig(config, key);
      const json = JSON.stringify(bootstrapConfigToJson(config));
      const identity = bootstrapPskIdentity(config)?.identity ?? '';
      try {
        await redis.eval(
          PUT,
          5,
          configKey(key),
          keysKey,
          patternsKey,
          pskKey,
          pskOfKey,
          key,
          json,
          isEndpointPattern(key) ? '1' : '0',
          identity,
        );
      } catch (error) {
        const message = error instanceof Error ? error.message : '';
        if (message.includes('CONFLICT ')) {
          const owner = message.slice(message.indexOf('CONFLICT ') + 9);
          throw new ConflictError(
            `bootstrap PSK identity ${JSON.stringify(identity)} already belongs to ${JSON.stringify(owner)}`,
          );
        }
        throw error;
      }
    },

    async remove(key) {
      const removed = await redis.eval(
        REMOVE,
        5,
        configKey(key),
        keysKey,
        patternsKey,
        pskKey,
        pskOfKey,
        key,
      );
      return removed === 1;
    },

    async entries() {
      const keys = (await redis.smembers(keysKey)).sort();
      if (keys.length === 0) return [];
      const texts = await redis.mget(keys.map(configKey));
      const out: [string, BootstrapConfig][] = [];
      keys.forEach((key, i) => {
        const config = parse(key, texts[i] ?? null);
        if (config !== undefined) out.push([key, config]);
      });
      return out;
    },
  };
}
