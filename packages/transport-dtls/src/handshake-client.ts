import { randomBytes, type KeyObject } from 'node:crypto';
import type { PeerAddress, PeerIdentity } from '@lwm2m/core';
import { deriveCiphers, isSupportedCipherSuite, keyExchangeOf, type CipherSuiteId } from './cipher-suites.js';
import type { DtlsConnection, FlightItem, HandshakeRole } from './connection.js';
import type { EcdsaCredentials } from './credentials.js';
import {
  ECDSA_SECP256R1_SHA256,
  EphemeralKey,
  POINT_FORMAT_UNCOMPRESSED,
  SECP256R1,
  signEcdsa,
  verifyEcdsa,
} from './ecdhe.js';
import { AlertDescription, DtlsHandshakeError } from './errors.js';
import type { HandshakeMessage } from './fragment-assembler.js';
import {
  CERTIFICATE_TYPE_ECDSA_SIGN,
  CertificateType,
  encodeCertificateList,
  encodeClientHello,
  encodeConnectionIdExtension,
  encodeDigitallySigned,
  encodeEcdheClientKeyExchange,
  encodePskIdentity,
  encodeRawPublicKeyCertificate,
  encodeU16List,
  encodeU8List,
  ExtensionType,
  findExtension,
  HandshakeType,
  parseCertificateList,
  parseCertificateRequest,
  parseConnectionIdExtension,
  parseEcdheServerKeyExchange,
  parseHelloVerifyRequest,
  parsePskIdentity,
  parseRawPublicKeyCertificate,
  parseServerHello,
  type Extension,
} from './handshake-messages.js';
import { equalBytes, finishedVerifyData, masterSecret, pskPremaster } from './key-schedule.js';
import { parseCertificate } from './certificate-chain.js';
import { checkPeerCertificate, type PeerTrust } from './peer-trust.js';
import { DTLS_1_2 } from './record.js';
import type { ResumableSession } from './session-cache.js';

/** What the client needs for the ECDHE-ECDSA suites. */
export interface ClientEcdsaOptions {
  /** Our key and certificate chain, for when the server asks who we are; undefined: anonymous. */
  readonly credentials: EcdsaCredentials | undefined;
  /** Present our bare public key instead of a certificate when the server accepts it (RFC 7250). */
  readonly rawPublicKey: boolean;
  /** How we check the server. */
  readonly serverTrust: PeerTrust;
}

export interface ClientHandshakeOptions {
  readonly peer: PeerAddress;
  readonly psk: { readonly identity: string; readonly key: Uint8Array } | undefined;
  readonly ecdsa: ClientEcdsaOptions | undefined;
  readonly cipherSuites: readonly CipherSuiteId[];
  /** A session from an earlier connection to the same server, to try an abbreviated handshake. */
  readonly resume: ResumableSession | undefined;
  readonly requireExtendedMasterSecret: boolean;
  /** The connection id we want the server to put on its records (RFC 9146); undefined: none offered. */
  readonly connectionId: Uint8Array | undefined;
  readonly onEstablished: (
    session: ResumableSession,
    serverIdentity: PeerIdentity | undefined,
    identityHint: Uint8Array | undefined,
  ) => void;
}

type ClientState =
  'serverHello' | 'serverCertificate' | 'serverKeyExchange' | 'serverHelloDone' | 'finished' | 'done';

/** A server may legitimately ask for a cookie again (e.g. after rotating); more than this is a loop. */
const MAX_HELLO_VERIFY_REQUESTS = 4;

/**
 * The client side of the handshake (flights 1, 3 and 5 of RFC 6347 §4.2.4, or the abbreviated
 * one): PSK, or ECDHE-ECDSA with the server's certificate or raw public key checked, and ours
 * sent when the server asks.
 */
export class ClientHandshake implements HandshakeRole {
  private state: ClientState = 'serverHello';
  private readonly clientRandom: Uint8Array = randomBytes(32);
  private serverRandom: Uint8Array = new Uint8Array(0);
  private suite: CipherSuiteId | undefined;
  private sessionId: Uint8Array = new Uint8Array(0);
  private ems = false;
  private master: Uint8Array | undefined;
  private resuming = false;
  private hint: Uint8Array | undefined;
  private helloVerifyRequests = 0;
  private serverType: number = CertificateType.x509;
  private clientType: number = CertificateType.x509;
  private serverKey: KeyObject | undefined;
  private serverIdentity: PeerIdentity | undefined;
  private serverPoint: Uint8Array | undefined;
  private certificateRequested = false;
  /** The server's connection id (RFC 9146): what we put on our records; undefined: not negotiated. */
  peerConnectionId: Uint8Array | undefined;

