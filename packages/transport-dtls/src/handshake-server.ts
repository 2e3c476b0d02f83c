import type { KeyObject } from 'node:crypto';
import type { PeerAddress, PeerIdentity } from '@lwm2m/core';
import { parseCertificate } from './certificate-chain.js';
import { checkPeerCertificate, type PeerTrust } from './peer-trust.js';
import { deriveCiphers, keyExchangeOf, type CipherSuiteId } from './cipher-suites.js';
import type { DtlsConnection, HandshakeRole } from './connection.js';
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
  EMPTY_RENEGOTIATION_INFO_SCSV,
  encodeCertificateList,
  encodeCertificateRequest,
  encodeConnectionIdExtension,
  encodeEcdheParams,
  encodeEcdheServerKeyExchange,
  encodePskIdentity,
  encodeRawPublicKeyCertificate,
  encodeServerHello,
  encodeU8List,
  ExtensionType,
  findExtension,
  HandshakeType,
  parseCertificateList,
  parseConnectionIdExtension,
  parseDigitallySigned,
  parseEcdheClientKeyExchange,
  parsePskIdentity,
  parseRawPublicKeyCertificate,
  parseU16List,
  parseU8List,
  type CertificateTypeId,
  type ClientHello,
  type Extension,
} from './handshake-messages.js';
import { equalBytes, finishedVerifyData, masterSecret, pskPremaster } from './key-schedule.js';
import type { RandomPool } from './random-pool.js';
import { DTLS_1_2 } from './record.js';
import type { ResumableSession, SessionCache } from './session-cache.js';

/** Longest PSK identity accepted (RFC 4279 §5.3 says at least 128 must be supported). */
export const MAX_PSK_IDENTITY_LENGTH = 128;

/** How the server authenticates itself and its clients on the ECDHE-ECDSA suites. */
export interface ServerEcdsaOptions {
  readonly credentials: EcdsaCredentials;
  /** Offer our bare public key when the client accepts one (RFC 7250). */
  readonly rawPublicKey: boolean;
  /** Ask clients for a certificate or raw key, checked with this; undefined: no client authentication. */
  readonly clientTrust: PeerTrust | undefined;
  /** Refuse a client that sends no certificate when asked. */
  readonly requireClientCertificate: boolean;
}

export interface ServerHandshakeOptions {
  readonly peer: PeerAddress;
  readonly cipherSuites: readonly CipherSuiteId[];
  readonly identityHint: Uint8Array | undefined;
  readonly lookupPsk: ((identity: string, peer: PeerAddress) => Promise<Uint8Array | undefined>) | undefined;
  readonly ecdsa: ServerEcdsaOptions | undefined;
  readonly sessions: SessionCache | undefined;
  readonly random: RandomPool;
  readonly requireExtendedMasterSecret: boolean;
  /** The connection id we want the client to put on its records (RFC 9146); undefined: none. */
  readonly connectionId: Uint8Array | undefined;
  /** Called once the client proved who it is; undefined for an anonymous ECDHE client. */
  readonly onAuthenticated: (identity: PeerIdentity | undefined) => void;
}

type ServerState = 'clientCertificate' | 'clientKeyExchange' | 'certificateVerify' | 'finished' | 'done';

/** What the ClientHello allows for the ECDHE-ECDSA suites, or why not. */
interface EcdheChoice {
  readonly serverType: CertificateTypeId;
  /** The certificate type the client is asked for; undefined: no CertificateRequest. */
  readonly clientType: CertificateTypeId | undefined;
  /** Whether the client sent the certificate type extensions, so the ServerHello answers them. */
  readonly answerServerType: boolean;
  readonly answerClientType: boolean;
}

/**
 * The server side of the handshake, started by a ClientHello whose cookie was verified (flights
 * 4 and 6 of RFC 6347 §4.2.4, or the abbreviated handshake when the session resumes): PSK, or
 * ECDHE-ECDSA with a certificate chain or a raw public key on either side.
 */
export class ServerHandshake implements HandshakeRole {
  private state: ServerState = 'clientKeyExchange';
  private readonly clientRandom: Uint8Array;
  private readonly serverRandom: Uint8Array;
  private readonly suite: CipherSuiteId;
  private readonly ems: boolean;
  private readonly sessionId: Uint8Array;
  private master: Uint8Array | undefined;
  private identity: PeerIdentity | undefined;
  private pskIdentity = '';
  private readonly resumed: ResumableSession | undefined;
  private readonly ecdhe: EcdheChoice | undefined;
  private ephemeral: EphemeralKey | undefined;
  private clientKey: KeyObject | undefined;
  /** The client's connection id (RFC 9146): what we put on our records; undefined: not negotiated. */
  readonly peerConnectionId: Uint8Array | undefined;

