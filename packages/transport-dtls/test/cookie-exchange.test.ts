import { createSocket, type Socket } from 'node:dgram';
import { createDtlsServer, type DtlsServer } from '../src/dtls-server.js';
import { clientHelloDatagram } from './peers.js';
import {
  HandshakeType,
  parseHandshakeFragments,
  parseHelloVerifyRequest,
} from '../src/handshake-messages.js';
import { ContentType, DTLS_1_2, parseRecords, serializeRecord } from '../src/record.js';

async function udpSocket(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  return s;
}

function nextDatagram(socket: Socket, ms = 2000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no datagram')), ms);
    socket.once('message', (data) => {
      clearTimeout(timer);
      resolve(data);
    });
  });
}

describe('DtlsServer stateless cookie exchange', () => {
  let server: DtlsServer;
  const sockets: Socket[] = [];
  beforeEach(async () => {
    server = createDtlsServer({
      port: 0,
      address: '127.0.0.1',
      psk: { lookup: async () => Buffer.from('key') },
      maxSessions: 10,
    });
    await server.listen();
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.close();
    await server.close();
  });

  it('answers a ClientHello without cookie with a HelloVerifyRequest and allocates nothing', async () => {
    const socket = await udpSocket();
    sockets.push(socket);
    const reply = nextDatagram(socket);
    socket.send(
      clientHelloDatagram(new Uint8Array(0), Buffer.alloc(32, 1), 7),
      server.address().port,
      '127.0.0.1',
    );
    const [record] = parseRecords(await reply);
    expect(record).toMatchObject({ type: ContentType.handshake, epoch: 0, seq: 7 }); // seq echoes the ClientHello's
    const [fragment] = parseHandshakeFragments(record!.fragment);
    expect(fragment!.msgType).toBe(HandshakeType.helloVerifyRequest);
    expect(parseHelloVerifyRequest(fragment!.body).cookie).toHaveLength(32);
    expect(server.associationCount).toBe(0);
  });

  it('creates an association only for a ClientHello carrying the right cookie', async () => {
    const socket = await udpSocket();
    sockets.push(socket);
    const random = Buffer.alloc(32, 2);
    let reply = nextDatagram(socket);
    socket.send(clientHelloDatagram(new Uint8Array(0), random), server.address().port, '127.0.0.1');
    const cookie = parseHelloVerifyRequest(
      parseHandshakeFragments(parseRecords(await reply)[0]!.fragment)[0]!.body,
    ).cookie;
    // A forged cookie gets another HelloVerifyRequest, and still no state.
    reply = nextDatagram(socket);
    socket.send(clientHelloDatagram(Buffer.alloc(32, 9), random, 1, 1), server.address().port, '127.0.0.1');
    expect(parseHandshakeFragments(parseRecords(await reply)[0]!.fragment)[0]!.msgType).toBe(
      HandshakeType.helloVerifyRequest,
    );
    expect(server.associationCount).toBe(0);
    reply = nextDatagram(socket);
    socket.send(clientHelloDatagram(cookie, random, 1, 1), server.address().port, '127.0.0.1');
    const flight4 = parseRecords(await reply);
    const types = flight4.flatMap((r) =>
      parseHandshakeFragments(r.fragment).map((f) => [f.msgType, f.messageSeq]),
    );
    expect(types).toEqual([
      [HandshakeType.serverHello, 1],
      [HandshakeType.serverHelloDone, 2],
    ]);
    expect(flight4[0]!.seq).toBe(1); // continues from the ClientHello's record sequence number
    expect(server.associationCount).toBe(1);
  });

  it('keeps memory bounded under a ClientHello flood from many ports', async () => {
    const port = server.address().port;
    const flooders = await Promise.all(Array.from({ length: 20 }, () => udpSocket()));
    sockets.push(...flooders);
    const before = process.memoryUsage().heapUsed;
    for (let round = 0; round < 50; round++) {
      for (const s of flooders)
        s.send(clientHelloDatagram(new Uint8Array(0), Buffer.alloc(32, round)), port, '127.0.0.1');
      await new Promise((resolve) => setImmediate(resolve));
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.associationCount).toBe(0);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(50 * 1024 * 1024);

    // Peers that do answer the cookie still cannot grow the table past maxSessions.
    await Promise.all(
      flooders.map(async (s, i) => {
        const random = Buffer.alloc(32, 100 + i);
        const reply = nextDatagram(s);
        s.send(clientHelloDatagram(new Uint8Array(0), random), port, '127.0.0.1');
        const data = await reply; // the flood's answers were all delivered (and dropped) during the wait above
        const cookie = parseHelloVerifyRequest(
          parseHandshakeFragments(parseRecords(data)[0]!.fragment)[0]!.body,
        ).cookie;
        s.send(clientHelloDatagram(cookie, random, 1, 1), port, '127.0.0.1');
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.associationCount).toBe(10);
  });

  it('ignores garbage and non-ClientHello records from strangers', async () => {
    const socket = await udpSocket();
    sockets.push(socket);
    const replies: Buffer[] = [];
    socket.on('message', (d) => replies.push(d));
    const port = server.address().port;
    socket.send(Buffer.from('not dtls at all'), port, '127.0.0.1');
    socket.send(
      serializeRecord(ContentType.applicationData, DTLS_1_2, 1, 0, Buffer.alloc(40)),
      port,
      '127.0.0.1',
    );
    socket.send(
      serializeRecord(ContentType.handshake, DTLS_1_2, 0, 0, Buffer.alloc(30, 0xff)),
      port,
      '127.0.0.1',
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(replies).toHaveLength(0);
    expect(server.associationCount).toBe(0);
  });
});
