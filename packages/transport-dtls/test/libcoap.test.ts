import type { PeerIdentity } from '@lwm2m/core';
import { CoapCode, createCoapEndpoint, createRouter, type CoapEndpoint } from '@lwm2m/transport-coap';
import {
  CipherSuite,
  cipherSuiteName,
  connectDtls,
  createDtlsServer,
  type CipherSuiteId,
  type DtlsServer,
} from '../src/index.js';
import { freeUdpPortPair, runPeer, spawnPeer, type SpawnedPeer } from './peers.js';

const SUITES = [
  ['CCM_8', CipherSuite.TLS_PSK_WITH_AES_128_CCM_8],
  ['CBC_SHA256', CipherSuite.TLS_PSK_WITH_AES_128_CBC_SHA256],
] as const;
const big = Buffer.from(Array.from({ length: 3000 }, (_, i) => 0x41 + (i % 26)));

// The server offers one suite only, so the handshake shows that libcoap's client can use it.
describe.each(['coap-client-openssl', 'coap-client-gnutls'])(
  'libcoap %s against our CoAP endpoint over DTLS',
  (binary) => {
    describe.each(SUITES)('with %s', (_name, suite) => {
      let dtls: DtlsServer;
      let endpoint: CoapEndpoint;
      let url: string;
      let stored = 'nothing yet';
      const identities: Array<PeerIdentity | undefined> = [];

      beforeAll(async () => {
        dtls = createDtlsServer({
          port: 0,
          address: '127.0.0.1',
          ciphers: [suite],
          psk: {
            lookup: async (identity) => (identity === 'lwm2m-dev' ? Buffer.from('sesame-key') : undefined),
          },
        });
        await dtls.listen();
        const router = createRouter()
          .route('/store', (request) => {
            identities.push(request.identity);
            if (request.method === 'PUT') {
              stored = Buffer.from(request.payload).toString();
              return { code: CoapCode.CHANGED };
            }
            return { code: CoapCode.CONTENT, payload: stored, contentFormat: 0 };
          })
          .route('/big', () => ({ code: CoapCode.CONTENT, payload: big, contentFormat: 0 }), ['GET']);
        endpoint = createCoapEndpoint({ socket: dtls, handler: router.handle });
        url = `coaps://127.0.0.1:${dtls.address().port}`;
      });

      afterAll(async () => {
        await endpoint?.close();
      });

      const client = (args: string[]): Promise<string> =>
        runPeer(binary, ['-u', 'lwm2m-dev', '-k', 'sesame-key', '-B', '5', ...args]);

      it('PUTs and GETs; the handler sees the PSK identity', async () => {
        await client(['-m', 'put', '-t', '0', '-e', `from ${binary}`, `${url}/store`]);
        expect(stored).toBe(`from ${binary}`);
        expect(await client(['-m', 'get', `${url}/store`])).toContain(`from ${binary}`);
        expect(identities).toEqual([
          { kind: 'psk', identity: 'lwm2m-dev' },
          { kind: 'psk', identity: 'lwm2m-dev' },
        ]);
      });

      it('GETs a Block2 body in 64-byte blocks', async () => {
        expect(await client(['-m', 'get', '-b', '64', `${url}/big`])).toContain(big.toString());
      });
    });

    it('is refused with a bad_record_mac alert on a wrong key, and our server keeps nothing', async () => {
      const dtls = createDtlsServer({
        port: 0,
        address: '127.0.0.1',
        psk: { lookup: async () => Buffer.from('the-real-key') },
      });
      await dtls.listen();
      const endpoint = createCoapEndpoint({ socket: dtls });
      try {
        // libcoap exits with 0 here too; what it prints tells what it got. Our alert comes when its
        // retransmitted Finished fails again (one failure alone may be a forgery), hence the long -B.
        const output = await runPeer(binary, [
          '-u',
          'lwm2m-dev',
          '-k',
          'a-wrong-key',
          '-B',
          '8',
          '-m',
          'get',
          `coaps://127.0.0.1:${dtls.address().port}/x`,
        ]);
        expect(output).toMatch(/bad record mac/i);
        expect(dtls.associationCount).toBe(0);
      } finally {
        await endpoint.close();
      }
    });
  },
);

/** libcoap's example server: /.well-known/core, /example_data (PUT-able), /time (observable); DTLS on port + 1. */
describe.each([
  ['coap-server-openssl', 'CCM_8', CipherSuite.TLS_PSK_WITH_AES_128_CCM_8],
  // libcoap's OpenSSL build offers no PSK CBC suite; its GnuTLS build offers both.
  ['coap-server-gnutls', 'CCM_8', CipherSuite.TLS_PSK_WITH_AES_128_CCM_8],
  ['coap-server-gnutls', 'CBC_SHA256', CipherSuite.TLS_PSK_WITH_AES_128_CBC_SHA256],
] as const)(
  'our CoAP endpoint over connectDtls against libcoap %s with %s',
  (binary, _name, suite: CipherSuiteId) => {
    let peer: SpawnedPeer | undefined;
    let endpoint: CoapEndpoint | undefined;
    afterEach(async () => {
      await endpoint?.close();
      await peer?.kill();
      endpoint = undefined;
      peer = undefined;
    });

    it('GETs, PUTs and observes', async () => {
      const port = await freeUdpPortPair();
      peer = spawnPeer(binary, ['-A', '127.0.0.1', '-p', String(port), '-k', 'sesame-key', '-v', '6']);
      const target = { address: '127.0.0.1', port: port + 1 };
      // The server needs a moment to bind; the handshake's own retransmission covers it.
      const connection = await connectDtls({
        peer: target,
        psk: { identity: 'our-device', key: Buffer.from('sesame-key') },
        ciphers: [suite],
        timeout: 8000,
        retransmit: { initialMs: 200 },
      });
      expect(connection.cipherSuite).toBe(cipherSuiteName(suite));
      endpoint = createCoapEndpoint({ socket: connection });
      const discovery = await endpoint.request(
        { peer: target, method: 'GET', path: '/.well-known/core' },
        { timeout: 5000 },
      );
      expect(discovery.code).toBe(CoapCode.CONTENT);
      expect(Buffer.from(discovery.payload).toString()).toContain('</time>');
      const put = await endpoint.request(
        {
          peer: target,
          method: 'PUT',
          path: '/example_data',
          payload: 'written over DTLS',
          contentFormat: 0,
        },
        { timeout: 5000 },
      );
      expect([CoapCode.CREATED, CoapCode.CHANGED]).toContain(put.code);
      const get = await endpoint.request(
        { peer: target, method: 'GET', path: '/example_data' },
        { timeout: 5000 },
      );
      expect(Buffer.from(get.payload).toString()).toBe('written over DTLS');
      // /time notifies once a second: the registration response and one notification.
      const observation = await endpoint.observe(
        { peer: target, method: 'GET', path: '/time' },
        { timeout: 5000 },
      );
      const sequence: Array<number | undefined> = [];
      for await (const notification of observation) {
        sequence.push(notification.observe);
        if (sequence.length === 2) break;
      }
      expect(sequence[1]).toBeGreaterThan(sequence[0]!);
    });
  },
);
