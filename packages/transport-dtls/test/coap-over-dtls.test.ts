import type { PeerIdentity } from '@lwm2m/core';
import {
  CoapCode,
  createCoapEndpoint,
  createRouter,
  type CoapEndpoint,
  type ServerObservation,
} from '@lwm2m/transport-coap';
import {
  CipherSuite,
  connectDtls,
  createDtlsServer,
  type DtlsClientConnection,
  type DtlsServer,
} from '../src/index.js';

const KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const big = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7 + (i >> 8)) & 0xff));

/**
 * @lwm2m/transport-coap runs unchanged on both DTLS sockets: a CoAP endpoint on the server's
 * listener (a LwM2M server) and one on a client connection (a device), each in both roles.
 */
describe.each([
  ['CCM_8', CipherSuite.TLS_PSK_WITH_AES_128_CCM_8],
  ['CBC_SHA256', CipherSuite.TLS_PSK_WITH_AES_128_CBC_SHA256],
] as const)('CoAP over DTLS-PSK %s, our endpoints on both sides', (_name, suite) => {
  let dtlsServer: DtlsServer;
  let server: CoapEndpoint;
  let connection: DtlsClientConnection;
  let device: CoapEndpoint;
  const identities: Array<PeerIdentity | undefined> = [];
  const observations: ServerObservation[] = [];
  let uploaded = Buffer.alloc(0);

  beforeEach(async () => {
    identities.length = 0;
    observations.length = 0;
    dtlsServer = createDtlsServer({
      port: 0,
      address: '127.0.0.1',
      ciphers: [suite],
      psk: { lookup: async (identity) => (identity === 'urn:dev:1' ? KEY : undefined) },
    });
    await dtlsServer.listen();
    const router = createRouter()
      .route('/hello', (request) => {
        identities.push(request.identity);
        return {
          code: CoapCode.CONTENT,
          payload: `hello ${request.identity?.kind === 'psk' ? request.identity.identity : '?'}`,
          contentFormat: 0,
        };
      })
      .route('/big', () => ({ code: CoapCode.CONTENT, payload: big, contentFormat: 42 }))
      .route(
        '/upload',
        (request) => {
          uploaded = Buffer.from(request.payload);
          return { code: CoapCode.CHANGED };
        },
        ['PUT'],
      )
      .route('/temp', (request) => {
        identities.push(request.identity);
        if (request.observe === 0) observations.push(request.acceptObserve());
        return { code: CoapCode.CONTENT, payload: '20.0', contentFormat: 0 };
      });
    server = createCoapEndpoint({ socket: dtlsServer, handler: router.handle });
    connection = await connectDtls({
      peer: dtlsServer.address(),
      psk: { identity: 'urn:dev:1', key: KEY },
      ciphers: [suite],
      timeout: 5000,
    });
    device = createCoapEndpoint({
      socket: connection,
      handler: createRouter().route('/3/0/0', () => ({
        code: CoapCode.CONTENT,
        payload: 'Open Mobile Alliance',
        contentFormat: 0,
      })).handle,
    });
  });

  afterEach(async () => {
    await device.close();
    await server.close();
  });

  it('carries a request and its response; the handler sees the PSK identity', async () => {
    const response = await device.request(
      { peer: dtlsServer.address(), method: 'GET', path: '/hello' },
      { timeout: 5000 },
    );
    expect(response.code).toBe(CoapCode.CONTENT);
    expect(Buffer.from(response.payload).toString()).toBe('hello urn:dev:1');
    expect(identities).toEqual([{ kind: 'psk', identity: 'urn:dev:1' }]);
    expect(connection.cipherSuite).toBe(
      suite === CipherSuite.TLS_PSK_WITH_AES_128_CCM_8
        ? 'TLS_PSK_WITH_AES_128_CCM_8'
        : 'TLS_PSK_WITH_AES_128_CBC_SHA256',
    );
  });

  it('lets the server side send a request to the device over the same session', async () => {
    // The server learns where the device is from a first request, as a LwM2M server does from Register.
    await device.request({ peer: dtlsServer.address(), method: 'GET', path: '/hello' }, { timeout: 5000 });
    const devicePeer = { address: '127.0.0.1', port: connection.address().port };
    const response = await server.request(
      { peer: devicePeer, method: 'GET', path: '/3/0/0' },
      { timeout: 5000 },
    );
    expect(Buffer.from(response.payload).toString()).toBe('Open Mobile Alliance');
  });

  it('downloads a Block2 response and uploads a Block1 request', async () => {
    const download = await device.request(
      { peer: dtlsServer.address(), method: 'GET', path: '/big', blockSize: 256 },
      { timeout: 5000 },
    );
    expect(download.contentFormat).toBe(42);
    expect(Buffer.from(download.payload)).toEqual(big);
    const upload = await device.request(
      { peer: dtlsServer.address(), method: 'PUT', path: '/upload', payload: big, blockSize: 512 },
      { timeout: 5000 },
    );
    expect(upload.code).toBe(CoapCode.CHANGED);
    expect(uploaded).toEqual(big);
  });

  it('delivers an Observe response and several notifications', async () => {
    const observation = await device.observe(
      { peer: dtlsServer.address(), method: 'GET', path: '/temp' },
      { timeout: 5000 },
    );
    expect(Buffer.from(observation.response.payload).toString()).toBe('20.0');
    expect(observations).toHaveLength(1);
    const values: string[] = [];
    const collected = (async () => {
      for await (const notification of observation) {
        values.push(Buffer.from(notification.payload).toString());
        if (values.length === 4) break; // the first response, then three notifications
      }
    })();
    // Confirmable, so each one is acknowledged over DTLS before the next (a NON would be held
    // back by PROBING_RATE towards a peer that has not answered yet, RFC 7252 §4.7).
    for (const value of ['20.5', '21.0', '21.5'])
      await observations[0]!.notify({ payload: value, contentFormat: 0, confirmable: true });
    await collected;
    expect(values).toEqual(['20.0', '20.5', '21.0', '21.5']);
    // Leaving the loop cancelled actively (GET with Observe=1), over the same authenticated session.
    expect(identities).toEqual([
      { kind: 'psk', identity: 'urn:dev:1' },
      { kind: 'psk', identity: 'urn:dev:1' },
    ]);
  });
});
