import { createSocket, type Socket } from 'node:dgram';
import type { DatagramMessage, Logger } from '@lwm2m/core';
import type { DtlsConnection } from '../src/connection.js';
import {
  encodeClientHello,
  encodeHandshake,
  HandshakeType,
  parseHandshakeFragments,
  parseHelloVerifyRequest,
} from '../src/handshake-messages.js';
import {
  AlertDescription,
  connectDtls,
  createDtlsServer,
  DtlsAlertError,
  type DtlsClientConnection,
  type DtlsServer,
} from '../src/index.js';
import { ContentType, DTLS_1_2, parseRecords, serializeRecord } from '../src/record.js';
import { clientHelloDatagram, delay, splitRecords, startProxy, type LossyProxy } from './peers.js';

const KEY = Buffer.from('0123456789abcdef', 'hex');

/** A logger that keeps what it was told, to see which alerts a side received. */
function recordingLogger(): Logger & { readonly entries: unknown[][] } {
  const entries: unknown[][] = [];
  const log = (...args: unknown[]): void => void entries.push(args);
  const logger = {
    entries,
    trace: log,
    debug: log,
    info: log,
    warn: log,
    error: log,
    fatal: log,
    child: () => logger,
  };
  return logger;
}

function alertsLogged(logger: { readonly entries: unknown[][] }): number[] {
  return logger.entries
    .filter((e) => e[1] === 'dtls warning alert ignored')
    .map((e) => (e[0] as { alert: number }).alert);
}

async function until(condition: () => boolean, ms = 2000): Promise<void> {
  for (const end = Date.now() + ms; !condition();) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await delay(5);
  }
}

function nextMessage(socket: DtlsServer | DtlsClientConnection): Promise<DatagramMessage> {
  return new Promise((resolve) => {
    const listener = (message: DatagramMessage): void => {
      socket.off('message', listener);
      resolve(message);
    };
    socket.on('message', listener);
  });
}

/** Internals a test reaches into to forge what a misbehaving peer would send. */
function clientConnection(client: DtlsClientConnection): DtlsConnection {
  return (client as unknown as { conn: DtlsConnection }).conn;
}

