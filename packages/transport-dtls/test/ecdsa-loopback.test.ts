import { X509Certificate } from 'node:crypto';
import {
  AlertDescription,
  CipherSuite,
  connectDtls,
  createDtlsServer,
  DtlsAlertError,
  DtlsHandshakeError,
  type DtlsServer,
  type EcdsaServerOptions,
} from '../src/index.js';
import { nextMessage } from './peers.js';
import { createTestPki, type Issued, type TestPki } from '../src/test-pki.js';

const ECDHE_SUITES = [
  ['CCM_8', CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, 'TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8'],
  [
    'CBC_SHA256',
    CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
    'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256',
  ],
] as const;

let pki: TestPki;
let root: Issued;
let serverCert: Issued;
let device: Issued;

beforeAll(() => {
  pki = createTestPki();
  root = pki.ca('test-root');
  serverCert = pki.issue('localhost', root, { san: 'DNS:localhost,IP:127.0.0.1' });
  device = pki.issue('device-1', root);
});
afterAll(() => pki.remove());

let server: DtlsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function startServer(ecdsa: EcdsaServerOptions, extra: { ciphers?: CipherSuiteList } = {}) {
  server = createDtlsServer({ port: 0, address: '127.0.0.1', ecdsa, ...extra });
  await server.listen();
  return server;
}
type CipherSuiteList = readonly (typeof CipherSuite)[keyof typeof CipherSuite][];

