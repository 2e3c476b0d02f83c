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
        identity: 'id1',
        key: Buffer.from('k'),
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
