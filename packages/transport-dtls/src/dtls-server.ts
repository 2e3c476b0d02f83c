import { createSocket, type Socket, type RemoteInfo } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { isNativeError } from 'node:util/types';
import {
  ClosedError,
  createSilentLogger,
  EncodeError,
  formatPeer,
  type DatagramMessage,
  type DatagramSocket,
  type DatagramSocketEvents,
  type Logger,
  type PeerAddress,
  type PeerIdentity,
} from '@lwm2m/core';
import { DEFAULT_CIPHER_SUITES, type CipherSuiteId } from './cipher-suites.js';
import { DtlsConnection } from './connection.js';
import { CookieGenerator } from './cookie.js';
import {
  loadCertificates,
  loadEcdsaCredentials,
  type CertificateInput,
  type PrivateKeyInput,
} from './credentials.js';
import { AlertDescription, DtlsCredentialsError, DtlsHandshakeError, DtlsNoSessionError } from './errors.js';
import type { RetransmitTimerOptions } from './flight.js';
import {
  encodeHandshake,
  encodeHelloVerifyRequest,
  HandshakeType,
  parseClientHello,
  parseHandshakeFragments,
  type ClientHello,
  type HandshakeFragment,
} from './handshake-messages.js';
import { ServerHandshake, type ServerEcdsaOptions } from './handshake-server.js';
import type { RawPublicKeyVerifier } from './peer-trust.js';
import { peerAddress, peerKey } from './peer-key.js';
import { PendingSends } from './pending-sends.js';
import { RandomPool } from './random-pool.js';
import {
  ContentType,
  DTLS_1_0,
  MAX_PLAINTEXT_LENGTH,
  parseRecords,
  serializeRecord,
  type DtlsRecord,
} from './record.js';
import { SessionCache } from './session-cache.js';

export interface PskServerOptions {
  /** Sent in ServerKeyExchange when set (RFC 4279 §2); LwM2M does not need one. */
  readonly identityHint?: string;
  /** Resolves the key for an identity, or undefined when unknown (answered with unknown_psk_identity). */
  readonly lookup: (identity: string, peer: PeerAddress) => Promise<Uint8Array | undefined>;
}

/** The ECDHE-ECDSA suites (RFC 7925 §4.3): how the server proves itself, and whom it asks to. */
export interface EcdsaServerOptions {
  /** Our P-256 private key (SEC1 or PKCS#8, PEM or DER, a path, bytes or a KeyObject). */
  readonly key: PrivateKeyInput;
  /** Our certificate chain, leaf first. Without it, only clients that accept a raw public key can connect. */
  readonly certificate?: CertificateInput;
  /** Send our bare public key to a client that asks for one (RFC 7250). Default true. */
  readonly rawPublicKey?: boolean;
  /** Ask clients who they are (CertificateRequest). Without it, ECDHE clients stay anonymous. */
  readonly clientAuth?: {
    /** Client certificates must chain to one of these (CA certificates, or pinned client certificates). */
    readonly trustAnchors?: CertificateInput;
    /** Client raw public keys (SubjectPublicKeyInfo DER) are handed to this: resolve true to accept. */
    readonly verifyRawPublicKey?: RawPublicKeyVerifier;
    /** Refuse a client that presents nothing. Default true. */
    readonly required?: boolean;
  };
}

