import type { PeerAddress } from '@lwm2m/core';
import { deriveCiphers, type CipherSuiteId } from './cipher-suites.js';
import type { DtlsConnection, HandshakeRole } from './connection.js';
import { AlertDescription, DtlsHandshakeError } from './errors.js';
import type { HandshakeMessage } from './fragment-assembler.js';
import {
  EMPTY_RENEGOTIATION_INFO_SCSV,
  encodePskIdentity,
  encodeServerHello,
  ExtensionType,
  findExtension,
  HandshakeType,
  parsePskIdentity,
  type ClientHello,
  type Extension,
} from './handshake-messages.js';
import { equalBytes, finishedVerifyData, masterSecret, pskPremaster } from './key-schedule.js';
import type { RandomPool } from './random-pool.js';
import { DTLS_1_2 } from './record.js';
import type { ResumableSession, SessionCache } from './session-cache.js';

/** Longest PSK identity accepted (RFC 4279 §5.3 says at least 128 must be supported). */
export const MAX_PSK_IDENTITY_LENGTH = 128;

export interface ServerHandshakeOptions {
  readonly peer: PeerAddress;
  readonly cipherSuites: readonly CipherSuiteId[];
  readonly identityHint: Uint8Array | undefined;
  readonly lookupPsk: (identity: string, peer: PeerAddress) => Promise<Uint8Array | undefined>;
  readonly sessions: SessionCache | undefined;
  readonly random: RandomPool;
  readonly requireExtendedMasterSecret: boolean;
  /** Called once the client proved its key; the identity is authenticated from then on. */
  readonly onAuthenticated: (identity: string) => void;
}

type ServerState = 'clientKeyExchange' | 'finished' | 'done';

/**
 * The server side of the PSK handshake, started by a ClientHello whose cookie was verified
 * (flights 4 and 6 of RFC 6347 §4.2.4, or the abbreviated handshake when the session resumes).
 */
export class ServerHandshake implements HandshakeRole {
  private state: ServerState = 'clientKeyExchange';
  private readonly clientRandom: Uint8Array;
  private readonly serverRandom: Uint8Array;
  private readonly suite: CipherSuiteId;
  private readonly ems: boolean;
  private readonly sessionId: Uint8Array;
  private master: Uint8Array | undefined;
  private identity = '';
  private readonly resumed: ResumableSession | undefined;

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
    const suite = options.cipherSuites.find((s) => hello.cipherSuites.includes(s));
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

    // Resume only when everything still matches; otherwise fall back to a full handshake.
    const cached = hello.sessionId.length > 0 ? options.sessions?.get(hello.sessionId) : undefined;
    this.resumed =
      cached !== undefined &&
      hello.cipherSuites.includes(cached.cipherSuite) &&
      cached.extendedMasterSecret === this.ems
        ? cached
        : undefined;
    this.suite = (this.resumed?.cipherSuite as CipherSuiteId | undefined) ?? suite;
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
      this.identity = this.resumed.identity;
      this.master = this.resumed.masterSecret;
      this.installKeys(this.master);
      const verify = finishedVerifyData(this.master, 'server', conn.transcriptHash());
      const finished = conn.message(HandshakeType.finished, verify);
      conn.sendFlight([serverHello, { kind: 'ccs' }, finished], true);
      this.state = 'finished';
      return;
    }
    const flight = [serverHello];
    if (options.identityHint !== undefined) {
      flight.push(conn.message(HandshakeType.serverKeyExchange, encodePskIdentity(options.identityHint)));
    }
    flight.push(conn.message(HandshakeType.serverHelloDone, new Uint8Array(0)));
    conn.sendFlight(flight, true);
  }

  get resumedSession(): boolean {
    return this.resumed !== undefined;
  }

  onMessage(message: HandshakeMessage): void | Promise<void> {
    if (this.state === 'clientKeyExchange' && message.msgType === HandshakeType.clientKeyExchange) {
      return this.onClientKeyExchange(message);
    }
    if (this.state === 'finished' && message.msgType === HandshakeType.finished) {
      this.onFinished(message);
      return;
    }
    throw new DtlsHandshakeError(
      `unexpected handshake message ${message.msgType} in state ${this.state}`,
      AlertDescription.unexpectedMessage,
    );
  }

  onChangeCipherSpec(): void {
    // Only meaningful once keys exist; an early CCS is ignored like a reordered record.
    if (this.state === 'finished' && this.conn.records.hasPendingRead) this.conn.records.activateRead();
  }

  private async onClientKeyExchange(message: HandshakeMessage): Promise<void> {
    const identityBytes = parsePskIdentity(message.body);
    if (identityBytes.length > MAX_PSK_IDENTITY_LENGTH) {
      throw new DtlsHandshakeError('PSK identity too long', AlertDescription.illegalParameter);
    }
    const identity = Buffer.from(identityBytes).toString('utf8');
    let psk: Uint8Array | undefined;
    try {
      psk = await this.options.lookupPsk(identity, this.options.peer);
    } catch (error) {
      throw new DtlsHandshakeError('PSK lookup failed', AlertDescription.internalError, { cause: error });
    }
    if (this.conn.state !== 'handshake') return;
    if (psk === undefined)
      throw new DtlsHandshakeError(`unknown PSK identity "${identity}"`, AlertDescription.unknownPskIdentity);
    this.identity = identity;
    this.conn.addToTranscript(message.msgType, message.messageSeq, message.body);
    const sessionHash = this.ems ? this.conn.transcriptHash() : undefined;
    this.master = masterSecret(pskPremaster(psk), this.clientRandom, this.serverRandom, sessionHash);
    this.installKeys(this.master);
    this.state = 'finished';
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
        identity: this.identity,
        extendedMasterSecret: this.ems,
        createdAt: Date.now(),
      });
    }
    this.options.onAuthenticated(this.identity);
    this.conn.established();
  }

  private installKeys(master: Uint8Array): void {
    const keys = deriveCiphers(this.suite, master, this.clientRandom, this.serverRandom);
    this.conn.records.setPending(keys.client, keys.server);
  }
}
