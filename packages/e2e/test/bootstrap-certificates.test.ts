/**
 * Bootstrap and registration with certificates and raw public keys, our three parts on loopback:
 * the client knows only its bootstrap account (X.509); the bootstrap server checks that
 * certificate against the endpoint's config, provisions an X.509 or RPK account for our LwM2M
 * server and puts the matching security info into the store the server shares; the client
 * registers over ECDHE-ECDSA and the server checks the identity it proved.
 */
import { createPublicKey, createPrivateKey, X509Certificate } from 'node:crypto';
import { createMemoryBootstrapConfigStore } from '@lwm2m/bootstrap';
import type {
  BootstrapConfigStore,
  BootstrapFinishEvent,
  BootstrapRefusedEvent,
  BootstrapServer,
  SecurityInstanceConfig,
} from '@lwm2m/bootstrap';
import { createClient } from '@lwm2m/client';
import type { Lwm2mClient } from '@lwm2m/client';
import { createDtlsServer } from '@lwm2m/transport-dtls';
import type { DtlsServer } from '@lwm2m/transport-dtls';
import { createTestPki } from '@lwm2m/transport-dtls/testing';
import type { Issued, TestPki } from '@lwm2m/transport-dtls/testing';
import type { Registration } from '@lwm2m/server';
import {
  FAST_COAP,
  HOST,
  NO_RETRY,
  loopbackTransport,
  startBootstrap,
  startServer,
  valueOf,
  waitFor,
} from './loopback.js';
import type { TestServer } from './loopback.js';