  constructor(
    private readonly conn: DtlsConnection,
    private readonly options: ClientHandshakeOptions,
  ) {}

  /** Sends the first ClientHello (flight 1). */
  start(): void {
    this.sendClientHello(new Uint8Array(0));
  }

  /** The suites our credentials allow, in the configured order. */
  private offeredSuites(): CipherSuiteId[] {
    return this.options.cipherSuites.filter((s) =>
      keyExchangeOf(s) === 'psk' ? this.options.psk !== undefined : this.options.ecdsa !== undefined,
    );
  }

  onMessage(message: HandshakeMessage): void | Promise<void> {
    switch (message.msgType) {
      case HandshakeType.helloVerifyRequest:
        if (this.state === 'serverHello') return this.onHelloVerifyRequest(message);
        break;
      case HandshakeType.serverHello:
        if (this.state === 'serverHello') return this.onServerHello(message);
        break;
      case HandshakeType.certificate:
        if (this.state === 'serverCertificate') return this.onServerCertificate(message);
        break;
      case HandshakeType.serverKeyExchange:
        if (this.state === 'serverKeyExchange') return this.onEcdheServerKeyExchange(message);
        if (this.state === 'serverHelloDone' && !this.isEcdhe && this.hint === undefined) {
          this.hint = parsePskIdentity(message.body);
          this.conn.addToTranscript(message.msgType, message.messageSeq, message.body);
          return;
        }
        break;
      case HandshakeType.certificateRequest:
        if (this.state === 'serverHelloDone' && this.isEcdhe && !this.certificateRequested)
          return this.onCertificateRequest(message);
        break;
      case HandshakeType.serverHelloDone:
        if (this.state === 'serverHelloDone') return this.onServerHelloDone(message);
        break;
      case HandshakeType.finished:
        if (this.state === 'finished') return this.onFinished(message);
        break;
    }
    throw new DtlsHandshakeError(
      `unexpected handshake message ${message.msgType} in state ${this.state}`,
      AlertDescription.unexpectedMessage,
    );
  }

  onChangeCipherSpec(): void {
    if (this.state === 'finished' && this.conn.records.hasPendingRead) this.conn.records.activateRead();
  }

  private get isEcdhe(): boolean {
    return this.suite !== undefined && keyExchangeOf(this.suite) === 'ecdhe_ecdsa';
  }

  private sendClientHello(cookie: Uint8Array): void {
    const suites = this.offeredSuites();
    const resume = this.options.resume;
    const extensions: Extension[] = [
      { type: ExtensionType.extendedMasterSecret, data: new Uint8Array(0) },
      { type: ExtensionType.renegotiationInfo, data: Buffer.of(0) },
    ];
    const ecdsa = this.options.ecdsa;
    if (ecdsa !== undefined) {
      extensions.push(
        { type: ExtensionType.supportedGroups, data: encodeU16List([SECP256R1]) },
        { type: ExtensionType.ecPointFormats, data: encodeU8List([POINT_FORMAT_UNCOMPRESSED]) },
        { type: ExtensionType.signatureAlgorithms, data: encodeU16List([ECDSA_SECP256R1_SHA256]) },
      );
      // RFC 7250: lists only when something other than X.509 alone is on offer.
      const trust = ecdsa.serverTrust;
      if (trust.verifyRawPublicKey !== undefined) {
        const types: number[] = [CertificateType.rawPublicKey];
        if (trust.anchors.length > 0) types.push(CertificateType.x509);
        extensions.push({ type: ExtensionType.serverCertificateType, data: encodeU8List(types) });
      }
      const own = ecdsa.credentials;
      if (own !== undefined && ecdsa.rawPublicKey) {
        const types: number[] = [CertificateType.rawPublicKey];
        if (own.chain.length > 0) types.push(CertificateType.x509);
        extensions.push({ type: ExtensionType.clientCertificateType, data: encodeU8List(types) });
      }
    }
    if (this.options.connectionId !== undefined) {
      extensions.push({
        type: ExtensionType.connectionId,
        data: encodeConnectionIdExtension(this.options.connectionId),
      });
    }
    const body = encodeClientHello({
      version: DTLS_1_2,
      random: this.clientRandom,
      sessionId: resume?.sessionId ?? new Uint8Array(0),
      cookie,
      cipherSuites: suites,
      compressionMethods: Buffer.of(0),
      extensions,
    });
    // The transcript starts over with each ClientHello: HelloVerifyRequest and the cookie-less
    // ClientHello are not part of it (RFC 6347 §4.2.1).
    this.conn.resetTranscript();
    this.conn.sendFlight([this.conn.message(HandshakeType.clientHello, body)], true);
  }

