import { DecodeError } from '@lwm2m/core';

export const HandshakeType = {
  helloRequest: 0,
  clientHello: 1,
  serverHello: 2,
  helloVerifyRequest: 3,
  certificate: 11,
  serverKeyExchange: 12,
  certificateRequest: 13,
  serverHelloDone: 14,
  certificateVerify: 15,
  clientKeyExchange: 16,
  finished: 20,
} as const;

export const ExtensionType = {
  supportedGroups: 0x000a,
  ecPointFormats: 0x000b,
  signatureAlgorithms: 0x000d,
  clientCertificateType: 0x0013,
  serverCertificateType: 0x0014,
  /** RFC 9146 (the value the RFC assigns; drafts used 53). */
  connectionId: 0x0036,
  extendedMasterSecret: 0x0017,
  renegotiationInfo: 0xff01,
} as const;

/** TLS_EMPTY_RENEGOTIATION_INFO_SCSV (RFC 5746 §3.3): same meaning as an empty renegotiation_info. */
export const EMPTY_RENEGOTIATION_INFO_SCSV = 0x00ff;
export const HANDSHAKE_HEADER_LENGTH = 12;
/** A handshake message longer than this is refused before any buffer is allocated for it. */
export const MAX_HANDSHAKE_MESSAGE_LENGTH = 16384;

/** One handshake fragment (RFC 6347 §4.2.2); `body` is a view into the record. */
export interface HandshakeFragment {
  readonly msgType: number;
  readonly length: number;
  readonly messageSeq: number;
  readonly fragmentOffset: number;
  readonly body: Uint8Array;
}

export interface Extension {
  readonly type: number;
  readonly data: Uint8Array;
}

export interface ClientHello {
  readonly version: number;
  readonly random: Uint8Array;
  readonly sessionId: Uint8Array;
  readonly cookie: Uint8Array;
  readonly cipherSuites: readonly number[];
  readonly compressionMethods: Uint8Array;
  readonly extensions: readonly Extension[];
}

export interface ServerHello {
  readonly version: number;
  readonly random: Uint8Array;
  readonly sessionId: Uint8Array;
  readonly cipherSuite: number;
  readonly compressionMethod: number;
  readonly extensions: readonly Extension[];
}

export interface HelloVerifyRequest {
  readonly version: number;
  readonly cookie: Uint8Array;
}

/** Bounds-checked reader; every overrun is a DecodeError. */
class Reader {
  private at = 0;
  constructor(private readonly data: Uint8Array) {}

  get remaining(): number {
    return this.data.length - this.at;
  }

  u8(): number {
    if (this.at + 1 > this.data.length)
      throw new DecodeError('truncated handshake message', { offset: this.at });
    return this.data[this.at++]!;
  }

  u16(): number {
    return (this.u8() << 8) | this.u8();
  }

  u24(): number {
    return (this.u8() << 16) | (this.u8() << 8) | this.u8();
  }

  bytes(n: number): Uint8Array {
    if (this.at + n > this.data.length)
      throw new DecodeError('truncated handshake message', { offset: this.at });
    const view = this.data.subarray(this.at, this.at + n);
    this.at += n;
    return view;
  }

  vector8(max: number): Uint8Array {
    const n = this.u8();
    if (n > max) throw new DecodeError(`vector of ${n} bytes exceeds ${max}`, { offset: this.at });
    return this.bytes(n);
  }

  vector16(): Uint8Array {
    return this.bytes(this.u16());
  }

  vector24(): Uint8Array {
    return this.bytes(this.u24());
  }

  end(): void {
    if (this.at !== this.data.length)
      throw new DecodeError('trailing bytes in handshake message', { offset: this.at });
  }
}

/** Splits a handshake record's plaintext into fragments (a record may carry several). */
export function parseHandshakeFragments(plaintext: Uint8Array): HandshakeFragment[] {
  const r = new Reader(plaintext);
  const out: HandshakeFragment[] = [];
  while (r.remaining > 0) {
    const msgType = r.u8();
    const length = r.u24();
    const messageSeq = r.u16();
    const fragmentOffset = r.u24();
    const fragmentLength = r.u24();
    if (length > MAX_HANDSHAKE_MESSAGE_LENGTH)
      throw new DecodeError(`handshake message of ${length} bytes is too long`);
    if (fragmentOffset + fragmentLength > length)
      throw new DecodeError('handshake fragment beyond message end');
    out.push({ msgType, length, messageSeq, fragmentOffset, body: r.bytes(fragmentLength) });
  }
  return out;
}