const der = (pem: Buffer): Uint8Array => new Uint8Array(new X509Certificate(pem).raw);
const pkcs8 = (pem: Buffer): Uint8Array =>
  new Uint8Array(createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' }));
const spki = (pem: Buffer): Uint8Array =>
  new Uint8Array(createPublicKey(pem).export({ type: 'spki', format: 'der' }));

describe('bootstrap over DTLS with certificates, then registration with a certificate or a raw public key', () => {
  let pki: TestPki;
  let ca: Issued;
  let serverCert: Issued;
  let bootstrapCert: Issued;
  let t: TestServer;
  let dtls: DtlsServer;
  let bootstrap: BootstrapServer;
  let configStore: BootstrapConfigStore;
  let bsUri: string;
  const clients: Lwm2mClient[] = [];

  beforeAll(async () => {
    pki = createTestPki();
    ca = pki.ca('e2e-device-ca');
    serverCert = pki.issue('lwm2m-server', ca, { san: `IP:${HOST}` });
    bootstrapCert = pki.issue('lwm2m-bootstrap', ca, { san: `IP:${HOST}` });
    // Device certificates from the CA; raw keys accepted at the handshake and checked at registration, as Leshan does.
    t = await startServer({
      dtls: true,
      ecdsa: {
        key: serverCert.key,
        certificate: serverCert.cert,
        clientAuth: { trustAnchors: ca.cert, verifyRawPublicKey: () => true },
      },
    });
    configStore = createMemoryBootstrapConfigStore();
    dtls = createDtlsServer({
      address: HOST,
      port: 0,
      ecdsa: {
        key: bootstrapCert.key,
        certificate: bootstrapCert.cert,
        rawPublicKey: false,
        clientAuth: { trustAnchors: ca.cert },
      },
    });
    await dtls.listen();
    bootstrap = await startBootstrap(dtls, configStore, t.security);
    bsUri = `coaps://${HOST}:${dtls.address().port}`;
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close();
  });

  afterAll(async () => {
    await bootstrap?.close();
    await dtls?.close();
    await t?.close();
    pki?.remove();
  });

  /** The endpoint's bootstrap account: its own certificate, the bootstrap server's pinned. */
  function bootstrapAccount(device: Issued): SecurityInstanceConfig {
    return {
      uri: bsUri,
      bootstrap: true,
      mode: 'x509',
      certificate: der(device.cert),
      privateKey: pkcs8(device.key),
      serverCertificate: der(bootstrapCert.cert),
    };
  }

  function device(endpoint: string, certificate: Issued): Lwm2mClient {
    const client = createClient({
      endpoint,
      transport: loopbackTransport(),
      bootstrap: {
        uri: bsUri,
        x509: {
          certificate: certificate.cert.toString(),
          privateKey: certificate.key.toString(),
          serverCertificate: bootstrapCert.cert.toString(),
        },
      },
      device: { manufacturer: 'Cert Co' },
      transmission: FAST_COAP,
      requestTimeout: 2_000,
      bootstrapTimeout: 10_000,
      retry: { ...NO_RETRY, initialDelay: 60_000 },
    });
    clients.push(client);
    return client;
  }

  test('X.509 all the way: bootstrap checks the certificate, provisions an X.509 account, the server sees the certificate CN', async () => {
    const endpoint = 'e2e-x509-device';
    const cert = pki.issue(endpoint, ca);
    await configStore.put(endpoint, {
      security: [
        bootstrapAccount(cert),
        {
          uri: t.coapsUri,
          ssid: 1,
          mode: 'x509',
          certificate: der(cert.cert),
          privateKey: pkcs8(cert.key),
          // Resource 4 is the CA with usage 2 (trust anchor): the client checks the chain and the server name.
          serverCertificate: der(ca.cert),
          certificateUsage: 2,
        },
      ],
      servers: [{ ssid: 1, lifetime: 60 }],
    });
    const finished = waitFor<[BootstrapFinishEvent]>(
      bootstrap,
      'bootstrap-finish',
      (e) => e.endpoint === endpoint,
      10_000,
    );
    const registered = waitFor<[Registration]>(
      t.server,
      'registered',
      (r) => r.endpoint === endpoint,
      15_000,
    );
    const client = device(endpoint, cert);
    await client.start();

    const [finish] = await finished;
    expect(finish.identity).toMatchObject({ kind: 'x509', commonName: endpoint });
    expect(await t.security.getByEndpoint(endpoint)).toEqual({ endpoint, mode: 'x509' });
    const [registration] = await registered;
    expect(registration).toMatchObject({
      transport: 'coaps',
      identity: { kind: 'x509', commonName: endpoint },
    });
    expect(valueOf(await t.server.read(endpoint, '/3/0/0'))).toBe('Cert Co');
    // The account the client runs on carries the usage the config gave.
    const security = await client.read('/0');
    const ids = security.kind === 'object' ? [...security.instances.keys()] : [];
    const usages = await Promise.all(ids.map(async (id) => client.instance(0, id)?.read(15)));
    expect(usages).toContain(2);
  }, 25_000);

  test('bootstrap provisions a raw public key account; the server accepts that key and no other', async () => {
    const endpoint = 'e2e-rpk-device';
    const cert = pki.issue(endpoint, ca);
    const deviceKey = pki.key(`${endpoint}-rpk`).key;
    await configStore.put(endpoint, {
      security: [
        bootstrapAccount(cert),
        {
          uri: t.coapsUri,
          ssid: 1,
          mode: 'rpk',
          publicKey: spki(deviceKey),
          privateKey: pkcs8(deviceKey),
          serverPublicKey: spki(serverCert.key),
        },
      ],
      servers: [{ ssid: 1, lifetime: 60 }],
    });
    const registered = waitFor<[Registration]>(
      t.server,
      'registered',
      (r) => r.endpoint === endpoint,
      15_000,
    );
    await device(endpoint, cert).start();
    const [registration] = await registered;
    expect(registration).toMatchObject({
      transport: 'coaps',
      identity: { kind: 'rpk', publicKey: spki(deviceKey) },
    });

    // Another device that somehow holds this endpoint name but registers with its own raw key: 4.03.
    const other = pki.key('other-rpk').key;
    await t.security.put({ endpoint: 'e2e-rpk-owner', mode: 'rpk', publicKey: spki(deviceKey) });
    const impostor = createClient({
      endpoint: 'e2e-rpk-owner',
      transport: loopbackTransport(),
      servers: [
        {
          uri: t.coapsUri,
          ssid: 1,
          lifetime: 60,
          rpk: { privateKey: other.toString(), serverPublicKey: spki(serverCert.key) },
        },
      ],
      transmission: FAST_COAP,
      requestTimeout: 2_000,
      retry: NO_RETRY,
    });
    clients.push(impostor);
    const failed = waitFor<[{ error: Error }]>(impostor, 'registration-failed', () => true, 10_000);
    await impostor.start();
    const [failure] = await failed;
    expect(failure.error.message).toMatch(/4\.03/);
  }, 25_000);

  test('a certificate for another endpoint name is refused by the bootstrap server', async () => {
    const endpoint = 'e2e-x509-victim';
    const victim = pki.issue(endpoint, ca);
    const intruder = pki.issue('e2e-x509-intruder', ca);
    await configStore.put(endpoint, { security: [bootstrapAccount(victim)], servers: [] });
    const refused = waitFor<[BootstrapRefusedEvent]>(
      bootstrap,
      'bootstrap-refused',
      (e) => e.endpoint === endpoint,
      10_000,
    );
    const client = device(endpoint, intruder);
    const failed = waitFor(client, 'bootstrap-failed', () => true, 10_000);
    await client.start();
    const [refusal] = await refused;
    expect(refusal.reason).toBe('unauthorized');
    await failed;
  }, 25_000);
});