export interface DtlsServerOptions {
  /** A UDP socket to use (bound or not); otherwise one is created on `port`/`address`. */
  readonly socket?: Socket;
  readonly port?: number;
  readonly address?: string;
  /** PSK suites; at least one of `psk` and `ecdsa` is needed. */
  readonly psk?: PskServerOptions;
  /** ECDHE-ECDSA suites with a certificate and/or a raw public key. */
  readonly ecdsa?: EcdsaServerOptions;
  /** Cipher suites in preference order; only those the credentials allow are used. Default: {@link DEFAULT_CIPHER_SUITES}. */
  readonly ciphers?: readonly CipherSuiteId[];
  readonly logger?: Logger;
  /** Most associations (handshaking or established) kept at once. Default 10000. */
  readonly maxSessions?: number;
  /** An established association idle this long is forgotten (ms). Default 1 hour. */
  readonly sessionTimeout?: number;
  /** A handshake not finished after this long is dropped (ms). Default 30 s. */
  readonly handshakeTimeout?: number;
  /** Session resumption cache; `false` turns resumption off. Default 10000 entries, 24 h. */
  readonly resumption?: { readonly maxEntries?: number; readonly lifetime?: number } | false;
  /** Refuse clients that do not offer RFC 7627 extended master secret. Default false. */
  readonly requireExtendedMasterSecret?: boolean;
  readonly mtu?: number;
  readonly retransmit?: RetransmitTimerOptions;
  /** Cookie secret rotation period (ms). Default 60 s. */
  readonly cookieRotateMs?: number;
  /**
   * Give clients that ask for it a connection id (RFC 9146), so that a session survives the
   * client's address changing (NAT rebinding). Default true.
   */
  readonly connectionId?: boolean;
}

/** What `send` resolves with: nothing to wait for once the socket has the datagram. */
const SENT: Promise<void> = Promise.resolve();

/** Length of the connection ids this server issues: random, so they cannot be guessed. */
const CID_LENGTH = 8;
/** Record header bytes before the CID: type, version, epoch, sequence number. */
const CID_OFFSET = 11;

interface Association {
  readonly conn: DtlsConnection;
  /** Where the peer is now: a connection id session may move (RFC 9146 §6). */
  peer: PeerAddress;
  key: string;
  /** The connection id we issued, when the client negotiated one. */
  cid: string | undefined;
  /** A new address a CID record came from: adopted if that record authenticates and is the newest. */
  candidate: { readonly peer: PeerAddress; readonly key: string } | undefined;
  /** ClientHello.random of the handshake that created it, to tell a retransmission from a restart. */
  readonly clientRandom: Uint8Array;
  identity: PeerIdentity | undefined;
}

/**
 * A DTLS 1.2 PSK server on one UDP socket. It is a {@link DatagramSocket}: `message` events carry
 * decrypted application data with the peer's address and authenticated PSK identity, and `send`
 * encrypts for the association with that peer. No state is created for a peer before it returns a
 * valid HelloVerifyRequest cookie.
 */
export class DtlsServer implements DatagramSocket {
  private readonly emitter = new EventEmitter();
  private readonly socket: Socket;
  /** Per peer address: its established association, or the handshake that will become one. */
  private readonly associations = new Map<string, Association>();
  /**
   * New handshakes from an address that already has an established association. The old one
   * keeps working until the new one completes (RFC 6347 §4.2.8): a forged or stray ClientHello
   * must not end a live session, only a peer that finishes a handshake with the right key.
   */
  private readonly replacements = new Map<string, Association>();
  /** Associations still in their handshake, oldest first: the first to go when the table is full. */
  private readonly handshaking = new Set<Association>();
  /** Associations by the connection id we issued them (hex). */
  private readonly byCid = new Map<string, Association>();
  /**
   * Associations by their `peer` object, the one our `message` events carry: a reply to it finds
   * its session without building an address key. Only a hint, checked against `associations`.
   */
  private readonly byPeerObject = new WeakMap<PeerAddress, Association>();
  private readonly cookies: CookieGenerator;
  private readonly sessions: SessionCache | undefined;
  private readonly logger: Logger;
  private readonly ciphers: readonly CipherSuiteId[];
  private readonly maxSessions: number;
  private readonly sessionTimeout: number;
  private readonly handshakeTimeout: number;
  private readonly identityHint: Uint8Array | undefined;
  private readonly ecdsa: ServerEcdsaOptions | undefined;
  private readonly pending = new PendingSends();
  /** Server randoms and session ids, drawn a few KiB at a time. */
  private readonly random = new RandomPool();
  private sweeper: NodeJS.Timeout | undefined;
  private bound = false;
  private closed = false;

