import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createMemoryObservationStore, createMemoryRegistrationStore } from '@lwm2m/server';
import type { ObservationStore, Registration, RegistrationStore } from '@lwm2m/server';
import { createMemorySecurityStore } from '@lwm2m/core';
import type { SecurityStore } from '@lwm2m/core';
import {
  createRedisObservationStore,
  createRedisRegistrationStore,
  createRedisSecurityStore,
} from '../src/index.js';

const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true, maxRetriesPerRequest: 1 });
const prefixes: string[] = [];

function freshPrefix(): string {
  const prefix = `test:server-stores:${randomBytes(6).toString('hex')}:`;
  prefixes.push(prefix);
  return prefix;
}

beforeAll(async () => {
  await redis.connect();
});

afterAll(async () => {
  for (const prefix of prefixes) {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  }
  await redis.quit();
});

function registration(id: string, endpoint: string, overrides: Partial<Registration> = {}): Registration {
  return {
    id,
    endpoint,
    lifetime: 60,
    version: '1.1',
    binding: 'U',
    queueMode: false,
    rootPath: '/',
    objectLinks: '</3/0>',
    supportedFormats: [112],
    transport: 'coap',
    address: '127.0.0.1',
    port: 5000,
    registeredAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_000,
    expiresAt: 1_700_000_060_000,
    ...overrides,
  };
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe.each([
  ['memory', () => createMemoryRegistrationStore()],
  ['redis', () => createRedisRegistrationStore({ redis, prefix: freshPrefix() })],
])('%s registration store', (_name, make: () => RegistrationStore) => {
  test('add, get by id / endpoint / address, replace, update, remove', async () => {
    const store = make();
    const a = registration('a1', 'dev', {
      identity: { kind: 'rpk', publicKey: new Uint8Array([1, 2, 3]) },
      attributes: { x: 'y' },
    });
    expect(await store.add(a)).toBeUndefined();
    expect(await store.get('a1')).toEqual(a);
    expect(await store.getByEndpoint('dev')).toEqual(a);
    expect(await store.getByAddress('coap', '127.0.0.1', 5000)).toEqual(a);

    const b = registration('b1', 'dev', { port: 5001 });
    expect(await store.add(b)).toEqual(a);
    expect(await store.get('a1')).toBeUndefined();
    expect(await store.getByAddress('coap', '127.0.0.1', 5000)).toBeUndefined();
    expect(await store.getByEndpoint('dev')).toEqual(b);

    const updated = await store.update('b1', {
      lifetime: 120,
      address: '127.0.0.2',
      port: 6000,
      transport: 'coap',
      updatedAt: 2,
      expiresAt: 3,
    });
    expect(updated?.previous).toEqual(b);
    expect(updated?.current).toEqual({
      ...b,
      lifetime: 120,
      address: '127.0.0.2',
      port: 6000,
      updatedAt: 2,
      expiresAt: 3,
    });
    expect(await store.get('b1')).toEqual(updated?.current);
    expect(await store.getByAddress('coap', '127.0.0.1', 5001)).toBeUndefined();
    expect((await store.getByAddress('coap', '127.0.0.2', 6000))?.id).toBe('b1');
    expect(
      await store.update('nope', { address: 'x', port: 1, transport: 'coap', updatedAt: 1, expiresAt: 1 }),
    ).toBeUndefined();

    expect(await store.remove('b1', { expiredAt: 2 })).toBeUndefined();
    expect(await store.remove('b1', { expiredAt: 3 })).toEqual(updated?.current);
    expect(await store.getByEndpoint('dev')).toBeUndefined();
    expect(await store.remove('b1')).toBeUndefined();
  });

  test('all() lists every registration', async () => {
    const store = make();
    for (let i = 0; i < 30; i++) await store.add(registration(`id${i}`, `ep${i}`, { port: 7000 + i }));
    const all = await collect(store.all());
    expect(all.map((r) => r.id).sort()).toEqual(Array.from({ length: 30 }, (_, i) => `id${i}`).sort());
  });
});

describe.each([
  ['memory', () => createMemoryObservationStore()],
  ['redis', () => createRedisObservationStore({ redis, prefix: freshPrefix() })],
])('%s observation store', (_name, make: () => ObservationStore) => {
  test('add, get, by registration, remove, remove by registration', async () => {
    const store = make();
    const o1 = {
      token: '0102',
      registrationId: 'r1',
      endpoint: 'e',
      paths: ['/3/0/9'],
      composite: false,
      format: 0,
      createdAt: 1,
    };
    const o2 = {
      token: '0304',
      registrationId: 'r1',
      endpoint: 'e',
      paths: ['/3/0/9', '/3/0/0'],
      composite: true,
      createdAt: 2,
    };
    const o3 = {
      token: '0506',
      registrationId: 'r2',
      endpoint: 'f',
      paths: ['/3/0'],
      composite: false,
      createdAt: 3,
    };
    for (const o of [o1, o2, o3]) await store.add(o);
    expect(await store.get('0102')).toEqual(o1);
    expect((await store.byRegistration('r1')).map((o) => o.token).sort()).toEqual(['0102', '0304']);
    expect((await collect(store.all())).length).toBe(3);
    expect(await store.remove('0506')).toEqual(o3);
    expect(await store.remove('0506')).toBeUndefined();
    expect((await store.removeByRegistration('r1')).map((o) => o.token).sort()).toEqual(['0102', '0304']);
    expect(await store.get('0102')).toBeUndefined();
    expect(await collect(store.all())).toEqual([]);
  });
});

describe.each([
  ['memory', () => createMemorySecurityStore()],
  ['redis', () => createRedisSecurityStore({ redis, prefix: freshPrefix() })],
])('%s security store', (_name, make: () => SecurityStore) => {
  test('put, lookups, identity conflicts, replace, remove', async () => {
    const store = make();
    const key = new Uint8Array([9, 8, 7]);
    await store.put({ endpoint: 'a', mode: 'psk', identity: 'id-a', key });
    expect(await store.getByEndpoint('a')).toEqual({ endpoint: 'a', mode: 'psk', identity: 'id-a', key });
    expect((await store.getByPskIdentity('id-a'))?.endpoint).toBe('a');
    await expect(store.put({ endpoint: 'b', mode: 'psk', identity: 'id-a', key })).rejects.toMatchObject({
      code: 'ERR_CONFLICT',
    });
    await store.put({ endpoint: 'a', mode: 'psk', identity: 'id-a2', key });
    expect(await store.getByPskIdentity('id-a')).toBeUndefined();
    await store.put({ endpoint: 'b', mode: 'psk', identity: 'id-a', key });
    await store.put({ endpoint: 'c', mode: 'x509', commonName: 'c.example' });
    expect(await store.getByEndpoint('c')).toEqual({ endpoint: 'c', mode: 'x509', commonName: 'c.example' });
    expect(await store.remove('a')).toBe(true);
    expect(await store.remove('a')).toBe(false);
    expect(await store.getByPskIdentity('id-a2')).toBeUndefined();
  });
});

describe('two processes sharing one Redis', () => {
  test('concurrent registrations, updates and removals of one endpoint leave consistent data', async () => {
    const prefix = freshPrefix();
    const other = new Redis({ host: '127.0.0.1', port: 6379 });
    try {
      const one = createRedisRegistrationStore({ redis, prefix });
      const two = createRedisRegistrationStore({ redis: other, prefix });
      const operations: Promise<unknown>[] = [];
      for (let i = 0; i < 200; i++) {
        const store = i % 2 === 0 ? one : two;
        operations.push(store.add(registration(`r${i}`, 'shared', { port: 8000 + i })));
        operations.push(
          store.update(`r${i - 1}`, {
            lifetime: i,
            address: '10.0.0.1',
            port: 9000 + i,
            transport: 'coap',
            updatedAt: i,
            expiresAt: i,
          }),
        );
        if (i % 7 === 0) operations.push(store.remove(`r${i - 3}`));
      }
      await Promise.all(operations);
      const current = await one.getByEndpoint('shared');
      const all = await collect(one.all());
      // At most one registration of the endpoint survives, and every index points at it.
      expect(all.length).toBeLessThanOrEqual(1);
      if (current !== undefined) {
        expect(all).toEqual([current]);
        expect(await two.getByAddress(current.transport, current.address, current.port)).toEqual(current);
      } else {
        expect(all).toEqual([]);
      }
      const keys = (await redis.keys(`${prefix}*`)).map((k) => k.slice(prefix.length)).sort();
      const expected =
        current === undefined
          ? []
          : [
              `reg:${current.id}`,
              'reg:ep:shared',
              `reg:addr:coap|${current.address}|${current.port}`,
              'regs',
            ].sort();
      expect(keys).toEqual(expected);
    } finally {
      await other.quit();
    }
  });
});
