import { CoapCode, createCoapEndpoint, createRouter } from '@lwm2m/transport-coap';
import { CipherSuite, connectDtls, createDtlsServer, type DtlsServer } from '../src/index.js';
import { ContentType } from '../src/record.js';
import { delay, nextMessage, startProxy, type LossyProxy } from './peers.js';

const KEY = Buffer.from('cid-secret');
let server: DtlsServer | undefined;
let proxy: LossyProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  await server?.close();
  proxy = undefined;
  server = undefined;
});

async function start(connectionId?: boolean): Promise<DtlsServer> {
  server = createDtlsServer({
    port: 0,
    address: '127.0.0.1',
    psk: { lookup: async (id) => (id === 'roamer' ? KEY : undefined) },
    ...(connectionId === undefined ? {} : { connectionId }),
  });
  await server.listen();
  return server;
}

describe('Connection ID (RFC 9146)', () => {
  it.each([
    ['CCM_8', CipherSuite.TLS_PSK_WITH_AES_128_CCM_8],
    ['CBC_SHA256', CipherSuite.TLS_PSK_WITH_AES_128_CBC_SHA256],
  ] as const)(
    'with %s the session survives the client moving to a new source port; replies go to the new address',
    async (_n, suite) => {
      const s = await start();
      const client = await connectDtls({
        peer: s.address(),
        psk: { identity: 'roamer', key: KEY },
        ciphers: [suite],
        connectionId: true,
        timeout: 5000,
      });
      try {
        expect(client.hasConnectionId).toBe(true);
        const first = nextMessage(s);
        await client.send(Buffer.from('before'));
        const before = await first;
        expect(before.peer.port).toBe(client.address().port);

        await client.rebind(); // a new socket on a new ephemeral port
        expect(client.address().port).not.toBe(before.peer.port);
        const second = nextMessage(s);
        await client.send(Buffer.from('after'));
        const moved = await second;
        expect(Buffer.from(moved.data).toString()).toBe('after');
        expect(moved.identity).toEqual({ kind: 'psk', identity: 'roamer' });
        expect(moved.peer.port).toBe(client.address().port);
        expect(s.associationCount).toBe(1);
        expect(s.identityOf(moved.peer)).toEqual({ kind: 'psk', identity: 'roamer' });

        // The upper layer answers to the address in the message: the client gets it.
        const reply = nextMessage(client);
        await s.send(Buffer.from('to the new port'), moved.peer);
        expect(Buffer.from((await reply).data).toString()).toBe('to the new port');
        await expect(s.send(Buffer.from('old'), before.peer)).rejects.toThrow(/no established DTLS session/);
      } finally {
        await client.close();
      }
    },
  );

  it('without a connection id the server drops the moved client records (the test can fail)', async () => {
    const s = await start(false);
    const client = await connectDtls({
      peer: s.address(),
      psk: { identity: 'roamer', key: KEY },
      connectionId: true,
      timeout: 5000,
    });
    try {
      expect(client.hasConnectionId).toBe(false);
      await client.rebind();
      let received = false;
      s.on('message', () => (received = true));
      await client.send(Buffer.from('lost'));
      await delay(100);
      expect(received).toBe(false);
    } finally {
      await client.close();
    }
  });

  it('a copied CID record from another address does not move the session', async () => {
    const s = await start();
    proxy = await startProxy(s.address().port);
    const client = await connectDtls({
      peer: { address: '127.0.0.1', port: proxy.port },
      psk: { identity: 'roamer', key: KEY },
      connectionId: true,
      timeout: 5000,
    });
    try {
      const got = nextMessage(s);
      await client.send(Buffer.from('genuine'));
      const genuine = await got;
      const recorded = proxy.log.filter((l) => l.direction === 'toServer').at(-1)!.data;
      expect(recorded[0]).toBe(ContentType.tls12Cid); // the record on the wire carries the CID
      // An attacker replays the genuine record from its own port: a replay, dropped, no move.
      const { createSocket } = await import('node:dgram');
      const attacker = createSocket('udp4');
      await new Promise<void>((resolve) => attacker.bind(0, '127.0.0.1', resolve));
      let replayed = false;
      s.on('message', () => (replayed = true));
      attacker.send(recorded, s.address().port, '127.0.0.1');
      // And a forged one (bit flipped) does not authenticate.
      const forged = Buffer.from(recorded);
      forged[forged.length - 1]! ^= 1;
      attacker.send(forged, s.address().port, '127.0.0.1');
      await delay(100);
      attacker.close();
      expect(replayed).toBe(false);
      // The session is still where the genuine client is.
      const reply = nextMessage(client);
      await s.send(Buffer.from('still here'), genuine.peer);
      expect(Buffer.from((await reply).data).toString()).toBe('still here');
    } finally {
      await client.close();
    }
  });

  it('CoAP keeps working across the move: the server endpoint answers the new address', async () => {
    const s = await start();
    const coapServer = createCoapEndpoint({
      socket: s,
      handler: createRouter().route('/where', (request) => ({
        code: CoapCode.CONTENT,
        payload: String(request.peer.port),
      })).handle,
    });
    const client = await connectDtls({
      peer: s.address(),
      psk: { identity: 'roamer', key: KEY },
      connectionId: true,
      timeout: 5000,
    });
    const device = createCoapEndpoint({ socket: client });
    try {
      const first = await device.request(
        { peer: client.peer, method: 'GET', path: '/where' },
        { timeout: 3000 },
      );
      expect(Buffer.from(first.payload).toString()).toBe(String(client.address().port));
      await client.rebind();
      const second = await device.request(
        { peer: client.peer, method: 'GET', path: '/where' },
        { timeout: 3000 },
      );
      expect(second.code).toBe(CoapCode.CONTENT);
      expect(Buffer.from(second.payload).toString()).toBe(String(client.address().port));
      expect(second.payload).not.toEqual(first.payload);
    } finally {
      await device.close();
      await coapServer.close();
    }
  });
});
