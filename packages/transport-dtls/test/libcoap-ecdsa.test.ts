import type { PeerIdentity } from '@lwm2m/core';
import { CoapCode, createCoapEndpoint, createRouter, type CoapEndpoint } from '@lwm2m/transport-coap';
import { createDtlsServer, loadPublicKey, type DtlsServer, type EcdsaServerOptions } from '../src/index.js';
import { createTestPki, type Issued, type TestPki } from '../src/test-pki.js';
import { runPeer } from './peers.js';

let pki: TestPki;
let root: Issued;
let serverCert: Issued;
let device: Issued;
let deviceKey: { keyFile: string; key: Buffer };

beforeAll(() => {
  pki = createTestPki();
  root = pki.ca('coap-root');
  serverCert = pki.issue('localhost', root);
  device = pki.issue('coap-device', root);
  deviceKey = pki.key('coap-rpk-device');
});
afterAll(() => pki.remove());

let dtls: DtlsServer | undefined;
let endpoint: CoapEndpoint | undefined;
const identities: Array<PeerIdentity | undefined> = [];
afterEach(async () => {
  await endpoint?.close();
  endpoint = undefined;
  dtls = undefined;
  identities.length = 0;
});

async function serve(ecdsa: EcdsaServerOptions): Promise<string> {
  dtls = createDtlsServer({ port: 0, address: '127.0.0.1', ecdsa });
  await dtls.listen();
  const router = createRouter().route('/whoami', (request) => {
    identities.push(request.identity);
    return { code: CoapCode.CONTENT, payload: 'over ecdhe', contentFormat: 0 };
  });
  endpoint = createCoapEndpoint({ socket: dtls, handler: router.handle });
  return `coaps://127.0.0.1:${dtls.address().port}/whoami`;
}

describe('libcoap coap-client-gnutls with a raw public key (-M) against our CoAP endpoint', () => {
  it('GETs; the handler sees the client raw public key', async () => {
    const spki = loadPublicKey(deviceKey.keyFile).export({ type: 'spki', format: 'der' });
    const url = await serve({
      key: serverCert.keyFile,
      clientAuth: { verifyRawPublicKey: async (publicKey) => Buffer.from(publicKey).equals(spki) },
    });
    const output = await runPeer('coap-client-gnutls', [
      '-M',
      deviceKey.keyFile,
      '-B',
      '5',
      '-m',
      'get',
      url,
    ]);
    expect(output).toContain('over ecdhe');
    expect(identities).toEqual([{ kind: 'rpk', publicKey: new Uint8Array(spki) }]);
  });
});

describe.each(['coap-client-openssl', 'coap-client-gnutls'])(
  'libcoap %s with certificates (-c -j -C) against our CoAP endpoint',
  (binary) => {
    it('GETs with mutual certificate authentication; the handler sees the client certificate', async () => {
      const url = await serve({
        key: serverCert.keyFile,
        certificate: serverCert.certFile,
        clientAuth: { trustAnchors: root.certFile },
      });
      const output = await runPeer(binary, [
        '-c',
        device.certFile,
        '-j',
        device.keyFile,
        '-C',
        root.certFile,
        '-B',
        '5',
        '-m',
        'get',
        url,
      ]);
      expect(output).toContain('over ecdhe');
      expect(identities).toHaveLength(1);
      expect(identities[0]).toMatchObject({ kind: 'x509', commonName: 'coap-device' });
    });
  },
);
