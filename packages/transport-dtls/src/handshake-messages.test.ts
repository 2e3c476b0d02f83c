import { DecodeError } from '@lwm2m/core';
import {
  EMPTY_RENEGOTIATION_INFO_SCSV,
  encodeClientHello,
  encodeHandshake,
  encodeHelloVerifyRequest,
  encodePskIdentity,
  encodeServerHello,
  ExtensionType,
  findExtension,
  HandshakeType,
  parseClientHello,
  parseHandshakeFragments,
  parseHelloVerifyRequest,
  parsePskIdentity,
  parseServerHello,
} from './handshake-messages.js';
import { parseRecords } from './record.js';

// A ClientHello datagram sent by `openssl s_client -dtls1_2 -psk ... -cipher PSK-AES128-CCM8` (OpenSSL 3.0).
const OPENSSL_CLIENT_HELLO =
  '16feff00000000000000000074010000680000000000000068fefdb3dc8b092e64074e68182e392e64795c43882834868b7bb883c2dbb66abaf97200000004c0a800ff0100003a002300000016000000170000000d002a0028040305030603080708080809080a080b080408050806040105010601030303010302040205020602';

describe('handshake messages', () => {
  it('parses a real OpenSSL ClientHello', () => {
    const [record] = parseRecords(Buffer.from(OPENSSL_CLIENT_HELLO, 'hex'));
    expect(record).toMatchObject({ type: 22, version: 0xfeff, epoch: 0, seq: 0 });
    const [fragment] = parseHandshakeFragments(record!.fragment);
    expect(fragment).toMatchObject({
      msgType: HandshakeType.clientHello,
      length: 0x68,
      messageSeq: 0,
      fragmentOffset: 0,
    });
    const hello = parseClientHello(fragment!.body);
    expect(hello.version).toBe(0xfefd);
    expect(hello.sessionId.length).toBe(0);
    expect(hello.cookie.length).toBe(0);
    expect(hello.cipherSuites).toEqual([0xc0a8, EMPTY_RENEGOTIATION_INFO_SCSV]);
    expect(Array.from(hello.compressionMethods)).toEqual([0]);
    expect(hello.extensions.map((e) => e.type)).toEqual([
      0x0023,
      0x0016,
      ExtensionType.extendedMasterSecret,
      0x000d,
    ]);
    // Re-encoding yields the same bytes.
    expect(Buffer.from(encodeClientHello(hello))).toEqual(Buffer.from(fragment!.body));
  });

  it('round-trips a ClientHello with session id, cookie and our extensions', () => {
    const hello = {
      version: 0xfefd,
      random: Buffer.alloc(32, 1),
      sessionId: Buffer.alloc(32, 2),
      cookie: Buffer.alloc(32, 3),
      cipherSuites: [0xc0a8, 0x00ae],
      compressionMethods: Buffer.of(0),
      extensions: [
        { type: ExtensionType.extendedMasterSecret, data: Buffer.alloc(0) },
        { type: ExtensionType.renegotiationInfo, data: Buffer.of(0) },
      ],
    };
    const parsed = parseClientHello(encodeClientHello(hello));
    expect(Buffer.from(parsed.cookie)).toEqual(hello.cookie);
    expect(Buffer.from(parsed.sessionId)).toEqual(hello.sessionId);
    expect(parsed.cipherSuites).toEqual(hello.cipherSuites);
    expect(Buffer.from(findExtension(parsed.extensions, ExtensionType.renegotiationInfo)!.data)).toEqual(
      Buffer.of(0),
    );
  });

  it('encodes the 12-byte DTLS handshake header and fragments (RFC 6347 §4.2.2)', () => {
    const body = Buffer.from('0123456789');
    expect(Buffer.from(encodeHandshake(20, 3, body, 4, 3)).toString('hex')).toBe(
      '14' + '00000a' + '0003' + '000004' + '000003' + '343536',
    );
    const fragments = parseHandshakeFragments(
      Buffer.concat([encodeHandshake(20, 3, body, 0, 4), encodeHandshake(20, 3, body, 4, 6)]),
    );
    expect(fragments.map((f) => [f.fragmentOffset, Buffer.from(f.body).toString()])).toEqual([
      [0, '0123'],
      [4, '456789'],
    ]);
  });

  it('round-trips ServerHello, HelloVerifyRequest and PSK identities', () => {
    const sh = parseServerHello(
      encodeServerHello({
        version: 0xfefd,
        random: Buffer.alloc(32, 9),
        sessionId: Buffer.alloc(0),
        cipherSuite: 0x00ae,
        compressionMethod: 0,
        extensions: [{ type: ExtensionType.extendedMasterSecret, data: Buffer.alloc(0) }],
      }),
    );
    expect(sh.cipherSuite).toBe(0x00ae);
    expect(sh.extensions).toHaveLength(1);
    const hvr = encodeHelloVerifyRequest({ version: 0xfeff, cookie: Buffer.alloc(32, 5) });
    expect(Buffer.from(hvr).subarray(0, 3).toString('hex')).toBe('feff20');
    expect(parseHelloVerifyRequest(hvr).cookie.length).toBe(32);
    expect(Buffer.from(encodePskIdentity(Buffer.from('id1'))).toString('hex')).toBe('0003696431');
    expect(Buffer.from(parsePskIdentity(Buffer.from('0003696431', 'hex'))).toString()).toBe('id1');
  });

  it('fails with DecodeError on truncation, trailing bytes and bad lengths', () => {
    const body = Buffer.from(OPENSSL_CLIENT_HELLO, 'hex').subarray(25);
    for (let n = 0; n < body.length; n++) {
      if (n === 38 + 4 + 2) continue; // ends exactly after compression methods: a valid extension-less hello
      expect(() => parseClientHello(body.subarray(0, n))).toThrow(DecodeError);
    }
    expect(() => parseClientHello(Buffer.concat([body, Buffer.of(0)]))).toThrow(DecodeError);
    expect(() => parsePskIdentity(Buffer.from('00056964', 'hex'))).toThrow(DecodeError);
    expect(() => parseHandshakeFragments(Buffer.from('14000004000000000300000564', 'hex'))).toThrow(
      DecodeError,
    );
    // fragment_offset + fragment_length beyond length
    expect(() =>
      parseHandshakeFragments(encodeHandshake(20, 0, Buffer.alloc(4), 2, 2).fill(9, 6, 9)),
    ).toThrow(DecodeError);
  });
});
