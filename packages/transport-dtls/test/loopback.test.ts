import { createSocket, type Socket } from 'node:dgram';
import type { DatagramMessage } from '@lwm2m/core';
import {
  AlertDescription,
  CipherSuite,
  connectDtls,
  createDtlsServer,
  DtlsAlertError,
  type DtlsServer,
  type DtlsServerOptions,
} from '../src/index.js';
import { delay, startProxy, type LossyProxy } from './peers.js';

const KEY = Buffer.from('0123456789abcdef', 'hex');

describe('our client against our server', () => {
  let server: DtlsServer | undefined;
  let proxy: LossyProxy | undefined;
  let lookups: string[] = [];
  afterEach(async () => {
    await proxy?.close();
    await server?.close();
    proxy = undefined;
    server = undefined;
  });

  async function start(
    options: Partial<DtlsServerOptions> = {},
  ): Promise<{ server: DtlsServer; port: number }> {
    lookups = [];
    server = createDtlsServer({
      port: 0,
      address: '127.0.0.1',
      psk: {
        lookup: async (identity) => {
          lookups.push(identity);
          return identity === 'dev1' ? KEY : undefined;
        },
      },
      retransmit: { initialMs: 100 },
      ...options,
    });
    await server.listen();
    return { server, port: server.address().port };
  }

  const connect = (port: number, extra: Partial<Parameters<typeof connectDtls>[0]> = {}) =>
    connectDtls({
      peer: { address: '127.0.0.1', port },
      psk: { identity: 'dev1', key: KEY },
      timeout: 5000,
      retransmit: { initialMs: 100 },
      ...extra,
    });

  it.each([
    ['CCM_8', CipherSuite.TLS_PSK_WITH_AES_128_CCM_8],
    ['CBC_SHA256', CipherSuite.TLS_PSK_WITH_AES_128_CBC_SHA256],
  ] as const)('handshakes with %s and carries data both ways with the identity', async (_name, suite) => {
    const { server: s, port } = await start({ ciphers: [suite] });
    const client = await connect(port);
    const atServer = new Promise<DatagramMessage>((resolve) => s.on('message', resolve));
    await client.send(Buffer.from('up'));
    const m = await atServer;
    expect(Buffer.from(m.data).toString()).toBe('up');
    expect(m.identity).toEqual({ kind: 'psk', identity: 'dev1' });
    expect(s.identityOf(m.peer)).toEqual({ kind: 'psk', identity: 'dev1' });
    const atClient = new Promise<DatagramMessage>((resolve) => client.on('message', resolve));
    await s.send(Buffer.from('down'), m.peer);
    expect(Buffer.from((await atClient).data).toString()).toBe('down');
    await client.close();
  });

  it('resumes a session with an abbreviated handshake (no second PSK lookup)', async () => {
    const { port } = await start();
    const first = await connect(port);
    const session = first.session!;
    await first.close();
    const second = await connect(port, { session });
    expect(Buffer.from(second.session!.sessionId)).toEqual(Buffer.from(session.sessionId));
    expect(lookups).toEqual(['dev1']);
    const atServer = new Promise<DatagramMessage>((resolve) => server!.on('message', resolve));
    await second.send(Buffer.from('resumed'));
    expect((await atServer).identity).toEqual({ kind: 'psk', identity: 'dev1' });
    await second.close();
  });

  it('completes a resumption whose final client flight was lost', async () => {
    const { server: s, port } = await start();
    const first = await connect(port);
    const session = first.session!;
    await first.close();
    proxy = await startProxy(port);
    proxy.filter = (direction, _data, index) => !(direction === 'toServer' && index === 2); // client CCS + Finished
    const second = await connect(proxy.port, { session });
    const atServer = new Promise<DatagramMessage>((resolve) => s.on('message', resolve));
    // The server only becomes established after its retransmission brought our final flight again.
    const asSeen = { address: '127.0.0.1', port: proxy.port };
    for (let i = 0; i < 100 && s.identityOf(asSeen) === undefined; i++) await delay(10);
    expect(s.identityOf(asSeen)).toEqual({ kind: 'psk', identity: 'dev1' });
    await second.send(Buffer.from('resumed after loss'));
    expect(Buffer.from((await atServer).data).toString()).toBe('resumed after loss');
    await delay(100);
    const settled = proxy.log.length;
    await delay(300);
    expect(proxy.log.length).toBe(settled);
    await second.close();
  });

  it('falls back to a full handshake when the server does not know the session', async () => {
    const { port } = await start({ resumption: false });
    const first = await connect(port);
    const session = first.session!;
    await first.close();
    const second = await connect(port, { session });
    expect(lookups).toEqual(['dev1', 'dev1']);
    await second.close();
  });

  it('fragments and reassembles handshake messages with a small MTU', async () => {
    const { port } = await start({ mtu: 60 });
    proxy = await startProxy(port);
    const client = await connect(proxy.port, { mtu: 150 });
    const fromServer = proxy.log.filter((e) => e.direction === 'toClient');
    expect(fromServer.every((e) => e.data.length <= 60)).toBe(true);
    expect(fromServer.length).toBeGreaterThan(3); // ServerHello alone needs several fragments
    await client.close();
  });

  it('recovers from lost flights by retransmission', async () => {
    const { port } = await start();
    proxy = await startProxy(port);
    // Drop the first copy of flight 4 (server's second datagram) and the first client flight 5.
    let seen = 0;
    proxy.filter = (direction, _data, index) => {
      seen++;
      return !(direction === 'toClient' && index === 1) && !(direction === 'toServer' && index === 2);
    };
    const client = await connect(proxy.port);
    expect(seen).toBeGreaterThan(6); // a lossless handshake takes exactly 6 datagrams
    const atServer = new Promise<DatagramMessage>((resolve) => server!.on('message', resolve));
    await client.send(Buffer.from('after loss'));
    expect(Buffer.from((await atServer).data).toString()).toBe('after loss');
    await client.close();
  });

  it('resends the final flight when the server Finished is lost', async () => {
    const { port } = await start();
    proxy = await startProxy(port);
    proxy.filter = (direction, _data, index) => !(direction === 'toClient' && index === 2); // flight 6
    const client = await connect(proxy.port);
    expect(proxy.log.filter((e) => e.direction === 'toServer').length).toBeGreaterThanOrEqual(4);
    // Once established, nobody keeps retransmitting: no flight ping-pong between the two sides.
    await delay(100);
    const settled = proxy.log.length;
    await delay(400);
    expect(proxy.log.length).toBe(settled);
    await client.close();
  });

  it('fails with the server alert on a wrong key, and the server keeps nothing', async () => {
    const { server: s, port } = await start();
    const error = await connect(port, { psk: { identity: 'dev1', key: Buffer.from('bad') } }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DtlsAlertError);
    expect((error as DtlsAlertError).description).toBe(AlertDescription.badRecordMac);
    expect(s.associationCount).toBe(0);
  });

  it('fails with unknown_psk_identity for an unknown identity', async () => {
    const { server: s, port } = await start();
    const error = await connect(port, { psk: { identity: 'nobody', key: KEY } }).catch((e: unknown) => e);
    expect((error as DtlsAlertError).description).toBe(AlertDescription.unknownPskIdentity);
    expect(s.associationCount).toBe(0);
  });

  it('drops replayed and tampered records', async () => {
    const { server: s, port } = await start();
    proxy = await startProxy(port);
    const client = await connect(proxy.port);
    const received: string[] = [];
    s.on('message', (m) => received.push(Buffer.from(m.data).toString()));
    await client.send(Buffer.from('once'));
    await delay(50);
    const record = proxy.log.filter((e) => e.direction === 'toServer').at(-1)!.data;
    proxy.injectToServer(record); // the proxy's port is the client's address as the server sees it
    const tampered = Buffer.from(record);
    tampered[tampered.length - 1]! ^= 1;
    proxy.injectToServer(tampered);
    await delay(50);
    await client.send(Buffer.from('twice'));
    await delay(50);
    expect(received).toEqual(['once', 'twice']);
    expect(s.associationCount).toBe(1);
    await client.close();
  });

  it('forgets idle sessions after sessionTimeout and stalled handshakes after handshakeTimeout', async () => {
    const { server: s, port } = await start({ sessionTimeout: 60_000, handshakeTimeout: 5_000 });
    const client = await connect(port);
    await delay(20);
    s.expire(Date.now() + 30_000);
    expect(s.associationCount).toBe(1);
    s.expire(Date.now() + 60_001);
    expect(s.associationCount).toBe(0);
    await expect(
      s.send(Buffer.from('x'), { address: '127.0.0.1', port: client.address().port }),
    ).rejects.toMatchObject({
      code: 'ERR_DTLS_NO_SESSION',
    });
    await client.close();

    // A client that stops after the cookie exchange leaves a handshake that expires sooner.
    proxy = await startProxy(port);
    proxy.filter = (direction, _data, index) => !(direction === 'toServer' && index >= 2);
    const stalled = connect(proxy.port, { timeout: 300 }).catch((e: unknown) => e);
    await delay(50);
    expect(s.associationCount).toBe(1);
    s.expire(Date.now() + 5_001);
    expect(s.associationCount).toBe(0);
    await stalled;
  });

  it('lets a rebooted client with the same address and port start a new session (RFC 6347 §4.2.8)', async () => {
    const { server: s, port } = await start();
    const bind = async (localPort: number): Promise<Socket> => {
      const socket = createSocket('udp4');
      await new Promise<void>((resolve) => socket.bind(localPort, '127.0.0.1', resolve));
      return socket;
    };
    const first = await bind(0);
    const localPort = first.address().port;
    await connect(port, { socket: first });
    await new Promise<void>((resolve) => first.close(() => resolve())); // "reboot": state lost, no close_notify
    const second = await bind(localPort);
    try {
      const client = await connect(port, { socket: second });
      const atServer = new Promise<DatagramMessage>((resolve) => s.on('message', resolve));
      await client.send(Buffer.from('after reboot'));
      expect(Buffer.from((await atServer).data).toString()).toBe('after reboot');
      expect(s.associationCount).toBe(1);
      expect(lookups).toEqual(['dev1', 'dev1']);
    } finally {
      second.close();
    }
  });

  it('lets a client that restarts in the middle of a handshake start over at once', async () => {
    const { server: s, port } = await start();
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    try {
      proxy = await startProxy(port);
      // First attempt: the client's flight 5 never arrives, so the server sits in the handshake.
      proxy.filter = (direction, _data, index) => !(direction === 'toServer' && index >= 2);
      await connect(proxy.port, { socket, timeout: 150 }).catch(() => undefined);
      expect(s.associationCount).toBe(1);
      proxy.filter = () => true;
      const client = await connect(proxy.port, { socket, timeout: 1000, retransmit: { initialMs: 2000 } });
      expect(client.session).toBeDefined();
      expect(s.associationCount).toBe(1);
    } finally {
      socket.close();
    }
  });

  it('ends the server association on close_notify and tells the client when the server closes', async () => {
    const { server: s, port } = await start();
    const client = await connect(port);
    await delay(20);
    expect(s.associationCount).toBe(1);
    await client.close();
    for (let i = 0; i < 50 && s.associationCount > 0; i++) await delay(10);
    expect(s.associationCount).toBe(0);

    const again = await connect(port);
    const closed = new Promise<void>((resolve) => again.on('close', resolve));
    s.closeSession({ address: '127.0.0.1', port: again.address().port });
    await closed;
    await expect(again.send(Buffer.from('x'))).rejects.toMatchObject({ code: 'ERR_DTLS_NO_SESSION' });
  });
});
