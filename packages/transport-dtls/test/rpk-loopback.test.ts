import type { PeerAddress } from '@lwm2m/core';
import {
  AlertDescription,
  CipherSuite,
  connectDtls,
  createDtlsServer,
  DtlsAlertError,
  loadPublicKey,
  type DtlsServer,
} from '../src/index.js';
import { createTestPki, type Issued, type TestPki } from '../src/test-pki.js';
import { nextMessage } from './peers.js';

let pki: TestPki;
let serverKey: { keyFile: string; key: Buffer };
let deviceKey: { keyFile: string; key: Buffer };
let serverSpki: Buffer;
let deviceSpki: Buffer;
let root: Issued;
let serverCert: Issued;

beforeAll(() => {
  pki = createTestPki();
  serverKey = pki.key('rpk-server');
  deviceKey = pki.key('rpk-device');
  serverSpki = loadPublicKey(serverKey.keyFile).export({ type: 'spki', format: 'der' });
  deviceSpki = loadPublicKey(deviceKey.keyFile).export({ type: 'spki', format: 'der' });
  root = pki.ca('rpk-root');
  serverCert = pki.issue('localhost', root);
});
afterAll(() => pki.remove());

let server: DtlsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const same = (expected: Buffer) => async (publicKey: Uint8Array) => Buffer.from(publicKey).equals(expected);

describe('raw public keys (RFC 7250) between our client and our server', () => {
  it.each([
    ['CCM_8', CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8],
    ['CBC_SHA256', CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256],
  ] as const)('authenticates both sides by raw key with %s; identities are the SPKIs', async (_n, suite) => {
    const seenByServer: Array<{ key: Buffer; peer: PeerAddress }> = [];
    server = createDtlsServer({
      port: 0,
      address: '127.0.0.1',
      ecdsa: {
        key: serverKey.keyFile,
        clientAuth: {
          verifyRawPublicKey: async (publicKey, peer) => {
            seenByServer.push({ key: Buffer.from(publicKey), peer });
            return Buffer.from(publicKey).equals(deviceSpki);
          },
        },
      },
    });
    await server.listen();
    const client = await connectDtls({
      peer: server.address(),
      ecdsa: { key: deviceKey.key, verifyRawPublicKey: same(serverSpki) },
      ciphers: [suite],
      timeout: 5000,
    });
    try {
      expect(client.peerIdentity).toEqual({ kind: 'rpk', publicKey: new Uint8Array(serverSpki) });
      const atServer = nextMessage(server);
      await client.send(Buffer.from('rpk'));
      const m = await atServer;
      expect(m.identity).toEqual({ kind: 'rpk', publicKey: new Uint8Array(deviceSpki) });
      expect(seenByServer).toHaveLength(1);
      expect(seenByServer[0]!.peer.port).toBe(client.address().port);
    } finally {
      await client.close();
    }
  });

  it('refuses a client key the trust callback rejects (certificate_unknown), and keeps nothing', async () => {
    server = createDtlsServer({
      port: 0,
      address: '127.0.0.1',
      ecdsa: { key: serverKey.keyFile, clientAuth: { verifyRawPublicKey: async () => false } },
    });
    await server.listen();
    const failure = connectDtls({
      peer: server.address(),
      ecdsa: { key: deviceKey.key, verifyRawPublicKey: same(serverSpki) },
      timeout: 5000,
    });
    await expect(failure).rejects.toBeInstanceOf(DtlsAlertError);
    await expect(failure).rejects.toMatchObject({ description: AlertDescription.certificateUnknown });
    expect(server.associationCount).toBe(0);
  });

  it('refuses a server key our callback rejects', async () => {
    server = createDtlsServer({ port: 0, address: '127.0.0.1', ecdsa: { key: serverKey.keyFile } });
    await server.listen();
    await expect(
      connectDtls({ peer: server.address(), ecdsa: { verifyRawPublicKey: same(deviceSpki) }, timeout: 5000 }),
    ).rejects.toMatchObject({ alert: AlertDescription.certificateUnknown });
  });

  it('mixes: the server proves itself with a certificate, the client with its raw key', async () => {
    server = createDtlsServer({
      port: 0,
      address: '127.0.0.1',
      ecdsa: {
        key: serverCert.keyFile,
        certificate: serverCert.certFile,
        clientAuth: { verifyRawPublicKey: same(deviceSpki) },
      },
    });
    await server.listen();
    const client = await connectDtls({
      peer: server.address(),
      ecdsa: { trustAnchors: root.certFile, key: deviceKey.keyFile },
      timeout: 5000,
    });
    try {
      expect(client.peerIdentity).toMatchObject({ kind: 'x509', commonName: 'localhost' });
      const atServer = nextMessage(server);
      await client.send(Buffer.from('mixed'));
      expect((await atServer).identity).toEqual({ kind: 'rpk', publicKey: new Uint8Array(deviceSpki) });
    } finally {
      await client.close();
    }
  });

  it('a client that only takes raw keys cannot talk to a certificate-only server (no suite in common)', async () => {
    server = createDtlsServer({
      port: 0,
      address: '127.0.0.1',
      ecdsa: { key: serverCert.keyFile, certificate: serverCert.certFile, rawPublicKey: false },
    });
    await server.listen();
    await expect(
      connectDtls({ peer: server.address(), ecdsa: { verifyRawPublicKey: same(serverSpki) }, timeout: 5000 }),
    ).rejects.toMatchObject({ description: AlertDescription.handshakeFailure });
  });
});
