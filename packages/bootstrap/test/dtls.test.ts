import { createMemorySecurityStore } from '@lwm2m/core';
import { CoapCode } from '@lwm2m/transport-coap';
import { connectDtls, createDtlsServer } from '@lwm2m/transport-dtls';
import type { DtlsClientConnection, DtlsServer } from '@lwm2m/transport-dtls';
import { createBootstrapServer, createMemoryBootstrapConfigStore } from '../src/index.js';
import type { BootstrapConfig, BootstrapFinishEvent, BootstrapServer } from '../src/index.js';
import { nextFinish } from './next-finish.js';
import { FakeBootstrapClient } from './fake-client.js';

const BS_KEY = Uint8Array.from(Buffer.from('a0a1a2a3a4a5a6a7a8a9aaabacadaeaf', 'hex'));
const DM_KEY = Uint8Array.from(Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'));

function configFor(n: number): BootstrapConfig {
  return {
    security: [
      { uri: 'coaps://127.0.0.1:5784', bootstrap: true, mode: 'psk', identity: `bs-dev-${n}`, key: BS_KEY },
      { uri: 'coaps://127.0.0.1:5684', ssid: 1, mode: 'psk', identity: `dev-${n}`, key: DM_KEY },
    ],
    servers: [{ ssid: 1, lifetime: 120 }],
  };
}

/** Bootstrap over DTLS-PSK: the handshake finds the key in the config store, the request's identity is checked. */
describe('bootstrap over DTLS (PSK)', () => {
  let dtls: DtlsServer;
  let server: BootstrapServer;
  const securityStore = createMemorySecurityStore();
  const connections: DtlsClientConnection[] = [];
  const clients: FakeBootstrapClient[] = [];

  beforeAll(async () => {
    const configStore = createMemoryBootstrapConfigStore({ 'dev-1': configFor(1), 'dev-2': configFor(2) });
    dtls = createDtlsServer({
      port: 0,
      address: '127.0.0.1',
      psk: { lookup: (identity) => configStore.getBootstrapPsk(identity) },
    });
    await dtls.listen();
    server = createBootstrapServer({ sockets: [dtls], configStore, securityStore });
    await server.listen();
  });

  afterAll(async () => {
    for (const client of clients) await client.close();
    await server.close();
  });

  async function connect(endpoint: string, identity: string, key: Uint8Array): Promise<FakeBootstrapClient> {
    const connection = await connectDtls({
      peer: dtls.address(),
      psk: { identity, key },
      localAddress: '127.0.0.1',
      timeout: 10_000,
    });
    connections.push(connection);
    const client = new FakeBootstrapClient({ socket: connection, endpoint, version: '1.1' });
    clients.push(client);
    return client;
  }

  it('provisions a client whose DTLS identity is its bootstrap account', async () => {
    const client = await connect('dev-1', 'bs-dev-1', BS_KEY);
    const finish = nextFinish(server);
    expect((await client.requestBootstrap(dtls.address())).code).toBe(CoapCode.CHANGED);
    const [event] = (await finish) as [BootstrapFinishEvent];
    expect(event.identity).toEqual({ kind: 'psk', identity: 'bs-dev-1' });
    // Discover showed the bootstrap account at /0/0; the server account went next to it.
    expect(client.operations()).toEqual([
      'GET /',
      'DELETE /0',
      'DELETE /1',
      'PUT /0/0',
      'PUT /0/1',
      'PUT /1/0',
      'POST /bs',
    ]);
    const written = client.instance(0, 1)?.resources.get(5);
    expect(written?.kind === 'resource' && written.value).toEqual(DM_KEY);
    expect(await securityStore.getByEndpoint('dev-1')).toEqual({
      endpoint: 'dev-1',
      mode: 'psk',
      identity: 'dev-1',
      key: DM_KEY,
    });
  });

  it('refuses with 4.03 a valid DTLS identity that belongs to another endpoint', async () => {
    const client = await connect('dev-1', 'bs-dev-2', BS_KEY);
    expect((await client.requestBootstrap(dtls.address())).code).toBe(CoapCode.FORBIDDEN);
    expect(client.requests).toEqual([]);
  });

  it('fails the handshake of an identity no config knows', async () => {
    await expect(
      connectDtls({
        peer: dtls.address(),
        psk: { identity: 'nobody', key: BS_KEY },
        localAddress: '127.0.0.1',
        timeout: 5000,
      }),
    ).rejects.toMatchObject({ code: expect.stringMatching(/^ERR_/) });
  });
});