/** The 12-byte header plus a fragment of `body`; with the defaults, the whole message unfragmented. */
export function encodeHandshake(
  msgType: number,
  messageSeq: number,
  body: Uint8Array,
  fragmentOffset = 0,
  fragmentLength = body.length - fragmentOffset,
): Uint8Array {
  const out = Buffer.allocUnsafe(HANDSHAKE_HEADER_LENGTH + fragmentLength);
  out[0] = msgType;
  out.writeUIntBE(body.length, 1, 3);
  out.writeUInt16BE(messageSeq, 4);
  out.writeUIntBE(fragmentOffset, 6, 3);
  out.writeUIntBE(fragmentLength, 9, 3);
  out.set(body.subarray(fragmentOffset, fragmentOffset + fragmentLength), HANDSHAKE_HEADER_LENGTH);
  return out;
}

function parseExtensions(r: Reader): Extension[] {
  const extensions: Extension[] = [];
  if (r.remaining === 0) return extensions; // the extensions block is optional
  const block = new Reader(r.vector16());
  while (block.remaining > 0) {
    const type = block.u16();
    extensions.push({ type, data: block.vector16() });
  }
  return extensions;
}

function encodeExtensions(extensions: readonly Extension[]): Buffer {
  if (extensions.length === 0) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  for (const e of extensions) parts.push(u16(e.type), u16(e.data.length), Buffer.from(e.data));
  const body = Buffer.concat(parts);
  return Buffer.concat([u16(body.length), body]);
}

function u16(n: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeUInt16BE(n, 0);
  return b;
}

function u24(n: number): Buffer {
  const b = Buffer.allocUnsafe(3);
  b.writeUIntBE(n, 0, 3);
  return b;
}

function u8(n: number): Buffer {
  return Buffer.of(n);
}

export function parseClientHello(body: Uint8Array): ClientHello {
  const r = new Reader(body);
  const version = r.u16();
  const random = r.bytes(32);
  const sessionId = r.vector8(32);
  const cookie = r.vector8(255);
  const suites = r.vector16();
  if (suites.length < 2 || suites.length % 2 !== 0) throw new DecodeError('bad cipher_suites length');
  const cipherSuites: number[] = [];
  for (let i = 0; i < suites.length; i += 2) cipherSuites.push((suites[i]! << 8) | suites[i + 1]!);
  const compressionMethods = r.vector8(255);
  if (compressionMethods.length < 1) throw new DecodeError('empty compression_methods');
  const extensions = parseExtensions(r);
  r.end();
  return { version, random, sessionId, cookie, cipherSuites, compressionMethods, extensions };
}

export function encodeClientHello(m: ClientHello): Uint8Array {
  const suites = Buffer.allocUnsafe(m.cipherSuites.length * 2);
  m.cipherSuites.forEach((s, i) => suites.writeUInt16BE(s, i * 2));
  return Buffer.concat([
    u16(m.version),
    Buffer.from(m.random),
    u8(m.sessionId.length),
    Buffer.from(m.sessionId),
    u8(m.cookie.length),
    Buffer.from(m.cookie),
    u16(suites.length),
    suites,
    u8(m.compressionMethods.length),
    Buffer.from(m.compressionMethods),
    encodeExtensions(m.extensions),
  ]);
}

export function parseServerHello(body: Uint8Array): ServerHello {
  const r = new Reader(body);
  const version = r.u16();
  const random = r.bytes(32);
  const sessionId = r.vector8(32);
  const cipherSuite = r.u16();
  const compressionMethod = r.u8();
  const extensions = parseExtensions(r);
  r.end();
  return { version, random, sessionId, cipherSuite, compressionMethod, extensions };
}

export function encodeServerHello(m: ServerHello): Uint8Array {
  return Buffer.concat([
    u16(m.version),
    Buffer.from(m.random),
    u8(m.sessionId.length),
    Buffer.from(m.sessionId),
    u16(m.cipherSuite),
    u8(m.compressionMethod),
    encodeExtensions(m.extensions),
  ]);
}

export function parseHelloVerifyRequest(body: Uint8Array): HelloVerifyRequest {
  const r = new Reader(body);
  const version = r.u16();
  const cookie = r.vector8(255);
  r.end();
  return { version, cookie };
}