describe('ECDHE-ECDSA with X.509 between our client and our server', () => {
  it.each(ECDHE_SUITES)(
    'authenticates the server with %s; the client stays anonymous',
    async (_n, suite, name) => {
      const s = await startServer({ key: serverCert.keyFile, certificate: serverCert.certFile });
      const client = await connectDtls({
        peer: s.address(),
        ecdsa: { trustAnchors: root.certFile, hostname: 'localhost' },
        ciphers: [suite],
        timeout: 5000,
      });
      try {
        expect(client.cipherSuite).toBe(name);
        expect(client.peerIdentity).toMatchObject({ kind: 'x509', commonName: 'localhost' });
        const atServer = nextMessage(s);
        await client.send(Buffer.from('hello'));
        const m = await atServer;
        expect(Buffer.from(m.data).toString()).toBe('hello');
        expect(m.identity).toBeUndefined();
        const atClient = nextMessage(client);
        await s.send(Buffer.from('back'), m.peer);
        const reply = await atClient;
        expect(Buffer.from(reply.data).toString()).toBe('back');
        expect(reply.identity?.kind).toBe('x509');
      } finally {
        await client.close();
      }
    },
  );

  it.each(ECDHE_SUITES)(
    'authenticates both sides with %s; the server sees the client certificate',
    async (_n, suite) => {
      const s = await startServer({
        key: serverCert.key,
        certificate: serverCert.cert,
        clientAuth: { trustAnchors: root.cert },
      });
      const client = await connectDtls({
        peer: s.address(),
        ecdsa: { trustAnchors: root.cert, key: device.keyFile, certificate: device.certFile },
        ciphers: [suite],
        timeout: 5000,
      });
      try {
        const atServer = nextMessage(s);
        await client.send(Buffer.from('who am I'));
        const m = await atServer;
        expect(m.identity).toMatchObject({ kind: 'x509', commonName: 'device-1' });
        const der = m.identity?.kind === 'x509' ? m.identity.certificate : new Uint8Array(0);
        expect(new X509Certificate(der).fingerprint256).toBe(new X509Certificate(device.cert).fingerprint256);
        expect(s.identityOf(m.peer)).toEqual(m.identity);
      } finally {
        await client.close();
      }
    },
  );

  it('verifies a chain through an intermediate CA sent by the server', async () => {
    const intermediate = pki.issue('test-intermediate', root, { isCa: true });
    const leaf = pki.issue('lwm2m.example', intermediate);
    const s = await startServer({ key: leaf.keyFile, certificate: [leaf.cert, intermediate.cert] });
    const client = await connectDtls({
      peer: s.address(),
      ecdsa: { trustAnchors: root.cert, hostname: 'lwm2m.example' },
      timeout: 5000,
    });
    expect(client.peerIdentity).toMatchObject({ kind: 'x509', commonName: 'lwm2m.example' });
    await client.close();
  });

  it('refuses a server certificate that does not name the expected host (bad_certificate)', async () => {
    const s = await startServer({ key: serverCert.keyFile, certificate: serverCert.certFile });
    const failure = connectDtls({
      peer: s.address(),
      ecdsa: { trustAnchors: root.certFile, hostname: 'other.example' },
      timeout: 5000,
    });
    await expect(failure).rejects.toBeInstanceOf(DtlsHandshakeError);
    await expect(failure).rejects.toMatchObject({ alert: AlertDescription.badCertificate });
  });

  it('checks an IP address against the subjectAltName IP entries', async () => {
    const s = await startServer({ key: serverCert.keyFile, certificate: serverCert.certFile });
    const client = await connectDtls({
      peer: s.address(),
      ecdsa: { trustAnchors: root.certFile, hostname: '127.0.0.1' },
      timeout: 5000,
    });
    await client.close();
  });

  it('refuses a client without a certificate when one is required (handshake_failure)', async () => {
    const s = await startServer({
      key: serverCert.keyFile,
      certificate: serverCert.certFile,
      clientAuth: { trustAnchors: root.certFile },
    });
    await expect(
      connectDtls({ peer: s.address(), ecdsa: { trustAnchors: root.certFile }, timeout: 5000 }),
    ).rejects.toMatchObject({ constructor: DtlsAlertError, description: AlertDescription.handshakeFailure });
    expect(s.associationCount).toBe(0);
  });

  it('lets an anonymous client in when client authentication is optional', async () => {
    const s = await startServer({
      key: serverCert.keyFile,
      certificate: serverCert.certFile,
      clientAuth: { trustAnchors: root.certFile, required: false },
    });
    const client = await connectDtls({
      peer: s.address(),
      ecdsa: { trustAnchors: root.certFile },
      timeout: 5000,
    });
    const atServer = nextMessage(s);
    await client.send(Buffer.from('anon'));
    expect((await atServer).identity).toBeUndefined();
    await client.close();
  });

  it('resumes an ECDHE session and keeps the client certificate identity', async () => {
    const s = await startServer({
      key: serverCert.keyFile,
      certificate: serverCert.certFile,
      clientAuth: { trustAnchors: root.certFile },
    });
    const options = {
      peer: s.address(),
      ecdsa: { trustAnchors: root.certFile, key: device.keyFile, certificate: device.certFile },
      timeout: 5000,
    };
    const first = await connectDtls(options);
    const session = first.session!;
    await first.close();
    const second = await connectDtls({ ...options, session });
    try {
      expect(Buffer.from(second.session!.sessionId)).toEqual(Buffer.from(session.sessionId));
      expect(second.peerIdentity).toMatchObject({ kind: 'x509', commonName: 'localhost' });
      const atServer = nextMessage(s);
      await second.send(Buffer.from('resumed'));
      expect((await atServer).identity).toMatchObject({ kind: 'x509', commonName: 'device-1' });
    } finally {
      await second.close();
    }
  });

  it('serves PSK and ECDHE clients on one server', async () => {
    const s = await startServer({ key: serverCert.keyFile, certificate: serverCert.certFile });
    await s.close();
    server = createDtlsServer({
      port: 0,
      address: '127.0.0.1',
      psk: { lookup: async (id) => (id === 'psk-dev' ? Buffer.from('k') : undefined) },
      ecdsa: { key: serverCert.keyFile, certificate: serverCert.certFile },
    });
    await server.listen();
    const pskClient = await connectDtls({
      peer: server.address(),
      psk: { identity: 'psk-dev', key: Buffer.from('k') },
    });
    const certClient = await connectDtls({ peer: server.address(), ecdsa: { trustAnchors: root.certFile } });
    expect(pskClient.cipherSuite).toBe('TLS_PSK_WITH_AES_128_CCM_8');
    expect(certClient.cipherSuite).toBe('TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8');
    await pskClient.close();
    await certClient.close();
  });
});
