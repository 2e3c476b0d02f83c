import { createSocket, type Socket } from 'node:dgram';
import type { DatagramMessage } from '@lwm2m/core';
import { connectDtls } from './dtls-client.js';
import { createDtlsServer, type DtlsServer } from './dtls-server.js';

const KEY = Buffer.from('0123456789abcdef', 'hex');

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `DatagramSocket.sendNow` on both ends of a DTLS association, over 127.0.0.1. */
describe('sendNow on the DTLS server and client', () => {
  let server: DtlsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(): Promise<{ server: DtlsServer; port: number }> {
    server = createDtlsServer({
      port: 0,
      address: '127.0.0.1',
      psk: { lookup: async (identity) => (identity === 'dev1' ? KEY : undefined) },
      retransmit: { initialMs: 100 },
    });
    await server.listen();
    return { server, port: server.address().port };
  }

  const connect = (port: number, socket?: Socket) =>
    connectDtls({
      peer: { address: '127.0.0.1', port },
      psk: { identity: 'dev1', key: KEY },
      timeout: 5000,
      retransmit: { initialMs: 100 },
      ...(socket === undefined ? {} : { socket }),
    });

  it('sendNow carries data both ways in order without a Promise, and drops what send would refuse', async () => {
    const { server: s, port } = await start();
    const client = await connect(port);
    const errors: Error[] = [];
    s.on('error', (error) => errors.push(error));
    client.on('error', (error) => errors.push(error));
    const atServer: DatagramMessage[] = [];
    s.on('message', (m) => atServer.push(m));
    const ups = Array.from({ length: 20 }, (_, i) => `up ${i}`);
    for (const text of ups) expect(client.sendNow(Buffer.from(text))).toBeUndefined();
    for (let i = 0; i < 100 && atServer.length < ups.length; i++) await delay(10);
    expect(atServer.map((m) => Buffer.from(m.data).toString())).toEqual(ups);
    expect(atServer[0]!.identity).toEqual({ kind: 'psk', identity: 'dev1' });

    const peer = atServer[0]!.peer;
    const atClient: string[] = [];
    client.on('message', (m) => atClient.push(Buffer.from(m.data).toString()));
    const downs = Array.from({ length: 10 }, (_, i) => `down ${i}`);
    // The peer object of the message events and an equal one made here reach the same session.
    downs.forEach((text, i) =>
      s.sendNow(Buffer.from(text), i % 2 === 0 ? peer : { address: peer.address, port: peer.port }),
    );
    for (let i = 0; i < 100 && atClient.length < downs.length; i++) await delay(10);
    expect(atClient).toEqual(downs);

    // What send() would reject is dropped: too long, another peer, no session. Nothing throws.
    expect(() => client.sendNow(Buffer.alloc(16385))).not.toThrow();
    expect(() => client.sendNow(Buffer.from('x'), { address: '127.0.0.1', port: port + 1 })).not.toThrow();
    expect(() => s.sendNow(Buffer.alloc(16385), peer)).not.toThrow();
    expect(() => s.sendNow(Buffer.from('x'), { address: '127.0.0.1', port: 9 })).not.toThrow();
    await client.close();
    for (let i = 0; i < 50 && s.associationCount > 0; i++) await delay(10);
    expect(s.associationCount).toBe(0);
    expect(() => client.sendNow(Buffer.from('late'))).not.toThrow();
    expect(() => s.sendNow(Buffer.from('late'), peer)).not.toThrow();
    await expect(s.send(Buffer.from('late'), peer)).rejects.toMatchObject({ code: 'ERR_DTLS_NO_SESSION' });
    await delay(30);
    expect(atServer).toHaveLength(ups.length);
    expect(atClient).toEqual(downs);
    expect(errors).toEqual([]);
  });

  it('sends to the peer object of a replaced session through the session that replaced it', async () => {
    const { server: s, port } = await start();
    const bind = async (localPort: number): Promise<Socket> => {
      const socket = createSocket('udp4');
      await new Promise<void>((resolve) => socket.bind(localPort, '127.0.0.1', resolve));
      return socket;
    };
    const next = (): Promise<DatagramMessage> =>
      new Promise((resolve) => {
        const listener = (m: DatagramMessage): void => {
          s.off('message', listener);
          resolve(m);
        };
        s.on('message', listener);
      });
    const first = await bind(0);
    const localPort = first.address().port;
    const old = await connect(port, first);
    const fromOld = next();
    old.sendNow(Buffer.from('old'));
    const oldPeer = (await fromOld).peer;
    await new Promise<void>((resolve) => first.close(() => resolve())); // "reboot": no close_notify
    const second = await bind(localPort);
    try {
      const client = await connect(port, second);
      const fromNew = next();
      client.sendNow(Buffer.from('new'));
      expect((await fromNew).peer).not.toBe(oldPeer);
      const atClient: string[] = [];
      client.on('message', (m) => atClient.push(Buffer.from(m.data).toString()));
      s.sendNow(Buffer.from('one'), oldPeer);
      await s.send(Buffer.from('two'), oldPeer);
      for (let i = 0; i < 100 && atClient.length < 2; i++) await delay(10);
      expect(atClient).toEqual(['one', 'two']);
      expect(s.associationCount).toBe(1);
    } finally {
      second.close();
    }
  });
  it('tells a socket failure through error when that has a listener, and never throws', async () => {
    const serverSocket = createSocket('udp4');
    await new Promise<void>((resolve) => serverSocket.bind(0, '127.0.0.1', resolve));
    server = createDtlsServer({
      socket: serverSocket,
      psk: { lookup: async () => KEY },
    });
    await server.listen();
    const s = server;
    const clientSocket = createSocket('udp4');
    await new Promise<void>((resolve) => clientSocket.bind(0, '127.0.0.1', resolve));
    const client = await connect(serverSocket.address().port, clientSocket);
    const arrived = new Promise<DatagramMessage>((resolve) => s.on('message', resolve));
    client.sendNow(Buffer.from('hello'));
    const peer = (await arrived).peer;

    // Both sockets closed under the sessions: node:dgram throws on send.
    await new Promise<void>((resolve) => clientSocket.close(() => resolve()));
    await new Promise<void>((resolve) => serverSocket.close(() => resolve()));
    expect(() => client.sendNow(Buffer.from('unheard'))).not.toThrow();
    expect(() => s.sendNow(Buffer.from('unheard'), peer)).not.toThrow();
    const errors: Error[] = [];
    client.on('error', (error) => errors.push(error));
    s.on('error', (error) => errors.push(error));
    client.sendNow(Buffer.from('lost'));
    s.sendNow(Buffer.from('lost'), peer);
    expect(errors.map((e) => (e as NodeJS.ErrnoException).code)).toEqual([
      'ERR_SOCKET_DGRAM_NOT_RUNNING',
      'ERR_SOCKET_DGRAM_NOT_RUNNING',
    ]);
    await client.close();
    server = undefined;
    // Its socket was closed under it: closing the server cannot close that socket again.
    await s.close().catch(() => undefined);
  });
});