describe('a live session survives what a third party or a stray packet can do', () => {
  let server: DtlsServer | undefined;
  let proxy: LossyProxy | undefined;
  const clients: DtlsClientConnection[] = [];
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const s of sockets.splice(0)) s.close();
    await proxy?.close();
    await server?.close();
    proxy = undefined;
    server = undefined;
  });

  async function start(logger?: Logger): Promise<{ server: DtlsServer; port: number }> {
    server = createDtlsServer({
      port: 0,
      address: '127.0.0.1',
      psk: { lookup: async (identity) => (identity === 'dev1' ? KEY : undefined) },
      retransmit: { initialMs: 100 },
      ...(logger === undefined ? {} : { logger }),
    });
    await server.listen();
    return { server, port: server.address().port };
  }

  async function connect(
    port: number,
    extra: Partial<Parameters<typeof connectDtls>[0]> = {},
  ): Promise<DtlsClientConnection> {
    const client = await connectDtls({
      peer: { address: '127.0.0.1', port },
      psk: { identity: 'dev1', key: KEY },
      timeout: 5000,
      retransmit: { initialMs: 100 },
      ...extra,
    });
    clients.push(client);
    return client;
  }

  /** Data goes both ways over the session, and the server still holds exactly `associations`. */
  async function expectAlive(s: DtlsServer, client: DtlsClientConnection, text: string): Promise<void> {
    const atServer = nextMessage(s);
    await client.send(Buffer.from(text));
    const up = await atServer;
    expect(Buffer.from(up.data).toString()).toBe(text);
    expect(up.identity).toEqual({ kind: 'psk', identity: 'dev1' });
    const atClient = nextMessage(client);
    await s.send(Buffer.from(`re: ${text}`), up.peer);
    expect(Buffer.from((await atClient).data).toString()).toBe(`re: ${text}`);
  }

  it('keeps the session when a ClientHello with a valid cookie arrives from its address, until a new handshake completes', async () => {
    const { server: s, port } = await start();
    proxy = await startProxy(port);
    const client = await connect(proxy.port);
    // A third party on the path answers the cookie exchange but cannot finish the handshake.
    const toForger: Buffer[] = [];
    proxy.filter = (direction, data) => {
      const plaintextHandshake = data[0] === ContentType.handshake && data[3] === 0 && data[4] === 0;
      if (direction === 'toClient' && plaintextHandshake) {
        toForger.push(data);
        return false;
      }
      return true;
    };
    const random = Buffer.alloc(32, 7);
    proxy.injectToServer(clientHelloDatagram(new Uint8Array(0), random));
    await until(() => toForger.length === 1);
    const cookie = parseHelloVerifyRequest(
      parseHandshakeFragments(parseRecords(toForger[0]!)[0]!.fragment)[0]!.body,
    ).cookie;
    proxy.injectToServer(clientHelloDatagram(cookie, random, 1, 1));
    await until(() => toForger.length === 2); // the server answered with flight 4: a handshake is running
    expect(s.associationCount).toBe(2);
    await expectAlive(s, client, 'still here');

    // The real device reboots (same address, state lost) and completes a handshake: it takes over.
    proxy.filter = () => true;
    const rebooted = await connect(proxy.port);
    await until(() => s.associationCount === 1);
    await expectAlive(s, rebooted, 'after reboot');
  });

  it('evicts unfinished handshakes, not an established session, when the table is full', async () => {
    server = createDtlsServer({
      port: 0,
      address: '127.0.0.1',
      psk: { lookup: async () => KEY },
      maxSessions: 3,
    });
    await server.listen();
    const s = server;
    const client = await connect(s.address().port);
    // Twenty peers that answer the cookie exchange and then stop, as a flood would.
    for (let i = 0; i < 20; i++) {
      const raw = createSocket('udp4');
      sockets.push(raw);
      await new Promise<void>((resolve) => raw.bind(0, '127.0.0.1', resolve));
      const random = Buffer.alloc(32, i);
      const reply = new Promise<Buffer>((resolve) => raw.once('message', resolve));
      raw.send(clientHelloDatagram(new Uint8Array(0), random), s.address().port, '127.0.0.1');
      const cookie = parseHelloVerifyRequest(
        parseHandshakeFragments(parseRecords(await reply)[0]!.fragment)[0]!.body,
      ).cookie;
      const flight4 = new Promise<Buffer>((resolve) => raw.once('message', resolve));
      raw.send(clientHelloDatagram(cookie, random, 1, 1), s.address().port, '127.0.0.1');
      await flight4;
      expect(s.associationCount).toBeLessThanOrEqual(3);
    }
    expect(s.associationCount).toBe(3);
    await expectAlive(s, client, 'never evicted');
  });

  it('ignores a late copy of the ClientHello that started the session', async () => {
    const { server: s, port } = await start();
    proxy = await startProxy(port);
    const client = await connect(proxy.port);
    const helloWithCookie = proxy.log.filter((e) => e.direction === 'toServer')[1]!.data;
    const before = proxy.log.length;
    proxy.injectToServer(helloWithCookie);
    await delay(50);
    expect(s.associationCount).toBe(1); // no second handshake started for it
    expect(proxy.log.length).toBe(before); // and nothing was sent back
    await expectAlive(s, client, 'after the duplicate');
  });

  it('keeps the session when a new handshake from its address fails (wrong key)', async () => {
    const { server: s, port } = await start();
    proxy = await startProxy(port);
    const client = await connect(proxy.port);
    const error = await connect(proxy.port, { psk: { identity: 'dev1', key: Buffer.from('wrong') } }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DtlsAlertError);
    expect((error as DtlsAlertError).description).toBe(AlertDescription.badRecordMac);
    expect(s.associationCount).toBe(1);
    await expectAlive(s, client, 'intruder gone');
  });

  it('ignores forged plaintext alerts and records that do not authenticate', async () => {
    const { server: s, port } = await start();
    proxy = await startProxy(port);
    const client = await connect(proxy.port);
    // Epoch 0 is plaintext: after the handshake nobody may close the session through it.
    proxy.injectToServer(
      serializeRecord(ContentType.alert, DTLS_1_2, 0, 50, Buffer.of(2, AlertDescription.handshakeFailure)),
    );
    proxy.injectToServer(
      serializeRecord(ContentType.alert, DTLS_1_2, 0, 51, Buffer.of(1, AlertDescription.closeNotify)),
    );
    // Epoch 1 records with a wrong tag: bad_record_mac, dropped without an alert.
    for (let seq = 0; seq < 20; seq++) {
      proxy.injectToServer(serializeRecord(ContentType.alert, DTLS_1_2, 1, seq, Buffer.alloc(18, seq)));
      proxy.injectToServer(serializeRecord(ContentType.handshake, DTLS_1_2, 1, seq, Buffer.alloc(40, seq)));
    }
    await delay(50);
    expect(s.associationCount).toBe(1);
    expect(
      proxy.log.filter((e) => e.direction === 'toClient' && e.data[0] === ContentType.alert),
    ).toHaveLength(0);
    await expectAlive(s, client, 'unharmed');
  });

  it('completes a handshake although a forged record arrived just before the client Finished', async () => {
    const { server: s, port } = await start();
    proxy = await startProxy(port);
    proxy.filter = (direction, data, index) => {
      if (direction !== 'toServer' || index !== 2) return true;
      // Flight 5: ClientKeyExchange + ChangeCipherSpec, a forged epoch-1 record, then Finished.
      const records = splitRecords(data);
      const finished = records.at(-1)!;
      const forged = Buffer.from(finished);
      forged[forged.length - 1]! ^= 1;
      proxy!.injectToServer(Buffer.concat(records.slice(0, -1)));
      proxy!.injectToServer(forged);
      return finished;
    };
    const client = await connect(proxy.port, { retransmit: { initialMs: 5000 } });
    // ClientHello, ClientHello with cookie, Finished: nothing had to be retransmitted.
    expect(proxy.log.filter((e) => e.direction === 'toServer')).toHaveLength(3);
    await expectAlive(s, client, 'despite the forgery');
  });
});

