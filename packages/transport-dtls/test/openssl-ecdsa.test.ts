import { connectDtls, createDtlsServer, type DtlsServer } from '../src/index.js';
import { createTestPki, type Issued, type TestPki } from '../src/test-pki.js';
import { freeUdpPort, nextMessage, spawnPeer, type SpawnedPeer } from './peers.js';

const SUITES = [
  ['ECDHE-ECDSA-AES128-CCM8', 'TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8'],
  ['ECDHE-ECDSA-AES128-SHA256', 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256'],
] as const;

let pki: TestPki;
let root: Issued;
let serverCert: Issued;
let device: Issued;

beforeAll(() => {
  pki = createTestPki();
  root = pki.ca('openssl-root');
  serverCert = pki.issue('localhost', root);
  device = pki.issue('device-7', root);
});
afterAll(() => pki.remove());

let peer: SpawnedPeer | undefined;
let server: DtlsServer | undefined;
afterEach(async () => {
  await peer?.kill();
  await server?.close();
  peer = undefined;
  server = undefined;
});

describe('ECDHE-ECDSA with openssl s_server (our client)', () => {
  async function startServer(cipher: string, extra: string[] = []): Promise<number> {
    const port = await freeUdpPort();
    peer = spawnPeer('openssl', [
      's_server',
      '-dtls1_2',
      '-accept',
      `127.0.0.1:${port}`,
      '-cert',
      serverCert.certFile,
      '-key',
      serverCert.keyFile,
      '-cipher',
      cipher,
      ...extra,
    ]);
    await peer.waitFor('ACCEPT');
    return port;
  }

  it.each(SUITES)(
    'verifies the server certificate with %s and exchanges data both ways',
    async (cipher, suite) => {
      const port = await startServer(cipher);
      const client = await connectDtls({
        peer: { address: '127.0.0.1', port },
        ecdsa: { trustAnchors: root.certFile, hostname: 'localhost' },
        timeout: 8000,
      });
      try {
        expect(client.cipherSuite).toBe(suite);
        expect(client.peerIdentity).toMatchObject({ kind: 'x509', commonName: 'localhost' });
        const received = nextMessage(client);
        await client.send(Buffer.from('ping over ecdhe\n'));
        await peer!.waitFor('ping over ecdhe');
        peer!.process.stdin.write('pong from openssl\n');
        expect(Buffer.from((await received).data).toString()).toBe('pong from openssl\n');
      } finally {
        await client.close();
      }
    },
  );

  it.each(SUITES)(
    'presents our client certificate when s_server requires one (-Verify) with %s',
    async (cipher) => {
      const port = await startServer(cipher, ['-Verify', '1', '-CAfile', root.certFile]);
      const client = await connectDtls({
        peer: { address: '127.0.0.1', port },
        ecdsa: { trustAnchors: root.certFile, key: device.keyFile, certificate: device.certFile },
        timeout: 8000,
      });
      try {
        await client.send(Buffer.from('with client cert\n'));
        await peer!.waitFor('with client cert');
        expect(peer!.output()).toMatch(/subject=CN ?= ?device-7/);
        expect(peer!.output()).toContain('verify return:1');
      } finally {
        await client.close();
      }
    },
  );

  it('refuses s_server when its certificate is not from our trust anchor', async () => {
    const other = pki.ca('other-root');
    const port = await startServer('ECDHE-ECDSA-AES128-CCM8');
    await expect(
      connectDtls({
        peer: { address: '127.0.0.1', port },
        ecdsa: { trustAnchors: other.certFile },
        timeout: 8000,
      }),
    ).rejects.toMatchObject({ alert: 48 });
    await peer!.waitFor('unknown ca');
  });
});

describe('ECDHE-ECDSA with openssl s_client (our server)', () => {
  async function start(
    cipher: string,
    clientArgs: string[],
    requireClientCert: boolean,
  ): Promise<DtlsServer> {
    server = createDtlsServer({
      port: 0,
      address: '127.0.0.1',
      ecdsa: {
        key: serverCert.keyFile,
        certificate: serverCert.certFile,
        ...(requireClientCert ? { clientAuth: { trustAnchors: root.certFile } } : {}),
      },
    });
    await server.listen();
    peer = spawnPeer('openssl', [
      's_client',
      '-dtls1_2',
      '-connect',
      `127.0.0.1:${server.address().port}`,
      '-cipher',
      cipher,
      '-CAfile',
      root.certFile,
      '-verify_return_error',
      '-verify_hostname',
      'localhost',
      ...clientArgs,
    ]);
    return server;
  }

  it.each(SUITES)('is verified by s_client with %s and exchanges data both ways', async (cipher) => {
    const s = await start(cipher, [], false);
    const received = nextMessage(s);
    await peer!.waitFor(`Cipher is ${cipher}`);
    expect(peer!.output()).toContain('Verify return code: 0 (ok)');
    expect(peer!.output()).toContain('Extended master secret: yes');
    peer!.process.stdin.write('hello from s_client\n');
    const message = await received;
    expect(Buffer.from(message.data).toString()).toBe('hello from s_client\n');
    expect(message.identity).toBeUndefined();
    await s.send(Buffer.from('answer from node\n'), message.peer);
    await peer!.waitFor('answer from node');
  });

  it.each(SUITES)('verifies the client certificate s_client presents with %s', async (cipher) => {
    const s = await start(cipher, ['-cert', device.certFile, '-key', device.keyFile], true);
    const received = nextMessage(s);
    await peer!.waitFor(`Cipher is ${cipher}`);
    peer!.process.stdin.write('authenticated\n');
    const message = await received;
    expect(message.identity).toMatchObject({ kind: 'x509', commonName: 'device-7' });
  });

  it('refuses s_client without a certificate when one is required', async () => {
    const s = await start('ECDHE-ECDSA-AES128-CCM8', [], true);
    await peer!.waitFor('handshake failure');
    expect(s.associationCount).toBe(0);
  });
});