  private onHelloVerifyRequest(message: HandshakeMessage): void {
    const hvr = parseHelloVerifyRequest(message.body);
    if (++this.helloVerifyRequests > MAX_HELLO_VERIFY_REQUESTS) {
      throw new DtlsHandshakeError('too many HelloVerifyRequests', AlertDescription.handshakeFailure);
    }
    this.sendClientHello(hvr.cookie);
  }

  private onServerHello(message: HandshakeMessage): void {
    const hello = parseServerHello(message.body);
    if (hello.version !== DTLS_1_2) {
      throw new DtlsHandshakeError(
        `server chose version 0x${hello.version.toString(16)}`,
        AlertDescription.protocolVersion,
      );
    }
    if (!isSupportedCipherSuite(hello.cipherSuite) || !this.offeredSuites().includes(hello.cipherSuite)) {
      throw new DtlsHandshakeError(
        'server chose a cipher suite we did not offer',
        AlertDescription.illegalParameter,
      );
    }
    if (hello.compressionMethod !== 0)
      throw new DtlsHandshakeError('server chose compression', AlertDescription.illegalParameter);
    const reneg = findExtension(hello.extensions, ExtensionType.renegotiationInfo);
    if (reneg !== undefined && !(reneg.data.length === 1 && reneg.data[0] === 0)) {
      throw new DtlsHandshakeError('bad renegotiation_info from server', AlertDescription.handshakeFailure);
    }
    this.suite = hello.cipherSuite;
    const offered = new Set<number>([ExtensionType.renegotiationInfo, ExtensionType.extendedMasterSecret]);
    if (this.isEcdhe) {
      offered.add(ExtensionType.ecPointFormats);
      offered.add(ExtensionType.serverCertificateType);
      offered.add(ExtensionType.clientCertificateType);
    }
    if (this.options.connectionId !== undefined) offered.add(ExtensionType.connectionId);
    for (const e of hello.extensions) {
      if (!offered.has(e.type)) {
        throw new DtlsHandshakeError(
          `server sent extension ${e.type} we did not offer`,
          AlertDescription.unsupportedExtension,
        );
      }
    }
    this.ems = findExtension(hello.extensions, ExtensionType.extendedMasterSecret) !== undefined;
    if (!this.ems && this.options.requireExtendedMasterSecret) {
      throw new DtlsHandshakeError(
        'server does not support extended_master_secret',
        AlertDescription.handshakeFailure,
      );
    }
    const cid = findExtension(hello.extensions, ExtensionType.connectionId);
    if (cid !== undefined) {
      this.peerConnectionId = parseConnectionIdExtension(cid.data);
      this.conn.records.readCidLength = this.options.connectionId?.length ?? 0;
    }
    this.serverType = selectedType(hello.extensions, ExtensionType.serverCertificateType);
    this.clientType = selectedType(hello.extensions, ExtensionType.clientCertificateType);
    this.serverRandom = hello.random;
    this.sessionId = hello.sessionId;
    this.conn.addToTranscript(message.msgType, message.messageSeq, message.body);

    const resume = this.options.resume;
    if (resume !== undefined && hello.sessionId.length > 0 && equalBytes(hello.sessionId, resume.sessionId)) {
      // RFC 7627 §5.3: the resumed session must have used EMS exactly as this handshake does.
      if (resume.cipherSuite !== hello.cipherSuite || resume.extendedMasterSecret !== this.ems) {
        throw new DtlsHandshakeError('resumed session parameters differ', AlertDescription.handshakeFailure);
      }
      this.resuming = true;
      this.serverIdentity = resume.peerIdentity;
      this.master = resume.masterSecret;
      this.installKeys(this.master);
      this.state = 'finished';
      return;
    }
    this.state = this.isEcdhe ? 'serverCertificate' : 'serverHelloDone';
  }