  constructor(
    private readonly conn: DtlsConnection,
    hello: ClientHello,
    helloBody: Uint8Array,
    helloSeq: number,
    private readonly options: ServerHandshakeOptions,
  ) {
    this.clientRandom = hello.random;
    this.serverRandom = options.random.bytes(32);
    if (hello.version !== DTLS_1_2) {
      throw new DtlsHandshakeError(
        `client offers DTLS version 0x${hello.version.toString(16)}, only 1.2 is supported`,
        AlertDescription.protocolVersion,
      );
    }
    const ecdhe = this.negotiateEcdhe(hello);
    const suite = options.cipherSuites.find(
      (s) =>
        hello.cipherSuites.includes(s) &&
        (keyExchangeOf(s) === 'psk' ? options.lookupPsk !== undefined : ecdhe !== undefined),
    );
    if (suite === undefined)
      throw new DtlsHandshakeError('no cipher suite in common', AlertDescription.handshakeFailure);
    if (!hello.compressionMethods.includes(0))
      throw new DtlsHandshakeError(
        'client does not offer null compression',
        AlertDescription.illegalParameter,
      );
    this.ems = findExtension(hello.extensions, ExtensionType.extendedMasterSecret) !== undefined;
    if (!this.ems && options.requireExtendedMasterSecret) {
      throw new DtlsHandshakeError(
        'client does not offer extended_master_secret',
        AlertDescription.handshakeFailure,
      );
    }
    const reneg = findExtension(hello.extensions, ExtensionType.renegotiationInfo);
    if (reneg !== undefined && !(reneg.data.length === 1 && reneg.data[0] === 0)) {
      throw new DtlsHandshakeError(
        'renegotiation_info must be empty on an initial handshake',
        AlertDescription.handshakeFailure,
      );
    }
    const secureRenegotiation =
      reneg !== undefined || hello.cipherSuites.includes(EMPTY_RENEGOTIATION_INFO_SCSV);
    const cidExtension = findExtension(hello.extensions, ExtensionType.connectionId);
    this.peerConnectionId =
      cidExtension !== undefined && options.connectionId !== undefined
        ? parseConnectionIdExtension(cidExtension.data)
        : undefined;

    if (this.peerConnectionId !== undefined) conn.records.readCidLength = options.connectionId?.length ?? 0;

    // Resume only when everything still matches; otherwise fall back to a full handshake.
    const cached = hello.sessionId.length > 0 ? options.sessions?.get(hello.sessionId) : undefined;
    this.resumed =
      cached !== undefined &&
      hello.cipherSuites.includes(cached.cipherSuite) &&
      options.cipherSuites.includes(cached.cipherSuite as CipherSuiteId) &&
      cached.extendedMasterSecret === this.ems
        ? cached
        : undefined;
    this.suite = (this.resumed?.cipherSuite as CipherSuiteId | undefined) ?? suite;
    this.ecdhe = keyExchangeOf(this.suite) === 'ecdhe_ecdsa' ? ecdhe : undefined;
    this.sessionId =
      this.resumed?.sessionId ??
      (options.sessions !== undefined ? options.random.bytes(32) : new Uint8Array(0));

    // The ClientHello with the cookie starts the transcript; our message_seq follows its own.
    conn.resetTranscript();
    conn.addToTranscript(HandshakeType.clientHello, helloSeq, helloBody);
    conn.nextSendSeq = helloSeq;
    conn.assembler.reset(helloSeq + 1);

    const extensions: Extension[] = [];
    if (secureRenegotiation) extensions.push({ type: ExtensionType.renegotiationInfo, data: Buffer.of(0) });
    if (this.ems) extensions.push({ type: ExtensionType.extendedMasterSecret, data: new Uint8Array(0) });
    if (this.peerConnectionId !== undefined && options.connectionId !== undefined) {
      extensions.push({
        type: ExtensionType.connectionId,
        data: encodeConnectionIdExtension(options.connectionId),
      });
    }
    const choice = this.resumed === undefined ? this.ecdhe : undefined;
    if (choice !== undefined) {
      if (findExtension(hello.extensions, ExtensionType.ecPointFormats) !== undefined) {
        extensions.push({
          type: ExtensionType.ecPointFormats,
          data: encodeU8List([POINT_FORMAT_UNCOMPRESSED]),
        });
      }
      if (choice.answerServerType)
        extensions.push({ type: ExtensionType.serverCertificateType, data: Buffer.of(choice.serverType) });
      if (choice.answerClientType && choice.clientType !== undefined)
        extensions.push({ type: ExtensionType.clientCertificateType, data: Buffer.of(choice.clientType) });
    }
    const serverHello = conn.message(
      HandshakeType.serverHello,
      encodeServerHello({
        version: DTLS_1_2,
        random: this.serverRandom,
        sessionId: this.sessionId,
        cipherSuite: this.suite,
        compressionMethod: 0,
        extensions,
      }),
    );

    if (this.resumed !== undefined) {
      this.pskIdentity = this.resumed.identity;
      this.identity = this.resumed.peerIdentity ?? { kind: 'psk', identity: this.resumed.identity };
      this.master = this.resumed.masterSecret;
      this.installKeys(this.master);
      const verify = finishedVerifyData(this.master, 'server', conn.transcriptHash());
      const finished = conn.message(HandshakeType.finished, verify);
      conn.sendFlight([serverHello, { kind: 'ccs' }, finished], true);
      this.state = 'finished';
      return;
    }
    const flight = [serverHello];
    if (choice !== undefined && options.ecdsa !== undefined) {
      flight.push(...this.ecdheServerMessages(choice, options.ecdsa));
    } else if (options.identityHint !== undefined) {
      flight.push(conn.message(HandshakeType.serverKeyExchange, encodePskIdentity(options.identityHint)));
    }
    flight.push(conn.message(HandshakeType.serverHelloDone, new Uint8Array(0)));
    conn.sendFlight(flight, true);
  }

