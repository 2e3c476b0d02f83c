import { createPublicKey } from 'node:crypto';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { createMemorySecurityStore } from '@lwm2m/core';
import type { SecurityStore } from '@lwm2m/core';
import { CoapCode, createCoapEndpoint, createUdpSocket } from '@lwm2m/transport-coap';
import type { CoapEndpoint } from '@lwm2m/transport-coap';
import { connectDtls, createDtlsServer } from '@lwm2m/transport-dtls';
import type { DtlsClientConnection, EcdsaClientOptions } from '@lwm2m/transport-dtls';
import { createTestPki } from '@lwm2m/transport-dtls/testing';
import type { Issued, TestPki } from '@lwm2m/transport-dtls/testing';
import { createServer } from '../src/server.js';
import type { Lwm2mServer } from '../src/server.js';
import { codeText } from './harness.js';

const PSK_KEY = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');

function spki(keyPem: Buffer): Uint8Array {
  return new Uint8Array(createPublicKey(keyPem).export({ type: 'spki', format: 'der' }));
}

/** What the server accepts at the handshake: any P-256 key; whose it is gets checked at registration. */
function isP256(publicKey: Uint8Array): boolean {
  try {
    const key = createPublicKey({ key: Buffer.from(publicKey), format: 'der', type: 'spki' });
    return key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
  } catch {
    return false;
  }
}

/**
 * ECDHE-ECDSA on the server's DTLS port (beside PSK): raw public keys accepted at the handshake and
 * certificates from the device CA, then the registration's identity is checked against the store.
 */
