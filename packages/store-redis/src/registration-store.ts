import { applyRegistrationUpdate } from '@lwm2m/server';
import type { Registration, RegistrationStore } from '@lwm2m/server';
import type { Redis } from 'ioredis';
import { parseWithBytes, stringifyWithBytes } from './json-bytes.js';

export interface RedisStoreOptions {
  /** A connected ioredis client; the caller owns it (and quits it). */
  readonly redis: Redis;
  /** Put before every key, e.g. `lwm2m:`. Default `lwm2m:`. */
  readonly prefix?: string;
}

/*
 * Keys (P = prefix):
 *   P reg:<id>                      hash: one field per Registration property (JSON), plus
 *                                   @ep and @addr (the index entries it owns)
 *   P reg:ep:<endpoint>             the endpoint's registration id
 *   P reg:addr:<transport|address|port>  the id registered from there (Send has no endpoint name)
 *   P regs                          set of every id
 * Every change is one Lua script, so two server processes never see (or leave) a half-made
 * registration: the per-endpoint atomicity the server relies on. Index keys are derived inside
 * the scripts (single Redis or a cluster-less deployment).
 */

const REMOVE_FN = `
local function removeRegistration(p, id)
  local key = p .. 'reg:' .. id
  local fields = redis.call('HGETALL', key)
  if #fields == 0 then return false end
  local ep = redis.call('HGET', key, '@ep')
  local addr = redis.call('HGET', key, '@addr')
  if ep and redis.call('GET', p .. 'reg:ep:' .. ep) == id then redis.call('DEL', p .. 'reg:ep:' .. ep) end
  if addr and redis.call('GET', p .. 'reg:addr:' .. addr) == id then redis.call('DEL', p .. 'reg:addr:' .. addr) end
  redis.call('DEL', key)
  redis.call('SREM', p .. 'regs', id)
  return fields
end
`;

// ARGV: prefix, id, endpoint, address key, then field/value pairs.
const ADD = `${REMOVE_FN}
local p, id, ep, addr = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local previous = false
local old = redis.call('GET', p .. 'reg:ep:' .. ep)
if old then previous = removeRegistration(p, old) end
local key = p .. 'reg:' .. id
redis.call('DEL', key)
redis.call('HSET', key, '@ep', ep, '@addr', addr, unpack(ARGV, 5))
redis.call('SET', p .. 'reg:ep:' .. ep, id)
redis.call('SET', p .. 'reg:addr:' .. addr, id)
redis.call('SADD', p .. 'regs', id)
return previous
`;

// ARGV: prefix, id, new address key, then field/value pairs. Returns the fields before the change.
const UPDATE = `
local p, id, addr = ARGV[1], ARGV[2], ARGV[3]
local key = p .. 'reg:' .. id
local before = redis.call('HGETALL', key)
if #before == 0 then return false end
local oldAddr = redis.call('HGET', key, '@addr')
if oldAddr and redis.call('GET', p .. 'reg:addr:' .. oldAddr) == id then redis.call('DEL', p .. 'reg:addr:' .. oldAddr) end
redis.call('HSET', key, '@addr', addr, unpack(ARGV, 4))
redis.call('SET', p .. 'reg:addr:' .. addr, id)
return before
`;

// ARGV: prefix, id, expiredAt ('' for none).
const REMOVE = `${REMOVE_FN}
local p, id, expiredAt = ARGV[1], ARGV[2], ARGV[3]
if expiredAt ~= '' then
  local expiresAt = redis.call('HGET', p .. 'reg:' .. id, 'expiresAt')
  if not expiresAt or tonumber(expiresAt) > tonumber(expiredAt) then return false end
end
return removeRegistration(p, id)
`;

// ARGV: prefix, index key suffix ('ep:<endpoint>' or 'addr:<key>').
const GET_BY_INDEX = `
local id = redis.call('GET', ARGV[1] .. 'reg:' .. ARGV[2])
if not id then return false end
return redis.call('HGETALL', ARGV[1] .. 'reg:' .. id)
`;

function addressKey(transport: string, address: string, port: number): string {
  return `${transport}|${address}|${port}`;
}

function toFields(value: object): string[] {
  const fields: string[] = [];
  for (const [name, v] of Object.entries(value)) {
    if (v === undefined) continue;
    fields.push(name, stringifyWithBytes(v));
  }
  return fields;
}

function fromFields(fields: readonly string[]): Registration {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i] as string;
    if (name.startsWith('@')) continue;
    out[name] = parseWithBytes(fields[i + 1] as string);
  }
  return out as unknown as Registration;
}

type Reply = string[] | null;

/** Registrations in Redis, shared by every server process pointed at it. */
export function createRedisRegistrationStore(options: RedisStoreOptions): RegistrationStore {
  const redis = options.redis;
  const p = options.prefix ?? 'lwm2m:';

  async function script(source: string, args: (string | number)[]): Promise<Reply> {
    return (await redis.eval(source, 0, ...args)) as Reply;
  }

  return {
    async add(registration) {
      const reply = await script(ADD, [
        p,
        registration.id,
        registration.endpoint,
        addressKey(registration.transport, registration.address, registration.port),
        ...toFields(registration),
      ]);
      return reply === null ? undefined : fromFields(reply);
    },
    async update(id, update) {
      const { address, port, transport } = update;
      const reply = await script(UPDATE, [p, id, addressKey(transport, address, port), ...toFields(update)]);
      if (reply === null) return undefined;
      const previous = fromFields(reply);
      return { previous, current: applyRegistrationUpdate(previous, update) };
    },
    async remove(id, removeOptions = {}) {
      const reply = await script(REMOVE, [
        p,
        id,
        removeOptions.expiredAt === undefined ? '' : String(removeOptions.expiredAt),
      ]);
      return reply === null ? undefined : fromFields(reply);
    },
    async get(id) {
      const fields = await redis.hgetall(`${p}reg:${id}`);
      if (Object.keys(fields).length === 0) return undefined;
      return fromFields(Object.entries(fields).flat());
    },
    async getByEndpoint(endpoint) {
      const reply = await script(GET_BY_INDEX, [p, `ep:${endpoint}`]);
      return reply === null ? undefined : fromFields(reply);
    },
    async getByAddress(transport, address, port) {
      const reply = await script(GET_BY_INDEX, [p, `addr:${addressKey(transport, address, port)}`]);
      return reply === null ? undefined : fromFields(reply);
    },
    async *all() {
      let cursor = '0';
      do {
        const [next, ids] = await redis.sscan(`${p}regs`, cursor, 'COUNT', 500);
        cursor = next;
        const pipeline = redis.pipeline();
        for (const id of ids) pipeline.hgetall(`${p}reg:${id}`);
        const results = (await pipeline.exec()) ?? [];
        for (const [error, fields] of results) {
          if (error !== null || fields === null || typeof fields !== 'object') continue;
          const entries = Object.entries(fields as Record<string, string>);
          if (entries.length > 0) yield fromFields(entries.flat());
        }
      } while (cursor !== '0');
    },
  };
}