  private async onServerCertificate(message: HandshakeMessage): Promise<void> {
    const trust = this.options.ecdsa?.serverTrust;
    if (trust === undefined) throw new DtlsHandshakeError('unexpected Certificate');
    this.conn.addToTranscript(message.msgType, message.messageSeq, message.body);
    const presented =
      this.serverType === CertificateType.rawPublicKey
        ? ({ kind: 'rpk', spki: parseRawPublicKeyCertificate(message.body) } as const)
        : ({ kind: 'x509', chain: parseCertificateList(message.body).map(parseCertificate) } as const);
    const verified = await checkPeerCertificate(trust, presented, this.options.peer);
    if (this.conn.state !== 'handshake') return;
    this.serverKey = verified.key;
    this.serverIdentity = verified.identity;
    this.state = 'serverKeyExchange';
  }

  /** The server's ephemeral point, signed with the key of its certificate over both randoms. */
  private onEcdheServerKeyExchange(message: HandshakeMessage): void {
    const ske = parseEcdheServerKeyExchange(message.body);
    if (ske.namedCurve !== SECP256R1)
      throw new DtlsHandshakeError(`server chose curve ${ske.namedCurve}`, AlertDescription.illegalParameter);
    if (ske.signed.scheme !== ECDSA_SECP256R1_SHA256) {
      throw new DtlsHandshakeError(
        `ServerKeyExchange signed with scheme 0x${ske.signed.scheme.toString(16)}`,
        AlertDescription.illegalParameter,
      );
    }
    const signedData = Buffer.concat([this.clientRandom, this.serverRandom, ske.params]);
    if (this.serverKey === undefined || !verifyEcdsa(this.serverKey, signedData, ske.signed.signature)) {
      throw new DtlsHandshakeError(
        'ServerKeyExchange signature does not verify',
        AlertDescription.decryptError,
      );
    }
    this.serverPoint = ske.point;
    this.conn.addToTranscript(message.msgType, message.messageSeq, message.body);
    this.state = 'serverHelloDone';
  }

  private onCertificateRequest(message: HandshakeMessage): void {
    const request = parseCertificateRequest(message.body);
    if (!request.certificateTypes.includes(CERTIFICATE_TYPE_ECDSA_SIGN)) {
      throw new DtlsHandshakeError(
        'server accepts no ECDSA client certificate',
        AlertDescription.handshakeFailure,
      );
    }
    this.certificateRequested = true;
    this.conn.addToTranscript(message.msgType, message.messageSeq, message.body);
  }