  get resumedSession(): boolean {
    return this.resumed !== undefined;
  }

  onMessage(message: HandshakeMessage): void | Promise<void> {
    const type = message.msgType;
    if (this.state === 'clientCertificate' && type === HandshakeType.certificate)
      return this.onClientCertificate(message);
    if (this.state === 'clientKeyExchange' && type === HandshakeType.clientKeyExchange) {
      return this.ecdhe !== undefined ? this.onEcdheKeyExchange(message) : this.onPskKeyExchange(message);
    }
    if (this.state === 'certificateVerify' && type === HandshakeType.certificateVerify) {
      this.onCertificateVerify(message);
      return;
    }
    if (this.state === 'finished' && type === HandshakeType.finished) {
      this.onFinished(message);
      return;
    }
    throw new DtlsHandshakeError(
      `unexpected handshake message ${type} in state ${this.state}`,
      AlertDescription.unexpectedMessage,
    );
  }

  onChangeCipherSpec(): void {
    // Only meaningful once keys exist; an early CCS is ignored like a reordered record.
    if (this.state === 'finished' && this.conn.records.hasPendingRead) this.conn.records.activateRead();
  }

  /**
   * Whether the ECDHE-ECDSA suites can serve this ClientHello: we have a key, the client takes
   * secp256r1, uncompressed points and ECDSA-SHA256, and a certificate type both sides know.
   */
  private negotiateEcdhe(hello: ClientHello): EcdheChoice | undefined {
    const ecdsa = this.options.ecdsa;
    if (ecdsa === undefined) return undefined;
    const groups = findExtension(hello.extensions, ExtensionType.supportedGroups);
    if (groups !== undefined && !parseU16List(groups.data).includes(SECP256R1)) return undefined;
    const formats = findExtension(hello.extensions, ExtensionType.ecPointFormats);
    if (formats !== undefined && !parseU8List(formats.data).includes(POINT_FORMAT_UNCOMPRESSED))
      return undefined;
    const algorithms = findExtension(hello.extensions, ExtensionType.signatureAlgorithms);
    if (algorithms !== undefined && !parseU16List(algorithms.data).includes(ECDSA_SECP256R1_SHA256))
      return undefined;

    // RFC 7250 §4.2: each list is what the client can process (server type) or send (client type).
    const serverTypes = findExtension(hello.extensions, ExtensionType.serverCertificateType);
    const offered = serverTypes === undefined ? [CertificateType.x509] : [...parseU8List(serverTypes.data)];
    const serverType: CertificateTypeId | undefined =
      ecdsa.rawPublicKey && offered.includes(CertificateType.rawPublicKey)
        ? CertificateType.rawPublicKey
        : ecdsa.credentials.chain.length > 0 && offered.includes(CertificateType.x509)
          ? CertificateType.x509
          : undefined;
    if (serverType === undefined) return undefined;

    let clientType: CertificateTypeId | undefined;
    const trust = ecdsa.clientTrust;
    if (trust !== undefined) {
      const clientTypes = findExtension(hello.extensions, ExtensionType.clientCertificateType);
      const sendable =
        clientTypes === undefined ? [CertificateType.x509] : [...parseU8List(clientTypes.data)];
      if (trust.verifyRawPublicKey !== undefined && sendable.includes(CertificateType.rawPublicKey))
        clientType = CertificateType.rawPublicKey;
      else if (trust.anchors.length > 0 && sendable.includes(CertificateType.x509))
        clientType = CertificateType.x509;
      else if (ecdsa.requireClientCertificate) return undefined;
    }
    return {
      serverType,
      clientType,
      answerServerType: serverTypes !== undefined,
      answerClientType: findExtension(hello.extensions, ExtensionType.clientCertificateType) !== undefined,
    };
  }