export function encodeHelloVerifyRequest(m: HelloVerifyRequest): Uint8Array {
  return Buffer.concat([u16(m.version), u8(m.cookie.length), Buffer.from(m.cookie)]);
}

/**
 * The PSK ServerKeyExchange (identity hint) and ClientKeyExchange (identity) bodies are both one
 * opaque<0..2^16-1> (RFC 4279 §2).
 */
export function parsePskIdentity(body: Uint8Array): Uint8Array {
  const r = new Reader(body);
  const identity = r.vector16();
  r.end();
  return identity;
}

export function encodePskIdentity(identity: Uint8Array): Uint8Array {
  return Buffer.concat([u16(identity.length), Buffer.from(identity)]);
}

export function findExtension(extensions: readonly Extension[], type: number): Extension | undefined {
  return extensions.find((e) => e.type === type);
}

/** Alert body: level + description. */
export function parseAlert(plaintext: Uint8Array): { level: number; description: number } | undefined {
  if (plaintext.length !== 2) return undefined;
  return { level: plaintext[0]!, description: plaintext[1]! };
}

// ---- ECDHE-ECDSA (RFC 8422, RFC 5246 §7.4) and raw public keys (RFC 7250) ----------------------

/** ECCurveType named_curve (RFC 8422 §5.4). */
export const CURVE_TYPE_NAMED = 3;
/** ClientCertificateType ecdsa_sign (RFC 8422 §5.5). */
export const CERTIFICATE_TYPE_ECDSA_SIGN = 64;
/** Certificate types of RFC 7250 §3 (the TLS Certificate Types registry). */
export const CertificateType = { x509: 0, rawPublicKey: 2 } as const;
export type CertificateTypeId = (typeof CertificateType)[keyof typeof CertificateType];

/** A signature with its SignatureAndHashAlgorithm (RFC 5246 §4.7 digitally-signed). */
export interface DigitallySigned {
  readonly scheme: number;
  readonly signature: Uint8Array;
}

export interface EcdheServerKeyExchange {
  readonly curveType: number;
  readonly namedCurve: number;
  readonly point: Uint8Array;
  /** The ServerECDHParams bytes as received: what the signature covers, after the two randoms. */
  readonly params: Uint8Array;
  readonly signed: DigitallySigned;
}

export interface CertificateRequest {
  readonly certificateTypes: Uint8Array;
  readonly signatureSchemes: readonly number[];
  /** DistinguishedNames, DER, as sent; we neither send nor use them. */
  readonly authorities: readonly Uint8Array[];
}

/** Longest certificate chain accepted from a peer. */
export const MAX_CERTIFICATE_CHAIN = 8;

/** X.509 Certificate body: certificate_list<0..2^24-1> of ASN.1Cert<1..2^24-1>, leaf first. */
export function parseCertificateList(body: Uint8Array): Uint8Array[] {
  const r = new Reader(body);
  const list = new Reader(r.vector24());
  r.end();
  const certificates: Uint8Array[] = [];
  while (list.remaining > 0) {
    const der = list.vector24();
    if (der.length === 0) throw new DecodeError('empty certificate in chain');
    if (certificates.length >= MAX_CERTIFICATE_CHAIN) throw new DecodeError('certificate chain too long');
    certificates.push(der);
  }
  return certificates;
}

export function encodeCertificateList(certificates: readonly Uint8Array[]): Uint8Array {
  const parts: Buffer[] = [];
  for (const der of certificates) parts.push(u24(der.length), Buffer.from(der));
  const list = Buffer.concat(parts);
  return Buffer.concat([u24(list.length), list]);
}

/** Raw public key Certificate body (RFC 7250 §3): one SubjectPublicKeyInfo<1..2^24-1>. */
export function parseRawPublicKeyCertificate(body: Uint8Array): Uint8Array {
  const r = new Reader(body);
  const spki = r.vector24();
  r.end();
  return spki;
}

export const encodeRawPublicKeyCertificate = (spki: Uint8Array): Uint8Array =>
  Buffer.concat([u24(spki.length), Buffer.from(spki)]);

/** ServerECDHParams: curve_type, named_curve, point<1..255> (RFC 8422 §5.4). */
export function encodeEcdheParams(namedCurve: number, point: Uint8Array): Uint8Array {
  return Buffer.concat([u8(CURVE_TYPE_NAMED), u16(namedCurve), u8(point.length), Buffer.from(point)]);
}

