import { once } from 'node:events';
import { createPublicKey, X509Certificate } from 'node:crypto';
import type { PeerIdentity } from '@lwm2m/core';
import { connectDtls, createDtlsServer } from '@lwm2m/transport-dtls';
import type { DtlsServerOptions } from '@lwm2m/transport-dtls';
import { createTestPki } from '@lwm2m/transport-dtls/testing';
import type { Issued, TestPki } from '@lwm2m/transport-dtls/testing';
import { createClient, dtlsCredentials } from '../src/index.js';
import type { ClientTransport, Lwm2mClient, ServerAccount } from '../src/index.js';
import { FakeServer } from './fake-server.js';

const HOST = '127.0.0.1';

const transport: ClientTransport = {
  async connect(target, signal) {
    if (!target.secure || target.security === undefined) throw new Error('expected coaps with credentials');
    return connectDtls({
      peer: { address: target.host, port: target.port },
      ...dtlsCredentials(target.security),
      localAddress: HOST,
      signal,
      timeout: 5_000,
    });
  },
};

function spkiOf(pem: Buffer): Buffer {
  return createPublicKey(pem).export({ type: 'spki', format: 'der' });
}

interface Outcome {
  readonly registered: boolean;
  readonly identities: PeerIdentity[];
  readonly error?: Error;
}

/**
 * One server with the given ECDSA options and one client with the given account: whether the
 * client registers, and the identities the server saw. One attempt only, so a refusal shows fast.
 */
async function attempt(
  ecdsa: DtlsServerOptions['ecdsa'],
  account: (uri: string) => ServerAccount,
): Promise<Outcome> {
  const dtls = createDtlsServer({ port: 0, address: HOST, ...(ecdsa === undefined ? {} : { ecdsa }) });
  await dtls.listen();
  const identities: PeerIdentity[] = [];
  dtls.on('message', (message) => {
    if (message.identity !== undefined) identities.push(message.identity);
  });
  const server = new FakeServer(dtls);
  let client: Lwm2mClient | undefined;
  try {
    client = createClient({
      endpoint: 'ecdsa-test',
      transport,
      servers: [account(`coaps://${HOST}:${dtls.address().port}`)],
      retry: { attempts: 1, initialDelay: 10, sequenceDelay: 3_600_000 },
    });
    const registered = once(client, 'registered').then(() => undefined);
    const failed = once(client, 'registration-failed').then(([info]) => (info as { error: Error }).error);
    await client.start();
    const error = await Promise.race([registered, failed]);
    return { registered: error === undefined, identities, ...(error === undefined ? {} : { error }) };
  } finally {
    await client?.close();
    await server.close();
  }
}

describe('client over DTLS with ECDHE-ECDSA, credentials from the Security object', () => {
  let pki: TestPki;
  let ca: Issued;
  let serverCert: Issued;
  let otherServerCert: Issued;
  let device: Issued;
  let deviceRpk: { key: Buffer };
  let serverRpk: { key: Buffer };

  beforeAll(() => {
    pki = createTestPki();
    ca = pki.ca('lwm2m-test-ca');
    serverCert = pki.issue('lwm2m-server', ca, { san: `IP:${HOST}` });
    otherServerCert = pki.issue('other-server', ca, { san: `IP:${HOST}` });
    device = pki.issue('ecdsa-test', ca);
    deviceRpk = pki.key('device-rpk');
    serverRpk = pki.key('server-rpk');
  });

  afterAll(() => pki.remove());

  const certificateServer = (issued: Issued = serverCert): DtlsServerOptions['ecdsa'] => ({
    key: issued.key,
    certificate: issued.cert,
    rawPublicKey: false,
    clientAuth: { trustAnchors: ca.cert },
  });

  it('registers with a raw public key (SEC1 PEM as openssl writes it) and pins the server key', async () => {
    const deviceSpki = spkiOf(deviceRpk.key);
    const outcome = await attempt(
      { key: serverRpk.key, clientAuth: { verifyRawPublicKey: (spki) => deviceSpki.equals(spki) } },
      (uri) => ({
        uri,
        ssid: 1,
        rpk: { privateKey: deviceRpk.key.toString(), serverPublicKey: spkiOf(serverRpk.key) },
      }),
    );
    expect(outcome.error).toBeUndefined();
    expect(outcome.identities[0]).toEqual({ kind: 'rpk', publicKey: new Uint8Array(deviceSpki) });
  });

  it('refuses a server whose raw public key is not the one in resource 4', async () => {
    const outcome = await attempt(
      { key: pki.key('impostor').key, clientAuth: { verifyRawPublicKey: () => true } },
      (uri) => ({
        uri,
        ssid: 1,
        rpk: { privateKey: deviceRpk.key.toString(), serverPublicKey: spkiOf(serverRpk.key) },
      }),
    );
    expect(outcome.registered).toBe(false);
    expect(outcome.error?.message).toMatch('raw public key is not trusted');
    expect(outcome.identities).toEqual([]);
  });

  it('registers with a certificate; resource 4 is the CA (usage 2, trust anchor) and the server name is checked', async () => {
    const outcome = await attempt(certificateServer(), (uri) => ({
      uri,
      ssid: 1,
      x509: {
        certificate: device.cert.toString(),
        privateKey: device.key.toString(),
        serverCertificate: ca.cert.toString(),
        certificateUsage: 2,
      },
    }));
    expect(outcome.error).toBeUndefined();
    expect(outcome.identities[0]).toMatchObject({ kind: 'x509', commonName: 'ecdsa-test' });
  });

  it('refuses the server when the SNI (resource 14) names another host than its certificate', async () => {
    const outcome = await attempt(certificateServer(), (uri) => ({
      uri,
      ssid: 1,
      x509: {
        certificate: device.cert.toString(),
        privateKey: device.key.toString(),
        serverCertificate: ca.cert.toString(),
        certificateUsage: 2,
        serverNameIndication: 'lwm2m.example.com',
      },
    }));
    expect(outcome.registered).toBe(false);
    expect(outcome.error?.message).toMatch('does not name lwm2m.example.com');
  });

  it('pins the server certificate itself with usage 3 (domain-issued, the default), DER bytes given', async () => {
    const pinned = new Uint8Array(new X509Certificate(serverCert.cert).raw);
    const ok = await attempt(certificateServer(), (uri) => ({
      uri,
      ssid: 1,
      x509: {
        certificate: device.cert.toString(),
        privateKey: device.key.toString(),
        serverCertificate: pinned,
      },
    }));
    expect(ok.error).toBeUndefined();
    // Another server certificate from the same CA is not the pinned one.
    const refused = await attempt(certificateServer(otherServerCert), (uri) => ({
      uri,
      ssid: 1,
      x509: {
        certificate: device.cert.toString(),
        privateKey: device.key.toString(),
        serverCertificate: pinned,
      },
    }));
    expect(refused.registered).toBe(false);
    expect(refused.error?.message).toMatch('does not chain to a trust anchor');
  });
});