  /** Certificate, signed ServerKeyExchange and (for client authentication) CertificateRequest. */
  private ecdheServerMessages(choice: EcdheChoice, ecdsa: ServerEcdsaOptions) {
    const credentials = ecdsa.credentials;
    const certificate =
      choice.serverType === CertificateType.rawPublicKey
        ? encodeRawPublicKeyCertificate(credentials.spki)
        : encodeCertificateList(credentials.chainDer);
    const ephemeral = new EphemeralKey();
    this.ephemeral = ephemeral;
    const params = encodeEcdheParams(SECP256R1, ephemeral.publicPoint);
    const signature = signEcdsa(
      credentials.key,
      Buffer.concat([this.clientRandom, this.serverRandom, params]),
    );
    const items = [
      this.conn.message(HandshakeType.certificate, certificate),
      this.conn.message(
        HandshakeType.serverKeyExchange,
        encodeEcdheServerKeyExchange(params, { scheme: ECDSA_SECP256R1_SHA256, signature }),
      ),
    ];
    if (choice.clientType !== undefined) {
      items.push(
        this.conn.message(
          HandshakeType.certificateRequest,
          encodeCertificateRequest({
            certificateTypes: Buffer.of(CERTIFICATE_TYPE_ECDSA_SIGN),
            signatureSchemes: [ECDSA_SECP256R1_SHA256],
            authorities: [],
          }),
        ),
      );
      this.state = 'clientCertificate';
    }
    return items;
  }

  private async onClientCertificate(message: HandshakeMessage): Promise<void> {
    const choice = this.ecdhe;
    const trust = this.options.ecdsa?.clientTrust;
    if (choice === undefined || trust === undefined) throw new DtlsHandshakeError('unexpected Certificate');
    this.conn.addToTranscript(message.msgType, message.messageSeq, message.body);
    if (choice.clientType === CertificateType.rawPublicKey) {
      const spki = parseRawPublicKeyCertificate(message.body);
      const result = await checkPeerCertificate(trust, { kind: 'rpk', spki }, this.options.peer);
      this.clientKey = result.key;
      this.identity = result.identity;
    } else {
      const chain = parseCertificateList(message.body);
      if (chain.length === 0) {
        if (this.options.ecdsa?.requireClientCertificate === true) {
          throw new DtlsHandshakeError('client sent no certificate', AlertDescription.handshakeFailure);
        }
        this.state = 'clientKeyExchange';
        return;
      }
      const result = await checkPeerCertificate(
        trust,
        { kind: 'x509', chain: chain.map((der) => parseCertificate(der)) },
        this.options.peer,
      );
      this.clientKey = result.key;
      this.identity = result.identity;
    }
    if (this.conn.state !== 'handshake') return;
    this.state = 'clientKeyExchange';
  }

  private onEcdheKeyExchange(message: HandshakeMessage): void {
    const ephemeral = this.ephemeral;
    if (ephemeral === undefined)
      throw new DtlsHandshakeError('no ephemeral key', AlertDescription.internalError);
    const premaster = ephemeral.sharedSecret(parseEcdheClientKeyExchange(message.body));
    this.conn.addToTranscript(message.msgType, message.messageSeq, message.body);
    this.deriveMaster(premaster);
    this.state = this.clientKey !== undefined ? 'certificateVerify' : 'finished';
  }