describe('security over DTLS ECDHE-ECDSA (RPK and X.509)', () => {
  let pki: TestPki;
  let serverCa: Issued;
  let deviceCa: Issued;
  let serverCert: Issued;
  let certA: Issued;
  let certB: Issued;
  let rogueCa: Issued;
  let rogueA: Issued;
  let rpkA: { keyFile: string; key: Buffer };
  let rpkB: { keyFile: string; key: Buffer };
  let security: SecurityStore;
  let server: Lwm2mServer;
  const clients: CoapEndpoint[] = [];

  beforeAll(() => {
    pki = createTestPki();
    serverCa = pki.ca('server-ca');
    deviceCa = pki.ca('device-ca');
    serverCert = pki.issue('localhost', serverCa, { san: 'DNS:localhost,IP:127.0.0.1' });
    certA = pki.issue('cert-a', deviceCa);
    certB = pki.issue('cert-b', deviceCa);
    rogueCa = pki.ca('rogue-ca');
    rogueA = pki.issue('cert-a', rogueCa);
    rpkA = pki.key('rpk-a');
    rpkB = pki.key('rpk-b');
  });

  afterAll(() => pki.remove());

  beforeEach(async () => {
    security = createMemorySecurityStore([
      { endpoint: 'rpk-a', mode: 'rpk', publicKey: spki(rpkA.key) },
      { endpoint: 'rpk-b', mode: 'rpk', publicKey: spki(rpkB.key) },
      { endpoint: 'cert-a', mode: 'x509' },
      { endpoint: 'cert-b', mode: 'x509' },
      { endpoint: 'named-dev', mode: 'x509', commonName: 'cert-b' },
      { endpoint: 'psk-dev', mode: 'psk', identity: 'psk-id', key: PSK_KEY },
    ]);
    const dtls = createDtlsServer({
      address: '127.0.0.1',
      port: 0,
      psk: {
        lookup: async (identity) => {
          const info = await security.getByPskIdentity(identity);
          return info?.mode === 'psk' ? info.key : undefined;
        },
      },
      ecdsa: {
        key: serverCert.keyFile,
        certificate: serverCert.certFile,
        clientAuth: { trustAnchors: deviceCa.certFile, verifyRawPublicKey: isP256 },
      },
    });
    await dtls.listen();
    const udp = await createUdpSocket({ address: '127.0.0.1', port: 0 });
    server = createServer({ sockets: { coaps: dtls, coap: udp }, stores: { security } });
    await server.listen();
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close();
    await server.close();
  });

  function connect(ecdsa: EcdsaClientOptions, socket?: Socket): Promise<DtlsClientConnection> {
    return connectDtls({
      peer: server.address('coaps'),
      ecdsa: { trustAnchors: serverCa.certFile, hostname: '127.0.0.1', ...ecdsa },
      localAddress: '127.0.0.1',
      timeout: 10_000,
      ...(socket === undefined ? {} : { socket }),
    });
  }

  function endpointOn(connection: DtlsClientConnection): CoapEndpoint {
    const client = createCoapEndpoint({
      socket: connection,
      handler: () => ({ code: CoapCode.CONTENT, contentFormat: 0, payload: 'ecdsa' }),
    });
    clients.push(client);
    return client;
  }

  async function register(
    client: CoapEndpoint,
    endpoint: string,
  ): Promise<{ code: string; id: string | undefined }> {
    const response = await client.request({
      peer: server.address('coaps'),
      method: 'POST',
      path: '/rd',
      query: [`ep=${endpoint}`, 'lwm2m=1.1'],
      payload: '</3/0>',
      contentFormat: 40,
    });
    return { code: codeText(response.code), id: response.locationPath[1] };
  }

  test('an RPK client whose key is the stored one registers; the server reads through the session', async () => {
    const client = endpointOn(await connect({ key: rpkA.keyFile }));
    const { code, id } = await register(client, 'rpk-a');
    expect(code).toBe('2.01');
    const registration = await server.getRegistration('rpk-a');
    expect(registration?.transport).toBe('coaps');
    expect(registration?.identity?.kind).toBe('rpk');
    expect(Buffer.from((registration?.identity as { publicKey: Uint8Array }).publicKey)).toEqual(
      Buffer.from(spki(rpkA.key)),
    );
    expect(await server.read('rpk-a', '/3/0/0')).toMatchObject({ value: 'ecdsa' });
    const peer = server.address('coaps');
    expect(codeText((await client.request({ peer, method: 'POST', path: ['rd', id as string] })).code)).toBe(
      '2.04',
    );
    expect(
      codeText((await client.request({ peer, method: 'DELETE', path: ['rd', id as string] })).code),
    ).toBe('2.02');
  });

  test("an RPK client with another endpoint's key → 4.03", async () => {
    const client = endpointOn(await connect({ key: rpkB.keyFile }));
    expect((await register(client, 'rpk-a')).code).toBe('4.03');
    expect(await server.getRegistration('rpk-a')).toBeUndefined();
  });

  test('an RPK client with a key nobody stored passes the handshake but not registration', async () => {
    const stranger = pki.key('stranger');
    const client = endpointOn(await connect({ key: stranger.keyFile }));
    expect((await register(client, 'rpk-a')).code).toBe('4.03');
    expect((await register(client, 'unknown-dev')).code).toBe('4.03');
  });

  test('an X.509 client whose CN is the endpoint registers', async () => {
    const client = endpointOn(await connect({ key: certA.keyFile, certificate: certA.certFile }));
    expect((await register(client, 'cert-a')).code).toBe('2.01');
    expect(await server.getRegistration('cert-a')).toMatchObject({
      identity: { kind: 'x509', commonName: 'cert-a' },
    });
    expect(await server.read('cert-a', '/3/0/0')).toMatchObject({ value: 'ecdsa' });
  });

  test('an X.509 client registers for the endpoint whose stored commonName it carries; another CN does not', async () => {
    const client = endpointOn(await connect({ key: certB.keyFile, certificate: certB.certFile }));
    expect((await register(client, 'named-dev')).code).toBe('2.01');
    const other = endpointOn(await connect({ key: certA.keyFile, certificate: certA.certFile }));
    expect((await register(other, 'named-dev')).code).toBe('4.03');
  });

  test('an X.509 client with the CN of another endpoint → 4.03', async () => {
    const client = endpointOn(await connect({ key: certB.keyFile, certificate: certB.certFile }));
    expect((await register(client, 'cert-a')).code).toBe('4.03');
    expect(await server.getRegistration('cert-a')).toBeUndefined();
  });

  test('a certificate with the right CN from another CA fails the handshake', async () => {
    await expect(connect({ key: rogueA.keyFile, certificate: rogueA.certFile })).rejects.toThrow();
    expect(await server.getRegistration('cert-a')).toBeUndefined();
  });

  test('an RPK or X.509 identity does not register a PSK endpoint, and NoSec does not register RPK/X.509 endpoints', async () => {
    const rpk = endpointOn(await connect({ key: rpkA.keyFile }));
    expect((await register(rpk, 'psk-dev')).code).toBe('4.03');
    const x509 = endpointOn(await connect({ key: certA.keyFile, certificate: certA.certFile }));
    expect((await register(x509, 'psk-dev')).code).toBe('4.03');

    const plain = createCoapEndpoint({ socket: await createUdpSocket({ address: '127.0.0.1' }) });
    clients.push(plain);
    for (const endpoint of ['rpk-a', 'cert-a', 'named-dev']) {
      const refused = await plain.request({
        peer: server.address('coap'),
        method: 'POST',
        path: '/rd',
        query: [`ep=${endpoint}`],
        payload: '</3/0>',
        contentFormat: 40,
      });
      expect(codeText(refused.code)).toBe('4.03');
      expect(await server.getRegistration(endpoint)).toBeUndefined();
    }
  });

  test('Update and Send from a session of another identity → 4.03', async () => {
    const owner = endpointOn(await connect({ key: rpkA.keyFile }));
    const { code, id } = await register(owner, 'rpk-a');
    expect(code).toBe('2.01');
    const peer = server.address('coaps');

    // Another device that knows the registration id.
    const other = endpointOn(await connect({ key: certB.keyFile, certificate: certB.certFile }));
    expect(codeText((await other.request({ peer, method: 'POST', path: ['rd', id as string] })).code)).toBe(
      '4.03',
    );
    expect(codeText((await other.request({ peer, method: 'DELETE', path: ['rd', id as string] })).code)).toBe(
      '4.03',
    );

    // A new session from the registration's own address and port, with another key: Send is
    // looked up by address, so the identity check is what refuses it.
    const udp = createSocket('udp4');
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    try {
      const first = await connect({ key: certA.keyFile, certificate: certA.certFile }, udp);
      const firstClient = createCoapEndpoint({
        socket: first,
        handler: () => ({ code: CoapCode.CONTENT, contentFormat: 0, payload: 'a' }),
      });
      expect((await register(firstClient, 'cert-a')).code).toBe('2.01');
      await firstClient.close();
      const second = await connect({ key: rpkB.keyFile }, udp);
      const secondClient = endpointOn(second);
      const sent = await secondClient.request({
        peer,
        method: 'POST',
        path: '/dp',
        payload: '[{"n":"/3/0/9","v":1}]',
        contentFormat: 110,
      });
      expect(codeText(sent.code)).toBe('4.03');
      const registration = await server.getRegistration('cert-a');
      const update = await secondClient.request({
        peer,
        method: 'POST',
        path: ['rd', registration?.id as string],
      });
      expect(codeText(update.code)).toBe('4.03');
      expect(await server.getRegistration('cert-a')).toMatchObject({
        identity: { kind: 'x509', commonName: 'cert-a' },
      });
    } finally {
      udp.close();
    }
    expect(await server.getRegistration('rpk-a')).toBeDefined();
  });
});
