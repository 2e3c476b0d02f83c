import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { createMemorySecurityStore, identityMatches } from '@lwm2m/core';
import type { PeerIdentity } from '@lwm2m/core';
import { CoapCode } from '@lwm2m/transport-coap';
import { connectDtls, createDtlsServer } from '@lwm2m/transport-dtls';
import type { DtlsClientConnection, DtlsServer, EcdsaClientOptions } from '@lwm2m/transport-dtls';
import { createTestPki } from '@lwm2m/transport-dtls/testing';
import type { Issued, TestPki } from '@lwm2m/transport-dtls/testing';
import { createBootstrapServer, createMemoryBootstrapConfigStore } from '../src/index.js';
import type { BootstrapConfig, BootstrapFinishEvent, BootstrapServer } from '../src/index.js';
import { nextFinish } from './next-finish.js';
import { FakeBootstrapClient } from './fake-client.js';

function spkiDer(keyPem: Buffer): Uint8Array {
  return new Uint8Array(createPublicKey(keyPem).export({ type: 'spki', format: 'der' }));
}

function pkcs8Der(keyPem: Buffer): Uint8Array {
  return new Uint8Array(createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'der' }));
}

function certDer(certPem: Buffer): Uint8Array {
  return new Uint8Array(new X509Certificate(certPem).raw);
}

/** Any P-256 key passes the handshake; the bootstrap request is then checked against the account. */
function isP256(publicKey: Uint8Array): boolean {
  try {
    const key = createPublicKey({ key: Buffer.from(publicKey), format: 'der', type: 'spki' });
    return key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
  } catch {
    return false;
  }
}

function opaque(client: FakeBootstrapClient, instanceId: number, resourceId: number): Uint8Array | undefined {
  const resource = client.instance(0, instanceId)?.resources.get(resourceId);
  return resource?.kind === 'resource' && resource.value instanceof Uint8Array ? resource.value : undefined;
}

/**
 * Bootstrap over DTLS ECDHE-ECDSA: bootstrap accounts in x509 and rpk mode, checked against the
 * identity the handshake proved, and LwM2M server accounts in the same modes provisioned into the
 * security store a server shares.
 */