  /** CertificateVerify signs every handshake message before it (RFC 5246 §7.4.8). */
  private onCertificateVerify(message: HandshakeMessage): void {
    const key = this.clientKey;
    if (key === undefined) throw new DtlsHandshakeError('unexpected CertificateVerify');
    const signed = parseDigitallySigned(message.body);
    if (signed.scheme !== ECDSA_SECP256R1_SHA256) {
      throw new DtlsHandshakeError(
        `CertificateVerify signed with scheme 0x${signed.scheme.toString(16)}`,
        AlertDescription.illegalParameter,
      );
    }
    if (!verifyEcdsa(key, this.conn.transcriptBytes(), signed.signature))
      throw new DtlsHandshakeError(
        'CertificateVerify signature does not verify',
        AlertDescription.decryptError,
      );
    this.conn.addToTranscript(message.msgType, message.messageSeq, message.body);
    this.state = 'finished';
  }

  private async onPskKeyExchange(message: HandshakeMessage): Promise<void> {
    const lookupPsk = this.options.lookupPsk;
    if (lookupPsk === undefined) throw new DtlsHandshakeError('PSK is not configured');
    const identityBytes = parsePskIdentity(message.body);
    if (identityBytes.length > MAX_PSK_IDENTITY_LENGTH) {
      throw new DtlsHandshakeError('PSK identity too long', AlertDescription.illegalParameter);
    }
    const identity = Buffer.from(identityBytes).toString('utf8');
    let psk: Uint8Array | undefined;
    try {
      psk = await lookupPsk(identity, this.options.peer);
    } catch (error) {
      throw new DtlsHandshakeError('PSK lookup failed', AlertDescription.internalError, { cause: error });
    }
    if (this.conn.state !== 'handshake') return;
    if (psk === undefined)
      throw new DtlsHandshakeError(`unknown PSK identity "${identity}"`, AlertDescription.unknownPskIdentity);
    this.pskIdentity = identity;
    this.identity = { kind: 'psk', identity };
    this.conn.addToTranscript(message.msgType, message.messageSeq, message.body);
    this.deriveMaster(pskPremaster(psk));
    this.state = 'finished';
  }

  private deriveMaster(premaster: Uint8Array): void {
    const sessionHash = this.ems ? this.conn.transcriptHash() : undefined;
    this.master = masterSecret(premaster, this.clientRandom, this.serverRandom, sessionHash);
    this.installKeys(this.master);
  }

  private onFinished(message: HandshakeMessage): void {
    const master = this.master;
    if (master === undefined || this.conn.records.readEpoch === 0) {
      throw new DtlsHandshakeError('Finished before ChangeCipherSpec', AlertDescription.unexpectedMessage);
    }
    const expected = finishedVerifyData(master, 'client', this.conn.transcriptHash());
    if (!equalBytes(expected, message.body))
      throw new DtlsHandshakeError('client Finished does not verify', AlertDescription.decryptError);
    this.conn.addToTranscript(message.msgType, message.messageSeq, message.body);
    this.state = 'done';
    if (this.resumed === undefined) {
      const verify = finishedVerifyData(master, 'server', this.conn.transcriptHash());
      // Our last flight: kept to be resent if the client repeats its Finished, no timer.
      this.conn.sendFlight([{ kind: 'ccs' }, this.conn.message(HandshakeType.finished, verify)], false);
      this.options.sessions?.set({
        sessionId: this.sessionId,
        masterSecret: master,
        cipherSuite: this.suite,
        identity: this.pskIdentity,
        ...(this.ecdhe !== undefined && this.identity !== undefined ? { peerIdentity: this.identity } : {}),
        extendedMasterSecret: this.ems,
        createdAt: Date.now(),
      });
    }
    this.options.onAuthenticated(this.identity);
    this.conn.established();
  }

  private installKeys(master: Uint8Array): void {
    const keys = deriveCiphers(this.suite, master, this.clientRandom, this.serverRandom);
    // RFC 9146: once both sides sent the extension, the new epoch carries the connection ids.
    const cids =
      this.peerConnectionId === undefined
        ? undefined
        : { read: this.options.connectionId, write: this.peerConnectionId };
    this.conn.records.setPending(keys.client, keys.server, cids);
  }
}
