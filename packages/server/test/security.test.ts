import { createMemorySecurityStore } from '@lwm2m/core';
import type { SecurityStore } from '@lwm2m/core';
import { CoapCode, createCoapEndpoint, createMemorySocketPair, createUdpSocket } from '@lwm2m/transport-coap';
import type { CoapEndpoint } from '@lwm2m/transport-coap';
import { connectDtls, createDtlsServer } from '@lwm2m/transport-dtls';
import { createServer } from '../src/server.js';
import type { Lwm2mServer } from '../src/server.js';
import { codeText } from './harness.js';

const KEY_A = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
const KEY_B = Buffer.from('0f0e0d0c0b0a09080706050403020100', 'hex');

describe('security over DTLS-PSK', () => {
  let security: SecurityStore;
  let server: Lwm2mServer;
  const clients: CoapEndpoint[] = [];

  beforeEach(async () => {
    security = createMemorySecurityStore([
      { endpoint: 'dev-a', mode: 'psk', identity: 'id-a', key: KEY_A },
      { endpoint: 'dev-b', mode: 'psk', identity: 'id-b', key: KEY_B },
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

  async function dtlsClient(identity: string, key: Uint8Array): Promise<CoapEndpoint> {
    const connection = await connectDtls({
      peer: server.address('coaps'),
      psk: { identity, key },
      localAddress: '127.0.0.1',
      timeout: 10_000,
    });
    const client = createCoapEndpoint({
      socket: connection,
      handler: () => ({ code: CoapCode.CONTENT, contentFormat: 0, payload: 'secure' }),
    });
    clients.push(client);
    return client;
  }

  test('the identity that belongs to the endpoint registers; the server reads through DTLS', async () => {
    const client = await dtlsClient('id-a', KEY_A);
    const response = await client.request({
      peer: server.address('coaps'),
      method: 'POST',
      path: '/rd',
      query: ['ep=dev-a'],
      payload: '</3/0>',
      contentFormat: 40,
    });
    expect(codeText(response.code)).toBe('2.01');
    const registration = await server.getRegistration('dev-a');
    expect(registration).toMatchObject({ transport: 'coaps', identity: { kind: 'psk', identity: 'id-a' } });
    expect(await server.read('dev-a', '/3/0/0')).toMatchObject({ value: 'secure' });
    // Update and Deregister from the same session pass the same check.
    const id = response.locationPath[1] as string;
    expect(
      codeText(
        (await client.request({ peer: server.address('coaps'), method: 'POST', path: ['rd', id] })).code,
      ),
    ).toBe('2.04');
    expect(
      codeText(
        (await client.request({ peer: server.address('coaps'), method: 'DELETE', path: ['rd', id] })).code,
      ),
    ).toBe('2.02');
  });

  test("another endpoint's identity → 4.03", async () => {
    const client = await dtlsClient('id-b', KEY_B);
    const response = await client.request({
      peer: server.address('coaps'),
      method: 'POST',
      path: '/rd',
      query: ['ep=dev-a'],
      payload: '</3/0>',
      contentFormat: 40,
    });
    expect(codeText(response.code)).toBe('4.03');
    expect(await server.getRegistration('dev-a')).toBeUndefined();
  });

  test('a secure registration for an endpoint without security info → 4.03', async () => {
    await security.put({ endpoint: 'other', mode: 'psk', identity: 'id-other', key: KEY_A });
    const client = await dtlsClient('id-other', KEY_A);
    await security.remove('other');
    await security.put({ endpoint: 'temp', mode: 'psk', identity: 'id-other', key: KEY_A });
    const response = await client.request({
      peer: server.address('coaps'),
      method: 'POST',
      path: '/rd',
      query: ['ep=unknown'],
      payload: '</3/0>',
      contentFormat: 40,
    });
    expect(codeText(response.code)).toBe('4.03');
  });

  test('NoSec registration for an endpoint that has security info → 4.03; without info → 2.01', async () => {
    const plain = createCoapEndpoint({ socket: await createUdpSocket({ address: '127.0.0.1' }) });
    clients.push(plain);
    const refused = await plain.request({
      peer: server.address('coap'),
      method: 'POST',
      path: '/rd',
      query: ['ep=dev-a'],
      payload: '</3/0>',
      contentFormat: 40,
    });
    expect(codeText(refused.code)).toBe('4.03');
    const accepted = await plain.request({
      peer: server.address('coap'),
      method: 'POST',
      path: '/rd',
      query: ['ep=nosec'],
      payload: '</3/0>',
      contentFormat: 40,
    });
    expect(codeText(accepted.code)).toBe('2.01');
  });
});

describe('security checks on Update and Send', () => {
  test('a NoSec Update or Send for a secure registration → 4.03', async () => {
    const security = createMemorySecurityStore([
      { endpoint: 'dev-a', mode: 'psk', identity: 'id-a', key: KEY_A },
    ]);
    const [serverSocket, clientSocket] = createMemorySocketPair();
    const server = createServer({ sockets: { coap: serverSocket }, stores: { security } });
    await server.listen();
    const client = createCoapEndpoint({ socket: clientSocket });
    try {
      const peer = serverSocket.address();
      clientSocket.identity = { kind: 'psk', identity: 'id-a' };
      const created = await client.request({
        peer,
        method: 'POST',
        path: '/rd',
        query: ['ep=dev-a', 'lwm2m=1.1'],
        payload: '</3/0>',
        contentFormat: 40,
      });
      expect(codeText(created.code)).toBe('2.01');
      clientSocket.identity = undefined;
      const id = created.locationPath[1] as string;
      expect(codeText((await client.request({ peer, method: 'POST', path: ['rd', id] })).code)).toBe('4.03');
      expect(
        codeText(
          (
            await client.request({
              peer,
              method: 'POST',
              path: '/dp',
              payload: '[{"n":"/3/0/9","v":1}]',
              contentFormat: 110,
            })
          ).code,
        ),
      ).toBe('4.03');
      expect(codeText((await client.request({ peer, method: 'DELETE', path: ['rd', id] })).code)).toBe(
        '4.03',
      );
      expect(await server.getRegistration('dev-a')).toBeDefined();
    } finally {
      await server.close();
      await client.close();
    }
  });
});
