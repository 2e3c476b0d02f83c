import { createMemorySecurityStore } from './memory-security-store.js';
import { identityMatches } from './security.js';
import type { SecurityInfo } from './security.js';

const psk = (endpoint: string, identity: string): SecurityInfo => ({
  endpoint,
  mode: 'psk',
  identity,
  key: new Uint8Array([1, 2]),
});

describe('memory security store', () => {
  it('finds info by endpoint and by PSK identity', async () => {
    const store = createMemorySecurityStore([psk('dev1', 'id1')]);
    expect((await store.getByEndpoint('dev1'))?.mode).toBe('psk');
    expect((await store.getByPskIdentity('id1'))?.endpoint).toBe('dev1');
    expect(await store.getByPskIdentity('nope')).toBeUndefined();
  });

  it('replaces an endpoint and frees its old identity', async () => {
    const store = createMemorySecurityStore([psk('dev1', 'id1')]);
    await store.put(psk('dev1', 'id2'));
    expect(await store.getByPskIdentity('id1')).toBeUndefined();
    expect((await store.getByPskIdentity('id2'))?.endpoint).toBe('dev1');
    await store.put(psk('dev2', 'id1'));
    expect((await store.getByPskIdentity('id1'))?.endpoint).toBe('dev2');
  });

  it('refuses one PSK identity for two endpoints', async () => {
    const store = createMemorySecurityStore([psk('dev1', 'id1')]);
    await expect(store.put(psk('dev2', 'id1'))).rejects.toMatchObject({ code: 'ERR_CONFLICT' });
    expect((await store.getByPskIdentity('id1'))?.endpoint).toBe('dev1');
  });

  it('removes', async () => {
    const store = createMemorySecurityStore([psk('dev1', 'id1')]);
    expect(await store.remove('dev1')).toBe(true);
    expect(await store.remove('dev1')).toBe(false);
    expect(await store.getByPskIdentity('id1')).toBeUndefined();
  });
});

describe('identityMatches', () => {
  it('compares what the DTLS peer proved with what is stored', () => {
    expect(identityMatches(psk('d', 'id1'), { kind: 'psk', identity: 'id1' })).toBe(true);
    expect(identityMatches(psk('d', 'id1'), { kind: 'psk', identity: 'id2' })).toBe(false);
    expect(identityMatches(psk('d', 'id1'), undefined)).toBe(false);
    const rpk: SecurityInfo = { endpoint: 'd', mode: 'rpk', publicKey: new Uint8Array([1, 2, 3]) };
    expect(identityMatches(rpk, { kind: 'rpk', publicKey: new Uint8Array([1, 2, 3]) })).toBe(true);
    expect(identityMatches(rpk, { kind: 'rpk', publicKey: new Uint8Array([1, 2, 4]) })).toBe(false);
    expect(identityMatches(rpk, { kind: 'psk', identity: 'd' })).toBe(false);
    const x509: SecurityInfo = { endpoint: 'dev-7', mode: 'x509' };
    expect(identityMatches(x509, { kind: 'x509', commonName: 'dev-7', certificate: new Uint8Array() })).toBe(
      true,
    );
    expect(identityMatches(x509, { kind: 'x509', commonName: 'dev-8', certificate: new Uint8Array() })).toBe(
      false,
    );
  });
});
