import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createJsonFileBootstrapConfigStore } from './json-file-config-store.js';
import type { JsonFileBootstrapConfigStore } from './json-file-config-store.js';

function file(lifetime: number, identity = 'bs-1'): string {
  return JSON.stringify({
    endpoints: {
      'dev-*': {
        security: [
          { uri: 'coaps://bs', bootstrap: true, mode: 'psk', identity, key: '0102' },
          { instanceId: 1, uri: 'coap://dm', ssid: 1, mode: 'nosec' },
        ],
        servers: [{ ssid: 1, lifetime }],
      },
    },
  });
}

describe('JSON-file bootstrap config store', () => {
  let dir: string;
  let path: string;
  const stores: JsonFileBootstrapConfigStore[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lwm2m-bs-'));
    path = join(dir, 'configs.json');
  });

  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function open(options: { watch?: boolean } = {}): Promise<JsonFileBootstrapConfigStore> {
    const store = await createJsonFileBootstrapConfigStore({ path, watchDelay: 20, ...options });
    stores.push(store);
    return store;
  }

  it('reads the file, and on reload keeps the old configs when the new file is bad', async () => {
    await writeFile(path, file(60));
    const store = await open();
    expect((await store.get('dev-1'))?.servers[0]?.lifetime).toBe(60);
    expect(await store.getBootstrapPsk('bs-1')).toEqual(Uint8Array.of(1, 2));
    await writeFile(path, file(0));
    await expect(store.reload()).rejects.toThrow(/lifetime must be whole seconds above 0/);
    expect((await store.get('dev-1'))?.servers[0]?.lifetime).toBe(60);
    await writeFile(path, '{ nope');
    await expect(store.reload()).rejects.toMatchObject({ code: 'ERR_BOOTSTRAP_CONFIG' });
    await writeFile(path, file(90));
    await store.reload();
    expect((await store.get('dev-1'))?.servers[0]?.lifetime).toBe(90);
  });

  it('starts empty without a file, and put/remove rewrite the file', async () => {
    const store = await open();
    expect(await store.entries()).toEqual([]);
    const config = (await (async () => {
      await writeFile(path, file(30));
      await store.reload();
      return store.get('dev-1');
    })())!;
    await store.put('dev-9', {
      ...config,
      security: [{ instanceId: 1, uri: 'coap://dm', ssid: 1, mode: 'nosec' }],
    });
    const written = JSON.parse(await readFile(path, 'utf8')) as { endpoints: Record<string, unknown> };
    expect(Object.keys(written.endpoints)).toEqual(['dev-*', 'dev-9']);
    expect(await store.remove('dev-*')).toBe(true);
    expect(await store.remove('dev-*')).toBe(false);
    const again = await createJsonFileBootstrapConfigStore({ path });
    expect((await again.entries()).map(([key]) => key)).toEqual(['dev-9']);
  });

  it('picks up edits with watch', async () => {
    await writeFile(path, file(60));
    const store = await open({ watch: true });
    await writeFile(path, file(61, 'bs-2'));
    for (let i = 0; i < 200 && (await store.get('dev-1'))?.servers[0]?.lifetime !== 61; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect((await store.get('dev-1'))?.servers[0]?.lifetime).toBe(61);
    expect(await store.getBootstrapPsk('bs-2')).toEqual(Uint8Array.of(1, 2));
  });
});