  constructor(private readonly options: DtlsServerOptions) {
    this.logger = options.logger ?? createSilentLogger();
    this.ciphers = options.ciphers ?? DEFAULT_CIPHER_SUITES;
    this.maxSessions = options.maxSessions ?? 10000;
    this.sessionTimeout = options.sessionTimeout ?? 3600_000;
    this.handshakeTimeout = options.handshakeTimeout ?? 30_000;
    const hint = options.psk?.identityHint;
    this.identityHint = hint === undefined ? undefined : Buffer.from(hint, 'utf8');
    if (options.psk === undefined && options.ecdsa === undefined)
      throw new DtlsCredentialsError('a DTLS server needs `psk` or `ecdsa` credentials');
    this.ecdsa = options.ecdsa === undefined ? undefined : serverEcdsa(options.ecdsa);
    this.cookies = new CookieGenerator(
      options.cookieRotateMs === undefined ? {} : { rotateMs: options.cookieRotateMs },
    );
    const resumption = options.resumption ?? {};
    this.sessions =
      resumption === false
        ? undefined
        : new SessionCache(resumption.maxEntries ?? 10000, resumption.lifetime ?? 86_400_000);
    this.socket =
      options.socket ?? createSocket({ type: options.address?.includes(':') === true ? 'udp6' : 'udp4' });
    this.socket.on('message', this.onDatagram);
    this.socket.on('error', this.onSocketError);
    this.bound = socketBound(this.socket);
  }

  /** Binds the socket (when not bound yet) and starts expiring idle associations. */
  async listen(): Promise<void> {
    if (this.closed) throw new ClosedError('DTLS server closed');
    if (!this.bound) {
      await new Promise<void>((resolve, reject) => {
        const onError = (error: Error): void => reject(error);
        this.socket.once('error', onError);
        this.socket.bind(this.options.port ?? 5684, this.options.address, () => {
          this.socket.off('error', onError);
          resolve();
        });
      });
      this.bound = true;
    }
    if (this.sweeper === undefined) {
      this.sweeper = setInterval(() => this.expire(Date.now()), Math.min(5000, this.handshakeTimeout));
      this.sweeper.unref();
    }
  }

  address(): PeerAddress {
    const a = this.socket.address();
    return peerAddress(a.address, a.port, a.family);
  }

  /** Associations currently held (handshaking or established, replacements included). */
  get associationCount(): number {
    return this.associations.size + this.replacements.size;
  }

  /** The authenticated identity of an established peer. */
  identityOf(peer: PeerAddress): PeerIdentity | undefined {
    return this.associationAt(peer)?.identity;
  }

  maxDatagramSize(peer: PeerAddress): number {
    const a = this.associationAt(peer);
    return a?.conn.maxPlaintext ?? (this.options.mtu ?? 1400) - 13 - 64;
  }

  /** Encrypts for the peer's session and hands the record to the socket; resolves once handed over. */
  send(data: Uint8Array, peer: PeerAddress): Promise<void> {
    const a = this.sessionFor(data, peer);
    if (a instanceof Error) return Promise.reject(a);
    try {
      this.sendRecord(a, data, peer);
      return SENT;
    } catch (error) {
      return Promise.reject(isNativeError(error) ? error : new DtlsNoSessionError('record not sent'));
    }
  }

  /**
   * `DatagramSocket.sendNow`: `send` without the Promise. A datagram that cannot go (no
   * established session, too long, socket closed) is dropped like a lost one; a socket failure is
   * reported through `error` when that event has a listener.
   */
  sendNow(data: Uint8Array, peer: PeerAddress): void {
    const a = this.sessionFor(data, peer);
    if (a instanceof Error) {
      this.logger.debug({ err: a }, 'dtls datagram dropped');
      return;
    }
    try {
      this.sendRecord(a, data, peer);
    } catch (error) {
      const failure = isNativeError(error) ? error : new DtlsNoSessionError('record not sent');
      if (this.emitter.listenerCount('error') > 0) this.emitter.emit('error', failure);
      else this.logger.debug({ err: failure }, 'dtls datagram dropped');
    }
  }