describe('renegotiation is refused with a no_renegotiation warning and the session goes on', () => {
  let server: DtlsServer | undefined;
  let client: DtlsClientConnection | undefined;
  let socket: Socket | undefined;
  afterEach(async () => {
    await client?.close();
    socket?.close();
    await server?.close();
    client = undefined;
    socket = undefined;
    server = undefined;
  });

  async function pair(
    serverLogger: Logger,
    clientLogger: Logger,
  ): Promise<{ s: DtlsServer; c: DtlsClientConnection; socket: Socket }> {
    server = createDtlsServer({
      port: 0,
      address: '127.0.0.1',
      psk: { lookup: async () => KEY },
      logger: serverLogger,
    });
    await server.listen();
    socket = createSocket('udp4');
    const own = socket;
    await new Promise<void>((resolve) => own.bind(0, '127.0.0.1', resolve));
    client = await connectDtls({
      peer: server.address(),
      psk: { identity: 'dev1', key: KEY },
      socket,
      logger: clientLogger,
      timeout: 5000,
    });
    return { s: server, c: client, socket };
  }

  async function echo(s: DtlsServer, c: DtlsClientConnection, text: string): Promise<void> {
    const atServer = nextMessage(s);
    await c.send(Buffer.from(text));
    expect(Buffer.from((await atServer).data).toString()).toBe(text);
  }

  it('server: answers a ClientHello inside the session', async () => {
    const clientLog = recordingLogger();
    const { s, c, socket: raw } = await pair(recordingLogger(), clientLog);
    await echo(s, c, 'before');
    const hello = encodeClientHello({
      version: DTLS_1_2,
      random: Buffer.alloc(32, 3),
      sessionId: new Uint8Array(0),
      cookie: new Uint8Array(0),
      cipherSuites: [0xc0a8],
      compressionMethods: Buffer.of(0),
      extensions: [{ type: 0xff01, data: Buffer.alloc(13, 1) }],
    });
    const record = clientConnection(c).records.seal(
      ContentType.handshake,
      encodeHandshake(HandshakeType.clientHello, 0, hello),
    );
    raw.send(record, s.address().port, '127.0.0.1');
    await until(() => alertsLogged(clientLog).length > 0);
    expect(alertsLogged(clientLog)).toEqual([AlertDescription.noRenegotiation]);
    await echo(s, c, 'after');
    expect(s.associationCount).toBe(1);
  });

  it('client: answers a HelloRequest inside the session', async () => {
    const serverLog = recordingLogger();
    const { s, c } = await pair(serverLog, recordingLogger());
    await echo(s, c, 'before');
    const internals = s as unknown as { associations: Map<string, { conn: DtlsConnection }>; socket: Socket };
    const [association] = [...internals.associations.values()];
    const record = association!.conn.records.seal(
      ContentType.handshake,
      encodeHandshake(HandshakeType.helloRequest, 0, new Uint8Array(0)),
    );
    internals.socket.send(record, c.address().port, '127.0.0.1');
    await until(() => alertsLogged(serverLog).length > 0);
    expect(alertsLogged(serverLog)).toEqual([AlertDescription.noRenegotiation]);
    await echo(s, c, 'after');
  });
});
