import { X509Certificate } from 'node:crypto';
import { createSilentLogger, isLwm2mError } from '@lwm2m/core';
import { DtlsConnection, type ConnectionHooks } from './connection.js';
import { ClientHandshake } from './handshake-client.js';
import {
  encodeHandshake,
  encodeHelloVerifyRequest,
  encodePskIdentity,
  encodeServerHello,
  HandshakeType,
  parseClientHello,
  parseHandshakeFragments,
  parseHelloVerifyRequest,
  parsePskIdentity,
  parseServerHello,
} from './handshake-messages.js';
import { ServerHandshake } from './handshake-server.js';
import { loadEcdsaCredentials } from './credentials.js';
import {
  encodeCertificateList,
  encodeCertificateRequest,
  encodeDigitallySigned,
  encodeEcdheClientKeyExchange,
  encodeEcdheParams,
  encodeEcdheServerKeyExchange,
  encodeRawPublicKeyCertificate,
  parseCertificateList,
  parseCertificateRequest,
  parseDigitallySigned,
  parseEcdheClientKeyExchange,
  parseEcdheServerKeyExchange,
  parseRawPublicKeyCertificate,
} from './handshake-messages.js';
import { createTestPki } from './test-pki.js';
import { ContentType, DTLS_1_2, parseRecords, serializeRecord } from './record.js';
import { RandomPool } from './random-pool.js';

