import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { BootstrapConfig } from '@lwm2m/bootstrap';
import { objectInstance, singleResource } from '@lwm2m/core';
import { createRedisBootstrapConfigStore } from './bootstrap-config-store.js';

function config(lifetime: number, bootstrapIdentity?: string): BootstrapConfig {
  return {
    security: [
      {
        instanceId: 0,
        uri: 'coaps://dm',
        ssid: 1,
        mode: 'psk',
        identity: `dm-${lifetime}`,
        key: Uint8Array.of(9, 9),
      },
      ...(bootstrapIdentity === undefined
        ? []
        : [
            {
              instanceId: 1,
              uri: 'coaps://bs',
              bootstrap: true,
              mode: 'psk' as const,
              identity: bootstrapIdentity,
              key: Uint8Array.of(lifetime),
            },
          ]),
    ],
    servers: [{ ssid: 1, lifetime }],
    objects: [
      {
        objectId: 2,
        instance: objectInstance(0, [singleResource(0, 'integer', 1), singleResource(3, 'integer', 1)]),
      },
    ],
  };
}

/** Against the real Redis on 127.0.0.1:6379, under a key prefix of its own. */
describe('Redis bootstrap config store', () => {
  const prefix = `lwm2m-test:${randomBytes(6).toString('hex')}:`;
  let redis: Redis;

  beforeAll(async () => {
    redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('stores configs, serves patterns, and round-trips every field', async () => {
    const store = createRedisBootstrapConfigStore({ redis, prefix: `${prefix}a:` });
    await store.put('*', config(1));
    await store.put('dev-*', config(2));
    await store.put('dev-7', config(3));
    expect(await store.get('dev-7')).toEqual(config(3));
    expect((await store.get('dev-8'))?.servers[0]?.lifetime).toBe(2);
    expect((await store.get('other'))?.servers[0]?.lifetime).toBe(1);
    expect((await store.entries()).map(([key]) => key)).toEqual(['*', 'dev-*', 'dev-7']);
    expect(await store.remove('*')).toBe(true);
    expect(await store.remove('*')).toBe(false);
    expect(await store.get('other')).toBeUndefined();
    // A second store on the same prefix (another process) sees the same configs.
    const other = createRedisBootstrapConfigStore({ redis, prefix: `${prefix}a:` });
    expect((await other.get('dev-1'))?.servers[0]?.lifetime).toBe(2);
  });

  it('indexes bootstrap PSK identities and refuses one identity for two keys', async () => {
    const store = createRedisBootstrapConfigStore({ redis, prefix: `${prefix}b:` });
    await store.put('dev-1', config(10, 'bs-1'));
    expect(await store.getBootstrapPsk('bs-1')).toEqual(Uint8Array.of(10));
    await expect(store.put('dev-2', config(20, 'bs-1'))).rejects.toMatchObject({ code: 'ERR_CONFLICT' });
    expect(await store.get('dev-2')).toBeUndefined();
    await store.put('dev-1', config(11, 'bs-2'));
    expect(await store.getBootstrapPsk('bs-1')).toBeUndefined();
    expect(await store.getBootstrapPsk('bs-2')).toEqual(Uint8Array.of(11));
    expect(await store.remove('dev-1')).toBe(true);
    expect(await store.getBootstrapPsk('bs-2')).toBeUndefined();
    expect(await redis.hlen(`${prefix}b:bs:psk`)).toBe(0);
  });

  it('refuses an invalid config without writing anything', async () => {
    const store = createRedisBootstrapConfigStore({ redis, prefix: `${prefix}c:` });
    await expect(
      store.put('dev-1', { security: [], servers: [{ ssid: 1, lifetime: 1 }] }),
    ).rejects.toMatchObject({ code: 'ERR_BOOTSTRAP_CONFIG' });
    expect(await redis.keys(`${prefix}c:*`)).toEqual([]);
  });
});
