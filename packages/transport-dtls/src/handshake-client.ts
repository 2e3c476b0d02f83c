import { randomBytes } from 'node:crypto';
import { deriveCiphers, isSupportedCipherSuite, type CipherSuiteId } from './cipher-suites.js';
import type { DtlsConnection, HandshakeRole } from './connection.js';
import { AlertDescription, DtlsHandshakeError } from './errors.js';
import type { HandshakeMessage } from './fragment-assembler.js';
import {
  encodeClientHello,
  encodePskIdentity,
  ExtensionType,
  findExtension,
  HandshakeType,
  parseHelloVerifyRequest,
  parsePskIdentity,
  parseServerHello,
} from './handshake-messages.js';
import { equalBytes, finishedVerifyData, masterSecret, pskPremaster } from './key-schedule.js';
import { DTLS_1_2 } from './record.js';
import type { ResumableSession } from './session-cache.js';

export interface ClientHandshakeOptions {
  readonly identity: string;
  readonly key: Uint8Array;
  readonly cipherSuites: readonly CipherSuiteId[];
  /** A session from an earlier connection to the same server, to try an abbreviated handshake. */
  readonly resume: ResumableSession | undefined;
  readonly requireExtendedMasterSecret: boolean;
  readonly onEstablished: (session: ResumableSession, identityHint: Uint8Array | undefined) => void;
}

type ClientState = 'serverHello' | 'serverHelloDone' | 'finished' | 'done';

/** A server may legitimately ask for a cookie again (e.g. after rotating); more than this is a loop. */
const MAX_HELLO_VERIFY_REQUESTS = 4;

/** The client side of the PSK handshake (flights 1, 3 and 5 of RFC 6347 §4.2.4, or the abbreviated one). */
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

  constructor(
    private readonly conn: DtlsConnection,
    private readonly options: ClientHandshakeOptions,
  ) {}

  /** Sends the first ClientHello (flight 1). */
  start(): void {
    this.sendClientHello(new Uint8Array(0));
  }

  onMessage(message: HandshakeMessage): void {
    switch (message.msgType) {
      case HandshakeType.helloVerifyRequest:
        if (this.state === 'serverHello') return this.onHelloVerifyRequest(message);
        break;
      case HandshakeType.serverHello:
        if (this.state === 'serverHello') return this.onServerHello(message);
        break;
      case HandshakeType.serverKeyExchange:
        if (this.state === 'serverHelloDone' && this.hint === undefined) {
          this.hint = parsePskIdentity(message.body);
          this.conn.addToTranscript(message.msgType, message.messageSeq, message.body);
          return;
        }
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

  private sendClientHello(cookie: Uint8Array): void {
    const suites: number[] = [...this.options.cipherSuites];
    const resume = this.options.resume;
    const body = encodeClientHello({
      version: DTLS_1_2,
      random: this.clientRandom,
      sessionId: resume?.sessionId ?? new Uint8Array(0),
      cookie,
      cipherSuites: suites,
      compressionMethods: Buffer.of(0),
      extensions: [
        { type: ExtensionType.extendedMasterSecret, data: new Uint8Array(0) },
        { type: ExtensionType.renegotiationInfo, data: Buffer.of(0) },
      ],
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
    if (
      !isSupportedCipherSuite(hello.cipherSuite) ||
      !this.options.cipherSuites.includes(hello.cipherSuite)
    ) {
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
    for (const e of hello.extensions) {
      if (e.type !== ExtensionType.renegotiationInfo && e.type !== ExtensionType.extendedMasterSecret) {
        throw new DtlsHandshakeError(
          `server sent extension ${e.type} we did not offer`,
          AlertDescription.unexpectedMessage,
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
    this.serverRandom = hello.random;
    this.suite = hello.cipherSuite;
    this.sessionId = hello.sessionId;
    this.conn.addToTranscript(message.msgType, message.messageSeq, message.body);

    const resume = this.options.resume;
    if (resume !== undefined && hello.sessionId.length > 0 && equalBytes(hello.sessionId, resume.sessionId)) {
      // RFC 7627 §5.3: the resumed session must have used EMS exactly as this handshake does.
      if (resume.cipherSuite !== hello.cipherSuite || resume.extendedMasterSecret !== this.ems) {
        throw new DtlsHandshakeError('resumed session parameters differ', AlertDescription.handshakeFailure);
      }
      this.resuming = true;
      this.master = resume.masterSecret;
      this.installKeys(this.master);
      this.state = 'finished';
      return;
    }
    this.state = 'serverHelloDone';
  }

  private onServerHelloDone(message: HandshakeMessage): void {
    if (message.body.length !== 0)
      throw new DtlsHandshakeError('ServerHelloDone has a body', AlertDescription.decodeError);
    this.conn.addToTranscript(message.msgType, message.messageSeq, message.body);
    const keyExchange = this.conn.message(
      HandshakeType.clientKeyExchange,
      encodePskIdentity(Buffer.from(this.options.identity, 'utf8')),
    );
    const sessionHash = this.ems ? this.conn.transcriptHash() : undefined;
    this.master = masterSecret(
      pskPremaster(this.options.key),
      this.clientRandom,
      this.serverRandom,
      sessionHash,
    );
    this.installKeys(this.master);
    const finished = this.conn.message(
      HandshakeType.finished,
      finishedVerifyData(this.master, 'client', this.conn.transcriptHash()),
    );
    this.conn.sendFlight([keyExchange, { kind: 'ccs' }, finished], true);
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
    this.options.onEstablished(
      {
        sessionId: this.sessionId,
        masterSecret: master,
        cipherSuite: this.suite ?? 0,
        identity: this.options.identity,
        extendedMasterSecret: this.ems,
        createdAt: Date.now(),
      },
      this.hint,
    );
    this.conn.established();
  }

  private installKeys(master: Uint8Array): void {
    if (this.suite === undefined)
      throw new DtlsHandshakeError('no cipher suite negotiated', AlertDescription.internalError);
    const keys = deriveCiphers(this.suite, master, this.clientRandom, this.serverRandom);
    this.conn.records.setPending(keys.server, keys.client);
  }
}