describe('bootstrap over DTLS (X.509 and RPK)', () => {
  let pki: TestPki;
  let serverCa: Issued;
  let bsCert: Issued;
  let dmCert: Issued;
  let deviceCa: Issued;
  /** Bootstrap credentials (CN = endpoint) and the LwM2M server credentials the config hands out. */
  let x509Bs: Issued;
  let x509Dm: Issued;
  let otherBs: Issued;
  let rpkBs: { keyFile: string; key: Buffer };
  let rpkDm: { keyFile: string; key: Buffer };
  let strangerKey: { keyFile: string; key: Buffer };
  let dtls: DtlsServer;
  let server: BootstrapServer;
  const securityStore = createMemorySecurityStore();
  const connections: DtlsClientConnection[] = [];
  const clients: FakeBootstrapClient[] = [];

  beforeAll(async () => {
    pki = createTestPki();
    serverCa = pki.ca('server-ca');
    bsCert = pki.issue('bootstrap.local', serverCa, { san: 'DNS:bootstrap.local,IP:127.0.0.1' });
    dmCert = pki.issue('lwm2m.local', serverCa, { san: 'DNS:lwm2m.local,IP:127.0.0.1' });
    deviceCa = pki.ca('device-ca');
    x509Bs = pki.issue('dev-x509', deviceCa);
    // The LwM2M server account names its own CN: the store must carry it, not the endpoint name.
    x509Dm = pki.issue('dm-x509', deviceCa);
    otherBs = pki.issue('dev-other', deviceCa);
    rpkBs = pki.key('rpk-bs');
    rpkDm = pki.key('rpk-dm');
    strangerKey = pki.key('stranger');

    const configs: Record<string, BootstrapConfig> = {
      'dev-x509': {
        security: [
          {
            uri: 'coaps://127.0.0.1:5784',
            bootstrap: true,
            mode: 'x509',
            certificate: certDer(x509Bs.cert),
            privateKey: pkcs8Der(x509Bs.key),
            serverCertificate: certDer(serverCa.cert),
          },
          {
            uri: 'coaps://127.0.0.1:5684',
            ssid: 1,
            mode: 'x509',
            certificate: certDer(x509Dm.cert),
            privateKey: pkcs8Der(x509Dm.key),
            serverCertificate: certDer(serverCa.cert),
            commonName: 'dm-x509',
          },
        ],
        servers: [{ ssid: 1, lifetime: 120 }],
      },
      'dev-other': {
        security: [
          {
            uri: 'coaps://127.0.0.1:5784',
            bootstrap: true,
            mode: 'x509',
            certificate: certDer(otherBs.cert),
            privateKey: pkcs8Der(otherBs.key),
            serverCertificate: certDer(serverCa.cert),
          },
        ],
        servers: [],
      },
      'dev-rpk': {
        security: [
          {
            uri: 'coaps://127.0.0.1:5784',
            bootstrap: true,
            mode: 'rpk',
            publicKey: spkiDer(rpkBs.key),
            privateKey: pkcs8Der(rpkBs.key),
            serverPublicKey: spkiDer(bsCert.key),
          },
          {
            uri: 'coaps://127.0.0.1:5684',
            ssid: 1,
            mode: 'rpk',
            publicKey: spkiDer(rpkDm.key),
            privateKey: pkcs8Der(rpkDm.key),
            serverPublicKey: spkiDer(dmCert.key),
          },
        ],
        servers: [{ ssid: 1, lifetime: 120 }],
      },
    };
    const configStore = createMemoryBootstrapConfigStore(configs);
    dtls = createDtlsServer({
      port: 0,
      address: '127.0.0.1',
      ecdsa: {
        key: bsCert.keyFile,
        certificate: bsCert.certFile,
        clientAuth: { trustAnchors: deviceCa.certFile, verifyRawPublicKey: isP256 },
      },
    });
    await dtls.listen();
    server = createBootstrapServer({ sockets: [dtls], configStore, securityStore });
    await server.listen();
  });

  afterAll(async () => {
    for (const client of clients) await client.close();
    await server.close();
    pki.remove();
  });

  async function connect(endpoint: string, ecdsa: EcdsaClientOptions): Promise<FakeBootstrapClient> {
    const connection = await connectDtls({
      peer: dtls.address(),
      ecdsa: { trustAnchors: serverCa.certFile, hostname: '127.0.0.1', ...ecdsa },
      localAddress: '127.0.0.1',
      timeout: 10_000,
    });
    connections.push(connection);
    const client = new FakeBootstrapClient({ socket: connection, endpoint, version: '1.1' });
    clients.push(client);
    return client;
  }

  /**
   * What a DTLS server proves about a device that connects with the credentials it was given: the
   * identity the LwM2M server checks against the security store.
   */
  async function identityAtServer(ecdsa: EcdsaClientOptions): Promise<PeerIdentity | undefined> {
    const lwm2m = createDtlsServer({
      port: 0,
      address: '127.0.0.1',
      ecdsa: {
        key: dmCert.keyFile,
        certificate: dmCert.certFile,
        clientAuth: { trustAnchors: deviceCa.certFile, verifyRawPublicKey: isP256 },
      },
    });
    await lwm2m.listen();
    try {
      const received = new Promise<PeerIdentity | undefined>((resolve) =>
        lwm2m.on('message', (message: { identity?: PeerIdentity }) => resolve(message.identity)),
      );
      const connection = await connectDtls({
        peer: lwm2m.address(),
        ecdsa: { trustAnchors: serverCa.certFile, hostname: 'lwm2m.local', ...ecdsa },
        localAddress: '127.0.0.1',
        timeout: 10_000,
      });
      try {
        await connection.send(new Uint8Array([0x40, 0x01, 0x00, 0x01]), lwm2m.address());
        return await received;
      } finally {
        await connection.close();
      }
    } finally {
      await lwm2m.close();
    }
  }

  it('provisions an X.509 client whose certificate is its bootstrap account', async () => {
    const client = await connect('dev-x509', { key: x509Bs.keyFile, certificate: x509Bs.certFile });
    const finish = nextFinish(server);
    expect((await client.requestBootstrap(dtls.address())).code).toBe(CoapCode.CHANGED);
    const [event] = (await finish) as [BootstrapFinishEvent];
    expect(event.identity).toMatchObject({ kind: 'x509', commonName: 'dev-x509' });
    expect(client.operations()).toEqual([
      'GET /',
      'DELETE /0',
      'DELETE /1',
      'PUT /0/0',
      'PUT /0/1',
      'PUT /1/0',
      'POST /bs',
    ]);
    expect(await securityStore.getByEndpoint('dev-x509')).toEqual({
      endpoint: 'dev-x509',
      mode: 'x509',
      commonName: 'dm-x509',
    });

    // The device connects to the LwM2M server with the certificate and key it was written; the
    // stored info accepts what that handshake proves.
    const certificate = opaque(client, 1, 3);
    const key = opaque(client, 1, 5);
    expect(certificate && Buffer.from(certificate)).toEqual(Buffer.from(certDer(x509Dm.cert)));
    const identity = await identityAtServer({
      key: key as Uint8Array,
      certificate: certificate as Uint8Array,
    });
    const stored = await securityStore.getByEndpoint('dev-x509');
    expect(stored !== undefined && identityMatches(stored, identity)).toBe(true);
    // ...and not what the bootstrap credentials prove.
    const bootstrapIdentity = await identityAtServer({ key: x509Bs.keyFile, certificate: x509Bs.certFile });
    expect(stored !== undefined && identityMatches(stored, bootstrapIdentity)).toBe(false);
  });

  it('refuses with 4.03 a certificate of another endpoint', async () => {
    const client = await connect('dev-x509', { key: otherBs.keyFile, certificate: otherBs.certFile });
    expect((await client.requestBootstrap(dtls.address())).code).toBe(CoapCode.FORBIDDEN);
    expect(client.requests).toEqual([]);
  });

  it('refuses with 4.03 a raw public key for an X.509 account', async () => {
    const client = await connect('dev-x509', { key: rpkBs.keyFile });
    expect((await client.requestBootstrap(dtls.address())).code).toBe(CoapCode.FORBIDDEN);
    expect(client.requests).toEqual([]);
  });

  it('provisions an RPK client whose key is its bootstrap account', async () => {
    const client = await connect('dev-rpk', { key: rpkBs.keyFile });
    const finish = nextFinish(server);
    expect((await client.requestBootstrap(dtls.address())).code).toBe(CoapCode.CHANGED);
    const [event] = (await finish) as [BootstrapFinishEvent];
    expect(event.identity?.kind).toBe('rpk');
    const stored = await securityStore.getByEndpoint('dev-rpk');
    expect(stored?.mode).toBe('rpk');
    expect(stored?.mode === 'rpk' && Buffer.from(stored.publicKey)).toEqual(Buffer.from(spkiDer(rpkDm.key)));

    const key = opaque(client, 1, 5);
    expect(key && Buffer.from(key)).toEqual(Buffer.from(pkcs8Der(rpkDm.key)));
    const identity = await identityAtServer({ key: key as Uint8Array });
    expect(stored !== undefined && identityMatches(stored, identity)).toBe(true);
    const strangerIdentity = await identityAtServer({ key: strangerKey.keyFile });
    expect(stored !== undefined && identityMatches(stored, strangerIdentity)).toBe(false);
  });

  it('refuses with 4.03 another raw public key, and a certificate, for an RPK account', async () => {
    const stranger = await connect('dev-rpk', { key: strangerKey.keyFile });
    expect((await stranger.requestBootstrap(dtls.address())).code).toBe(CoapCode.FORBIDDEN);
    expect(stranger.requests).toEqual([]);
    const x509 = await connect('dev-rpk', { key: x509Bs.keyFile, certificate: x509Bs.certFile });
    expect((await x509.requestBootstrap(dtls.address())).code).toBe(CoapCode.FORBIDDEN);
    expect(x509.requests).toEqual([]);
  });
});