  /** Ends the association with one peer (close_notify). */
  closeSession(peer: PeerAddress): void {
    this.associationAt(peer)?.conn.close();
  }

  on<E extends keyof DatagramSocketEvents>(
    event: E,
    listener: (...args: DatagramSocketEvents[E]) => void,
  ): this {
    this.emitter.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<E extends keyof DatagramSocketEvents>(
    event: E,
    listener: (...args: DatagramSocketEvents[E]) => void,
  ): this {
    this.emitter.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** Sends close_notify to every established peer and closes the socket. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    for (const a of [...this.replacements.values()]) a.conn.terminate(undefined);
    for (const a of [...this.associations.values()]) a.conn.close();
    this.associations.clear();
    this.replacements.clear();
    this.byCid.clear();
    this.handshaking.clear();
    this.socket.off('message', this.onDatagram);
    await this.pending.idle();
    if (this.bound) await new Promise<void>((resolve) => this.socket.close(() => resolve()));
    this.bound = false;
    this.socket.off('error', this.onSocketError);
    this.emitter.emit('close');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- internals --------------------------------------------------------------------------

  /** The association at a peer's address (established or not): what `associations` holds for it. */
  private associationAt(peer: PeerAddress): Association | undefined {
    const known = this.byPeerObject.get(peer);
    // `peer` and `key` of an association change together, so this is the same lookup, shorter.
    if (known !== undefined && known.peer === peer && this.associations.get(known.key) === known)
      return known;
    return this.associations.get(peerKey(peer.address, peer.port));
  }

  /** The established association to send `data` on, or why there is none. */
  private sessionFor(data: Uint8Array, peer: PeerAddress): Association | Error {
    const a = this.associationAt(peer);
    if (a === undefined || a.conn.state !== 'established')
      return new DtlsNoSessionError(`no established DTLS session with ${formatPeer(peer)}`);
    if (data.length > MAX_PLAINTEXT_LENGTH)
      return new EncodeError(`datagram of ${data.length} bytes exceeds the DTLS record limit`);
    return a;
  }

  /** Seals one application_data record and hands it to the socket; throws what either throws. */
  private sendRecord(a: Association, data: Uint8Array, peer: PeerAddress): void {
    // No send callback: a promise and a callback per datagram cost more than the encryption,
    // and a failed UDP send is no more final than a lost datagram (socket errors are logged).
    this.socket.send(a.conn.sealApplicationData(data), peer.port, peer.address);
  }

  private readonly onSocketError = (error: Error): void => {
    this.logger.warn({ err: error }, 'dtls server socket error');
    if (this.emitter.listenerCount('error') > 0) this.emitter.emit('error', error);
  };

  private readonly onDatagram = (datagram: Buffer, rinfo: RemoteInfo): void => {
    if (this.closed) return;
    const key = peerKey(rinfo.address, rinfo.port);
    if (datagram[0] === ContentType.tls12Cid && datagram.length >= CID_OFFSET + CID_LENGTH + 2) {
      const byCid = this.byCid.get(datagram.toString('hex', CID_OFFSET, CID_OFFSET + CID_LENGTH));
      if (byCid !== undefined && byCid.key !== key) {
        // The session's client now writes from elsewhere. The address moves only once one of
        // these records authenticates (see onAuthenticatedRecord): a copied record cannot move it.
        byCid.candidate = { peer: peerAddress(rinfo.address, rinfo.port, rinfo.family), key };
        byCid.conn.handleDatagram(datagram);
        byCid.candidate = undefined;
        return;
      }
    }
    const a = this.associations.get(key);
    if (a === undefined) {
      this.handleStranger(datagram, rinfo, key);
      return;
    }
    const next = this.replacements.size === 0 ? undefined : this.replacements.get(key);
    if (isEpochZeroClientHello(datagram)) {
      // A retransmission of the ClientHello that started a handshake goes to that handshake;
      // any other one starts a new handshake through the cookie exchange (RFC 6347 §4.2.8).
      if (isSameClientHello(datagram, a)) {
        // During the handshake a retransmission; after it a late duplicate (a rebooted client
        // picks a new random), which must not start anything.
        if (a.conn.state === 'handshake') a.conn.handleDatagram(datagram);
      } else if (next !== undefined && isSameClientHello(datagram, next)) next.conn.handleDatagram(datagram);
      else this.handleStranger(datagram, rinfo, key);
      return;
    }
    if (next === undefined) {
      a.conn.handleDatagram(datagram);
      return;
    }
    // Both share the address: plaintext handshake records belong to the new handshake, and a
    // protected datagram the old session cannot authenticate may be the new one's Finished.
    if (datagram[3] === 0 && datagram[4] === 0) next.conn.handleDatagram(datagram);
    else if (!a.conn.handleDatagram(datagram)) next.conn.handleDatagram(datagram);
  };

  /** The stateless path: answer ClientHellos with cookies; create an association only for a valid one. */
  private handleStranger(datagram: Uint8Array, rinfo: RemoteInfo, key: string): void {
    const found = findClientHello(datagram);
    if (found === undefined) return;
    const { record, fragment, hello } = found;
    const peer = peerAddress(rinfo.address, rinfo.port, rinfo.family);
    if (!this.cookies.verify(peer, fragment.body, hello.cookie)) {
      const cookie = this.cookies.generate(peer, fragment.body);
      const hvr = encodeHandshake(
        HandshakeType.helloVerifyRequest,
        fragment.messageSeq,
        encodeHelloVerifyRequest({ version: DTLS_1_0, cookie }),
      );
      // RFC 6347 §4.2.1: the HelloVerifyRequest reuses the ClientHello's record sequence number.
      this.socket.send(
        serializeRecord(ContentType.handshake, DTLS_1_0, 0, record.seq, hvr),
        rinfo.port,
        rinfo.address,
      );
      return;
    }
    this.makeRoom();
    const previous = this.associations.get(key);
    const cid = this.options.connectionId === false ? undefined : this.random.bytes(CID_LENGTH);
    const association: Association = {
      peer,
      key,
      cid: undefined,
      candidate: undefined,
      clientRandom: hello.random,
      identity: undefined,
      conn: new DtlsConnection(
        {
          sendDatagram: (data) => {
            const to = association.peer;
            // Only while closing does anyone wait for a datagram to leave (the close_notify before
            // the socket closes); a callback on every handshake datagram would cost for nothing.
            if (!this.closed) {
              this.socket.send(data, to.port, to.address);
              return;
            }
            this.pending.begin();
            this.socket.send(data, to.port, to.address, this.pending.done);
          },
          onAuthenticatedRecord: (newest) => {
            const candidate = association.candidate;
            if (candidate === undefined || !newest || association.conn.state !== 'established') return;
            association.candidate = undefined;
            this.migrate(association, candidate.peer, candidate.key);
          },
          onEstablished: () => {
            this.handshaking.delete(association);
            this.logger.debug(
              { peer: formatPeer(peer), identity: association.identity },
              'dtls session established',
            );
            const at = association.key;
            if (this.replacements.get(at) !== association) return;
            // The peer proved its key in a new handshake: this association takes over.
            this.replacements.delete(at);
            const old = this.associations.get(at);
            this.associations.set(at, association);
            old?.conn.terminate(undefined);
          },
          onApplicationData: (data) => {
            const from = association.peer;
            const message: DatagramMessage =
              association.identity === undefined
                ? { data, peer: from }
                : { data, peer: from, identity: association.identity };
            this.emitter.emit('message', message);
          },
          onClosed: (error) => {
            const at = association.key;
            this.handshaking.delete(association);
            if (association.cid !== undefined && this.byCid.get(association.cid) === association)
              this.byCid.delete(association.cid);
            if (this.replacements.get(at) === association) this.replacements.delete(at);
            if (this.associations.get(at) === association) {
              this.associations.delete(at);
              // The old session ended on its own while a new handshake runs: that one moves up.
              const next = this.replacements.get(at);
              if (next !== undefined) {
                this.replacements.delete(at);
                this.associations.set(at, next);
              }
            }
            if (error !== undefined)
              this.logger.debug({ peer: formatPeer(peer), err: error }, 'dtls association ended');
          },
        },
        {
          logger: this.logger,
          firstWriteSeq: record.seq,
          ...(this.options.mtu === undefined ? {} : { mtu: this.options.mtu }),
          ...(this.options.retransmit === undefined ? {} : { retransmit: this.options.retransmit }),
        },
      ),
    };
    this.byPeerObject.set(peer, association);
    try {
      association.conn.role = new ServerHandshake(
        association.conn,
        hello,
        fragment.body,
        fragment.messageSeq,
        {
          peer,
          cipherSuites: this.ciphers,
          identityHint: this.identityHint,
          lookupPsk: this.options.psk?.lookup,
          ecdsa: this.ecdsa,
          random: this.random,
          sessions: this.sessions,
          connectionId: cid,
          requireExtendedMasterSecret: this.options.requireExtendedMasterSecret ?? false,
          onAuthenticated: (identity) => {
            association.identity = identity;
          },
        },
      );
    } catch (error) {
      const alert = error instanceof DtlsHandshakeError ? error.alert : AlertDescription.internalError;
      this.logger.debug({ peer: formatPeer(peer), err: error }, 'dtls ClientHello refused');
      association.conn.fail(
        error instanceof Error ? error : new DtlsHandshakeError('ClientHello refused'),
        alert,
      );
      return;
    }
    const role = association.conn.role;
    if (cid !== undefined && role instanceof ServerHandshake && role.peerConnectionId !== undefined) {
      association.cid = Buffer.from(cid).toString('hex');
      this.byCid.set(association.cid, association);
    }
    if (previous?.conn.state === 'established') {
      // The established session stays until this handshake completes (see `replacements`).
      const stale = this.replacements.get(key);
      this.replacements.set(key, association);
      this.handshaking.add(association);
      stale?.conn.terminate(undefined);
      return;
    }
    // An unfinished handshake from this address restarted: nothing worth keeping.
    this.associations.set(key, association);
    this.handshaking.add(association);
    previous?.conn.terminate(undefined);
  }

  /**
   * Keeps the table bounded in constant time: the oldest unfinished handshake goes first;
   * otherwise the least recently active of the EVICTION_SAMPLE oldest associations (a sampled
   * LRU: a scan of a full 10 000-entry table on every new handshake would be the flood's lever).
   */
  private makeRoom(): void {
    if (this.associationCount < this.maxSessions) return;
    const handshake = this.handshaking.values().next();
    if (handshake.done !== true) {
      handshake.value.conn.terminate(undefined);
      return;
    }
    let victim: Association | undefined;
    let seen = 0;
    for (const a of this.associations.values()) {
      if (victim === undefined || a.conn.lastActivity < victim.conn.lastActivity) victim = a;
      if (++seen >= EVICTION_SAMPLE) break;
    }
    victim?.conn.terminate(undefined);
  }

  /** A CID session's client moved: it is now reached, and seen, at its new address. */
  private migrate(association: Association, peer: PeerAddress, key: string): void {
    if (this.associations.get(association.key) !== association) return;
    this.logger.debug(
      { from: formatPeer(association.peer), to: formatPeer(peer) },
      'dtls connection id session moved to a new address',
    );
    this.associations.delete(association.key);
    const squatter = this.associations.get(key);
    association.peer = peer;
    association.key = key;
    this.byPeerObject.set(peer, association);
    this.associations.set(key, association);
    // Whatever held the new address before (a stale session of a reused NAT port) is over.
    if (squatter !== undefined && squatter !== association) squatter.conn.terminate(undefined);
  }

  private allAssociations(): Association[] {
    return [...this.associations.values(), ...this.replacements.values()];
  }

  /** Forgets idle associations and stalled handshakes. */
  expire(now: number): void {
    for (const a of this.allAssociations()) {
      const limit = a.conn.state === 'handshake' ? this.handshakeTimeout : this.sessionTimeout;
      if (now - a.conn.lastActivity > limit) a.conn.terminate(undefined);
    }
  }
}

export function createDtlsServer(options: DtlsServerOptions): DtlsServer {
  return new DtlsServer(options);
}

/** Loads keys and certificates once, when the server is made: a bad file fails there, not per handshake. */
function serverEcdsa(options: EcdsaServerOptions): ServerEcdsaOptions {
  const credentials = loadEcdsaCredentials(options.key, options.certificate);
  const auth = options.clientAuth;
  const anchors = auth?.trustAnchors === undefined ? [] : loadCertificates(auth.trustAnchors);
  if (auth !== undefined && anchors.length === 0 && auth.verifyRawPublicKey === undefined)
    throw new DtlsCredentialsError('clientAuth needs trustAnchors or verifyRawPublicKey');
  return {
    credentials,
    rawPublicKey: options.rawPublicKey ?? true,
    clientTrust:
      auth === undefined
        ? undefined
        : { anchors, verifyRawPublicKey: auth.verifyRawPublicKey, serverName: undefined },
    requireClientCertificate: auth?.required ?? true,
  };
}

function socketBound(socket: Socket): boolean {
  try {
    socket.address();
    return true;
  } catch {
    return false;
  }
}

/** How many of the oldest associations makeRoom() compares when no handshake can go. */
const EVICTION_SAMPLE = 64;

/** Record header (13) + handshake header (12) + client_version (2): where ClientHello.random starts. */
const CLIENT_HELLO_RANDOM_OFFSET = 27;

function isEpochZeroClientHello(datagram: Uint8Array): boolean {
  return (
    datagram[0] === ContentType.handshake &&
    datagram[3] === 0 &&
    datagram[4] === 0 &&
    datagram[13] === HandshakeType.clientHello
  );
}

/** Same ClientHello.random as the one that started this association: a retransmission. */
function isSameClientHello(datagram: Uint8Array, association: Association): boolean {
  if (datagram.length < CLIENT_HELLO_RANDOM_OFFSET + 32) return false;
  return Buffer.from(association.clientRandom).equals(
    datagram.subarray(CLIENT_HELLO_RANDOM_OFFSET, CLIENT_HELLO_RANDOM_OFFSET + 32),
  );
}

/** The first unfragmented epoch-0 ClientHello in a datagram, parsed; undefined for anything else. */
function findClientHello(
  datagram: Uint8Array,
): { record: DtlsRecord; fragment: HandshakeFragment; hello: ClientHello } | undefined {
  for (const record of parseRecords(datagram)) {
    if (record.type !== ContentType.handshake || record.epoch !== 0) continue;
    try {
      const fragment = parseHandshakeFragments(record.fragment)[0];
      // A ClientHello before the cookie exchange must come in one fragment; we do not buffer for strangers.
      if (fragment === undefined || fragment.msgType !== HandshakeType.clientHello) continue;
      if (fragment.fragmentOffset !== 0 || fragment.body.length !== fragment.length) continue;
      return { record, fragment, hello: parseClientHello(fragment.body) };
    } catch {
      continue; // malformed: dropped silently
    }
  }
  return undefined;
}