/** Deterministic PRNG so a failure can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x100000000;
  };
}

function mutate(rand: () => number, input: Uint8Array): Uint8Array {
  const out = Buffer.from(input);
  const kind = Math.floor(rand() * 4);
  if (kind === 0) return out.subarray(0, Math.floor(rand() * out.length)); // truncate
  if (kind === 1)
    return Buffer.concat([out, Buffer.from([Math.floor(rand() * 256), Math.floor(rand() * 256)])]);
  const flips = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < flips && out.length > 0; i++)
    out[Math.floor(rand() * out.length)] = Math.floor(rand() * 256);
  return out;
}

const hooks = (): ConnectionHooks => ({
  sendDatagram: () => undefined,
  onEstablished: () => undefined,
  onApplicationData: () => undefined,
  onClosed: () => undefined,
});

const serverHello = encodeServerHello({
  version: DTLS_1_2,
  random: Buffer.alloc(32, 4),
  sessionId: Buffer.alloc(32, 5),
  cipherSuite: 0xc0a8,
  compressionMethod: 0,
  extensions: [{ type: 0x17, data: Buffer.alloc(0) }],
});
const clientHelloBody = Buffer.from(
  'fefdb3dc8b092e64074e68182e392e64795c43882834868b7bb883c2dbb66abaf97200000004c0a800ff0100003a002300000016000000170000000d002a0028040305030603080708080809080a080b080408050806040105010601030303010302040205020602',
  'hex',
);
const toClientSeeds = [
  serializeRecord(
    22,
    0xfeff,
    0,
    0,
    encodeHandshake(
      HandshakeType.helloVerifyRequest,
      0,
      encodeHelloVerifyRequest({ version: 0xfeff, cookie: Buffer.alloc(32, 1) }),
    ),
  ),
  Buffer.concat([
    serializeRecord(22, DTLS_1_2, 0, 1, encodeHandshake(HandshakeType.serverHello, 0, serverHello)),
    serializeRecord(
      22,
      DTLS_1_2,
      0,
      2,
      encodeHandshake(HandshakeType.serverKeyExchange, 1, encodePskIdentity(Buffer.from('hint'))),
    ),
    serializeRecord(22, DTLS_1_2, 0, 3, encodeHandshake(HandshakeType.serverHelloDone, 2, new Uint8Array(0))),
  ]),
  Buffer.concat([
    serializeRecord(20, DTLS_1_2, 0, 4, Buffer.of(1)),
    serializeRecord(22, DTLS_1_2, 1, 0, Buffer.alloc(40, 3)),
  ]),
  serializeRecord(21, DTLS_1_2, 0, 5, Buffer.of(2, 40)),
];
const toServerSeeds = [
  Buffer.concat([
    serializeRecord(
      22,
      DTLS_1_2,
      0,
      2,
      encodeHandshake(HandshakeType.clientKeyExchange, 2, encodePskIdentity(Buffer.from('id1'))),
    ),
    serializeRecord(20, DTLS_1_2, 0, 3, Buffer.of(1)),
    serializeRecord(22, DTLS_1_2, 1, 0, Buffer.alloc(40, 7)),
  ]),
  serializeRecord(ContentType.applicationData, DTLS_1_2, 1, 1, Buffer.alloc(30, 1)),
];

describe('fuzzing', () => {
  it('100k mutated and random inputs to the record and handshake parsers fail only with DecodeError', () => {
    const rand = prng(1);
    const seeds = [...toClientSeeds, ...toServerSeeds];
    const parsers: Record<number, (body: Uint8Array) => unknown> = {
      [HandshakeType.clientHello]: parseClientHello,
      [HandshakeType.serverHello]: parseServerHello,
      [HandshakeType.helloVerifyRequest]: parseHelloVerifyRequest,
      [HandshakeType.serverKeyExchange]: parsePskIdentity,
      [HandshakeType.clientKeyExchange]: parsePskIdentity,
    };
    const expectTyped = (fn: () => void): void => {
      try {
        fn();
      } catch (error) {
        if (!isLwm2mError(error)) throw error;
      }
    };
    const random = Buffer.allocUnsafe(80);
    for (let i = 0; i < 100_000; i++) {
      if (i % 2 === 1) {
        // Every other input is a mutated real ClientHello body, the message a stranger controls fully.
        expectTyped(() => parseClientHello(mutate(rand, clientHelloBody)));
        continue;
      }
      let input: Uint8Array;
      if (i % 8 === 0) {
        const n = Math.floor(rand() * 80);
        for (let j = 0; j < n; j++) random[j] = Math.floor(rand() * 256);
        input = random.subarray(0, n);
      } else {
        input = mutate(rand, seeds[i % seeds.length]!);
      }
      for (const record of parseRecords(input)) {
        expectTyped(() => {
          for (const f of parseHandshakeFragments(record.fragment)) {
            const parse = parsers[f.msgType];
            if (parse !== undefined) expectTyped(() => parse(f.body));
          }
        });
      }
    }
  });

  it('mutated flights never throw out of a client or server handshake', () => {
    const rand = prng(2);
    const logger = createSilentLogger();
    for (let i = 0; i < 5_000; i++) {
      const conn = new DtlsConnection(hooks(), { logger });
      const client = new ClientHandshake(conn, {
        peer: { address: '127.0.0.1', port: 1 },
        psk: { identity: 'id1', key: Buffer.from('k') },
        ecdsa: undefined,
        connectionId: undefined,
        cipherSuites: [0xc0a8, 0x00ae],
        resume: undefined,
        requireExtendedMasterSecret: false,
        onEstablished: () => undefined,
      });
      conn.role = client;
      client.start();
      for (const seed of toClientSeeds) conn.handleDatagram(rand() < 0.5 ? seed : mutate(rand, seed));
      conn.terminate(undefined);
    }
    const random = new RandomPool();
    for (let i = 0; i < 5_000; i++) {
      const conn = new DtlsConnection(hooks(), { logger, firstWriteSeq: 1 });
      const hello = parseClientHello(clientHelloBody);
      conn.role = new ServerHandshake(conn, hello, clientHelloBody, 0, {
        peer: { address: '127.0.0.1', port: 1 },
        cipherSuites: [0xc0a8],
        identityHint: undefined,
        lookupPsk: () => Promise.resolve(Buffer.from('k')),
        ecdsa: undefined,
        connectionId: undefined,
        sessions: undefined,
        random,
        requireExtendedMasterSecret: false,
        onAuthenticated: () => undefined,
      });
      for (const seed of toServerSeeds) conn.handleDatagram(rand() < 0.3 ? seed : mutate(rand, seed));
      conn.terminate(undefined);
    }
  });
});

describe('fuzzing the ECDHE-ECDSA messages', () => {
  const pki = createTestPki();
  afterAll(() => pki.remove());
  const root = pki.ca('fuzz-root');
  const leaf = pki.issue('fuzz-leaf', root);
  const credentials = loadEcdsaCredentials(leaf.keyFile, leaf.certFile);
  const point = Buffer.concat([Buffer.of(4), Buffer.alloc(64, 9)]);
  const signature = Buffer.alloc(71, 0x30);

  it('50k mutated Certificate, ServerKeyExchange, CertificateRequest, ClientKeyExchange and CertificateVerify bodies fail only with DecodeError', () => {
    const rand = prng(3);
    const seeds: Array<[(body: Uint8Array) => unknown, Uint8Array]> = [
      [parseCertificateList, encodeCertificateList([...credentials.chainDer, root.cert])],
      [parseRawPublicKeyCertificate, encodeRawPublicKeyCertificate(credentials.spki)],
      [
        parseEcdheServerKeyExchange,
        encodeEcdheServerKeyExchange(encodeEcdheParams(23, point), { scheme: 0x0403, signature }),
      ],
      [parseEcdheClientKeyExchange, encodeEcdheClientKeyExchange(point)],
      [parseDigitallySigned, encodeDigitallySigned({ scheme: 0x0403, signature })],
      [
        parseCertificateRequest,
        encodeCertificateRequest({
          certificateTypes: Buffer.of(64),
          signatureSchemes: [0x0403, 0x0401],
          authorities: [Buffer.alloc(20, 1)],
        }),
      ],
    ];
    for (let i = 0; i < 50_000; i++) {
      const [parse, seed] = seeds[i % seeds.length]!;
      try {
        parse(mutate(rand, seed));
      } catch (error) {
        if (!isLwm2mError(error)) throw error;
      }
    }
  });

  it('mutated ECDHE flights never throw out of a client or server handshake', async () => {
    const rand = prng(4);
    const logger = createSilentLogger();
    const random = new RandomPool();
    const anchors = [new X509Certificate(root.cert)];
    const serverOptions = {
      peer: { address: '127.0.0.1', port: 1 },
      cipherSuites: [0xc0ae] as const,
      identityHint: undefined,
      lookupPsk: undefined,
      ecdsa: {
        credentials,
        rawPublicKey: false,
        clientTrust: { anchors, verifyRawPublicKey: undefined, serverName: undefined },
        requireClientCertificate: true,
      },
      connectionId: undefined,
      sessions: undefined,
      random,
      requireExtendedMasterSecret: false,
      onAuthenticated: () => undefined,
    };
    const flight5: Uint8Array[] = [];
    const clientConn = new DtlsConnection({ ...hooks(), sendDatagram: (d) => flight5.push(d) }, { logger });
    const client = new ClientHandshake(clientConn, {
      peer: { address: '127.0.0.1', port: 1 },
      psk: undefined,
      ecdsa: {
        credentials,
        rawPublicKey: false,
        serverTrust: { anchors, verifyRawPublicKey: undefined, serverName: undefined },
      },
      connectionId: undefined,
      cipherSuites: [0xc0ae],
      resume: undefined,
      requireExtendedMasterSecret: false,
      onEstablished: () => undefined,
    });
    clientConn.role = client;
    client.start();
    const hello = parseRecords(flight5[0]!)[0]!.fragment.subarray(12);
    // One real exchange gives flight 4 (server) and flight 5 (client) to mutate.
    const flight4: Uint8Array[] = [];
    const serverConn = new DtlsConnection(
      { ...hooks(), sendDatagram: (d) => flight4.push(d) },
      { logger, firstWriteSeq: 1 },
    );
    serverConn.role = new ServerHandshake(serverConn, parseClientHello(hello), hello, 0, {
      ...serverOptions,
      cipherSuites: [0xc0ae],
    });
    for (const d of flight4) clientConn.handleDatagram(d);
    await new Promise((resolve) => setImmediate(resolve));
    expect(flight5.length).toBeGreaterThan(1); // ClientHello, then Certificate..Finished
    const clientFlight = flight5.slice(1);
    serverConn.terminate(undefined);
    clientConn.terminate(undefined);

    for (let i = 0; i < 1_000; i++) {
      const c = new DtlsConnection(hooks(), { logger });
      const h = new ClientHandshake(c, {
        peer: { address: '127.0.0.1', port: 1 },
        psk: undefined,
        ecdsa: {
          credentials,
          rawPublicKey: false,
          serverTrust: { anchors, verifyRawPublicKey: undefined, serverName: undefined },
        },
        connectionId: undefined,
        cipherSuites: [0xc0ae],
        resume: undefined,
        requireExtendedMasterSecret: false,
        onEstablished: () => undefined,
      });
      c.role = h;
      h.start();
      for (const d of flight4) c.handleDatagram(rand() < 0.3 ? d : mutate(rand, d));
      const s = new DtlsConnection(hooks(), { logger, firstWriteSeq: 1 });
      try {
        s.role = new ServerHandshake(s, parseClientHello(hello), hello, 0, {
          ...serverOptions,
          cipherSuites: [0xc0ae],
        });
      } catch (error) {
        if (!isLwm2mError(error)) throw error;
      }
      for (const d of clientFlight) s.handleDatagram(rand() < 0.3 ? d : mutate(rand, d));
      // Certificate checks are asynchronous: let them settle before the next round.
      await new Promise((resolve) => setImmediate(resolve));
      c.terminate(undefined);
      s.terminate(undefined);
    }
  });
});
