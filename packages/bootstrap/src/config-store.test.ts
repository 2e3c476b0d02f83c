import { isLwm2mError } from '@lwm2m/core';
import type { BootstrapConfig } from './config.js';
import { createMemoryBootstrapConfigStore } from './config-store.js';

function config(lifetime: number, bootstrapIdentity?: string): BootstrapConfig {
  return {
    security: [
      { instanceId: 0, uri: 'coap://a', ssid: 1, mode: 'nosec' },
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
  };
}

describe('memory bootstrap config store', () => {
  it('finds an endpoint own config first, then the most specific pattern', async () => {
    const store = createMemoryBootstrapConfigStore({
      '*': config(1),
      'dev-*': config(2),
      'dev-7': config(3),
    });
    expect((await store.get('dev-7'))?.servers[0]?.lifetime).toBe(3);
    expect((await store.get('dev-8'))?.servers[0]?.lifetime).toBe(2);
    expect((await store.get('other'))?.servers[0]?.lifetime).toBe(1);
    expect(await store.remove('*')).toBe(true);
    expect(await store.remove('*')).toBe(false);
    expect(await store.get('other')).toBeUndefined();
    expect((await store.entries()).map(([key]) => key)).toEqual(['dev-*', 'dev-7']);
  });

  it('indexes bootstrap PSK identities and refuses one identity for two keys', async () => {
    const store = createMemoryBootstrapConfigStore();
    await store.put('dev-1', config(10, 'bs-1'));
    expect(await store.getBootstrapPsk('bs-1')).toEqual(Uint8Array.of(10));
    await expect(store.put('dev-2', config(20, 'bs-1'))).rejects.toMatchObject({ code: 'ERR_CONFLICT' });
    await store.put('dev-1', config(11, 'bs-2'));
    expect(await store.getBootstrapPsk('bs-1')).toBeUndefined();
    expect(await store.getBootstrapPsk('bs-2')).toEqual(Uint8Array.of(11));
    await store.put('dev-2', config(20, 'bs-1'));
    expect(await store.getBootstrapPsk('bs-1')).toEqual(Uint8Array.of(20));
  });

  it('validates what is put and leaves the store unchanged on error', async () => {
    const store = createMemoryBootstrapConfigStore({ 'dev-1': config(10) });
    const error = await store
      .put('dev-1', { security: [], servers: [{ ssid: 1, lifetime: 10 }] })
      .catch((e: unknown) => e);
    expect(isLwm2mError(error) && error.code).toBe('ERR_BOOTSTRAP_CONFIG');
    expect((await store.get('dev-1'))?.servers[0]?.lifetime).toBe(10);
    await expect(store.put('', config(1))).rejects.toThrow(TypeError);
  });
});