export function parseEcdheServerKeyExchange(body: Uint8Array): EcdheServerKeyExchange {
  const r = new Reader(body);
  const curveType = r.u8();
  if (curveType !== CURVE_TYPE_NAMED) throw new DecodeError(`ECCurveType ${curveType} is not named_curve`);
  const namedCurve = r.u16();
  const point = r.vector8(255);
  if (point.length === 0) throw new DecodeError('empty ECDH point');
  const params = body.subarray(0, 4 + point.length);
  const signed = readDigitallySigned(r);
  r.end();
  return { curveType, namedCurve, point, params, signed };
}

export function encodeEcdheServerKeyExchange(params: Uint8Array, signed: DigitallySigned): Uint8Array {
  return Buffer.concat([Buffer.from(params), encodeDigitallySigned(signed)]);
}

/** ECDHE ClientKeyExchange: ClientECDiffieHellmanPublic, one point<1..255>. */
export function parseEcdheClientKeyExchange(body: Uint8Array): Uint8Array {
  const r = new Reader(body);
  const point = r.vector8(255);
  r.end();
  if (point.length === 0) throw new DecodeError('empty ECDH point');
  return point;
}

export const encodeEcdheClientKeyExchange = (point: Uint8Array): Uint8Array =>
  Buffer.concat([u8(point.length), Buffer.from(point)]);

function readDigitallySigned(r: Reader): DigitallySigned {
  const scheme = r.u16();
  const signature = r.vector16();
  return { scheme, signature };
}

/** CertificateVerify body: one digitally-signed struct. */
export function parseDigitallySigned(body: Uint8Array): DigitallySigned {
  const r = new Reader(body);
  const signed = readDigitallySigned(r);
  r.end();
  return signed;
}

export function encodeDigitallySigned(signed: DigitallySigned): Uint8Array {
  return Buffer.concat([u16(signed.scheme), u16(signed.signature.length), Buffer.from(signed.signature)]);
}

export function parseCertificateRequest(body: Uint8Array): CertificateRequest {
  const r = new Reader(body);
  const certificateTypes = r.vector8(255);
  const schemes = r.vector16();
  if (schemes.length % 2 !== 0) throw new DecodeError('bad supported_signature_algorithms length');
  const signatureSchemes: number[] = [];
  for (let i = 0; i < schemes.length; i += 2) signatureSchemes.push((schemes[i]! << 8) | schemes[i + 1]!);
  const names = new Reader(r.vector16());
  const authorities: Uint8Array[] = [];
  while (names.remaining > 0) authorities.push(names.vector16());
  r.end();
  return { certificateTypes, signatureSchemes, authorities };
}

export function encodeCertificateRequest(m: CertificateRequest): Uint8Array {
  const names = Buffer.concat(m.authorities.flatMap((n) => [u16(n.length), Buffer.from(n)]));
  return Buffer.concat([
    u8(m.certificateTypes.length),
    Buffer.from(m.certificateTypes),
    encodeU16List(m.signatureSchemes),
    u16(names.length),
    names,
  ]);
}

/** A vector<2..2^16-2> of uint16 (supported_groups, signature_algorithms). */
export function encodeU16List(values: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(2 + 2 * values.length);
  out.writeUInt16BE(2 * values.length, 0);
  values.forEach((v, i) => out.writeUInt16BE(v, 2 + 2 * i));
  return out;
}

export function parseU16List(data: Uint8Array): number[] {
  const r = new Reader(data);
  const list = r.vector16();
  r.end();
  if (list.length % 2 !== 0) throw new DecodeError('odd length in a list of uint16');
  const out: number[] = [];
  for (let i = 0; i < list.length; i += 2) out.push((list[i]! << 8) | list[i + 1]!);
  return out;
}

/** A vector<1..2^8-1> of uint8 (ec_point_formats, client's certificate type lists). */
export function encodeU8List(values: readonly number[]): Buffer {
  return Buffer.from([values.length, ...values]);
}

export function parseU8List(data: Uint8Array): Uint8Array {
  const r = new Reader(data);
  const list = r.vector8(255);
  r.end();
  return list;
}

/** connection_id extension body (RFC 9146 §3): opaque cid<0..2^8-1>. */
export function parseConnectionIdExtension(data: Uint8Array): Uint8Array {
  return parseU8List(data);
}

export function encodeConnectionIdExtension(cid: Uint8Array): Uint8Array {
  return Buffer.concat([u8(cid.length), Buffer.from(cid)]);
}