  private onServerHelloDone(message: HandshakeMessage): void {
    if (message.body.length !== 0)
      throw new DtlsHandshakeError('ServerHelloDone has a body', AlertDescription.decodeError);
    this.conn.addToTranscript(message.msgType, message.messageSeq, message.body);
    const flight: FlightItem[] = [];
    let premaster: Uint8Array;
    let signingKey: KeyObject | undefined;
    if (this.isEcdhe) {
      const point = this.serverPoint;
      if (point === undefined)
        throw new DtlsHandshakeError('no ServerKeyExchange', AlertDescription.unexpectedMessage);
      if (this.certificateRequested) {
        const own = this.options.ecdsa?.credentials;
        let body: Uint8Array;
        if (this.clientType === CertificateType.rawPublicKey && own !== undefined) {
          body = encodeRawPublicKeyCertificate(own.spki);
          signingKey = own.key;
        } else if (own !== undefined && own.chain.length > 0) {
          body = encodeCertificateList(own.chainDer);
          signingKey = own.key;
        } else {
          body = encodeCertificateList([]); // RFC 5246 §7.4.6: no suitable certificate
        }
        flight.push(this.conn.message(HandshakeType.certificate, body));
      }
      const ephemeral = new EphemeralKey();
      premaster = ephemeral.sharedSecret(point);
      flight.push(
        this.conn.message(
          HandshakeType.clientKeyExchange,
          encodeEcdheClientKeyExchange(ephemeral.publicPoint),
        ),
      );
    } else {
      const psk = this.options.psk;
      if (psk === undefined)
        throw new DtlsHandshakeError('PSK is not configured', AlertDescription.internalError);
      premaster = pskPremaster(psk.key);
      flight.push(
        this.conn.message(
          HandshakeType.clientKeyExchange,
          encodePskIdentity(Buffer.from(psk.identity, 'utf8')),
        ),
      );
    }
    // The session hash ends with ClientKeyExchange (RFC 7627 §4), before CertificateVerify.
    const sessionHash = this.ems ? this.conn.transcriptHash() : undefined;
    this.master = masterSecret(premaster, this.clientRandom, this.serverRandom, sessionHash);
    if (signingKey !== undefined) {
      const signature = signEcdsa(signingKey, this.conn.transcriptBytes());
      flight.push(
        this.conn.message(
          HandshakeType.certificateVerify,
          encodeDigitallySigned({ scheme: ECDSA_SECP256R1_SHA256, signature }),
        ),
      );
    }
    this.installKeys(this.master);
    const finished = this.conn.message(
      HandshakeType.finished,
      finishedVerifyData(this.master, 'client', this.conn.transcriptHash()),
    );
    flight.push({ kind: 'ccs' }, finished);
    this.conn.sendFlight(flight, true);
    this.state = 'finished';
  }

  private onFinished(message: HandshakeMessage): void {
    const master = this.master;
    if (master === undefined || this.conn.records.readEpoch === 0) {
      throw new DtlsHandshakeError('Finished before ChangeCipherSpec', AlertDescription.unexpectedMessage);
    }
    const expected = finishedVerifyData(master, 'server', this.conn.transcriptHash());
    if (!equalBytes(expected, message.body))
      throw new DtlsHandshakeError('server Finished does not verify', AlertDescription.decryptError);
    this.conn.addToTranscript(message.msgType, message.messageSeq, message.body);
    if (this.resuming) {
      const verify = finishedVerifyData(master, 'client', this.conn.transcriptHash());
      this.conn.sendFlight([{ kind: 'ccs' }, this.conn.message(HandshakeType.finished, verify)], false);
    }
    this.state = 'done';
    const psk = this.options.psk;
    const ecdhe = this.isEcdhe;
    const serverIdentity: PeerIdentity | undefined = ecdhe
      ? this.serverIdentity
      : psk === undefined
        ? undefined
        : { kind: 'psk', identity: psk.identity };
    this.options.onEstablished(
      {
        sessionId: this.sessionId,
        masterSecret: master,
        cipherSuite: this.suite ?? 0,
        identity: ecdhe ? '' : (psk?.identity ?? ''),
        ...(ecdhe && this.serverIdentity !== undefined ? { peerIdentity: this.serverIdentity } : {}),
        extendedMasterSecret: this.ems,
        createdAt: Date.now(),
      },
      serverIdentity,
      this.hint,
    );
    this.conn.established();
  }

  private installKeys(master: Uint8Array): void {
    if (this.suite === undefined)
      throw new DtlsHandshakeError('no cipher suite negotiated', AlertDescription.internalError);
    const keys = deriveCiphers(this.suite, master, this.clientRandom, this.serverRandom);
    const cids =
      this.peerConnectionId === undefined
        ? undefined
        : { read: this.options.connectionId, write: this.peerConnectionId };
    this.conn.records.setPending(keys.server, keys.client, cids);
  }
}

/** The certificate type a ServerHello selected (one byte); X.509 when the extension is absent. */
function selectedType(extensions: readonly Extension[], type: number): number {
  const e = findExtension(extensions, type);
  if (e === undefined) return CertificateType.x509;
  if (e.data.length !== 1)
    throw new DtlsHandshakeError('bad certificate type extension', AlertDescription.decodeError);
  const selected = e.data[0]!;
  if (selected !== CertificateType.x509 && selected !== CertificateType.rawPublicKey)
    throw new DtlsHandshakeError(
      `certificate type ${selected} not offered`,
      AlertDescription.illegalParameter,
    );
  return selected;
}
