import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { isNativeError } from 'node:util/types';
import {
  AbortError,
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
import { cipherSuiteName, DEFAULT_CIPHER_SUITES, type CipherSuiteId } from './cipher-suites.js';
import { DtlsConnection } from './connection.js';
import {
  loadCertificates,
  loadEcdsaCredentials,
  type CertificateInput,
  type PrivateKeyInput,
} from './credentials.js';
import { DtlsCredentialsError, DtlsNoSessionError, DtlsTimeoutError } from './errors.js';
import type { RetransmitTimerOptions } from './flight.js';
import { ClientHandshake, type ClientEcdsaOptions } from './handshake-client.js';
import type { RawPublicKeyVerifier } from './peer-trust.js';
import { peerAddress } from './peer-key.js';
import { PendingSends } from './pending-sends.js';
import type { ResumableSession } from './session-cache.js';
import { MAX_PLAINTEXT_LENGTH } from './record.js';

/** What `send` resolves with: nothing to wait for once the socket has the datagram. */
const SENT: Promise<void> = Promise.resolve();

/** The ECDHE-ECDSA suites (RFC 7925 §4.3): how the client checks the server, and proves itself when asked. */
export interface EcdsaClientOptions {
  /** The server's certificate must chain to one of these (CA certificates, or the pinned server certificate). */
  readonly trustAnchors?: CertificateInput;
  /** Accept a raw public key from the server (RFC 7250) when this resolves true for it (SubjectPublicKeyInfo DER). */
  readonly verifyRawPublicKey?: RawPublicKeyVerifier;
  /** The server certificate must name this host (subjectAltName DNS, else CN) or IP address. Unchecked when absent. */
  readonly hostname?: string;
  /** Our P-256 private key, used when the server asks for client authentication. */
  readonly key?: PrivateKeyInput;
  /** Our certificate chain, leaf first; without it we present our raw public key. */
  readonly certificate?: CertificateInput;
  /** Offer our raw public key (RFC 7250). Default: true when no certificate is given. */
  readonly rawPublicKey?: boolean;
}

export interface ConnectDtlsOptions {
  readonly peer: PeerAddress;
  /** PSK suites; at least one of `psk` and `ecdsa` is needed. */
  readonly psk?: { readonly identity: string; readonly key: Uint8Array };
  /** ECDHE-ECDSA suites with certificates or raw public keys. */
  readonly ecdsa?: EcdsaClientOptions;
  /** A UDP socket to use; otherwise one is bound on an ephemeral port. Closed with the connection only when we created it. */
  readonly socket?: Socket;
  /** Local address for the socket we create. Default: all interfaces of the peer's family. */
  readonly localAddress?: string;
  readonly ciphers?: readonly CipherSuiteId[];
  /** A session from an earlier {@link DtlsClientConnection.session} to resume (abbreviated handshake). */
  readonly session?: ResumableSession;
  readonly requireExtendedMasterSecret?: boolean;
  readonly logger?: Logger;
  readonly mtu?: number;
  readonly retransmit?: RetransmitTimerOptions;
  readonly signal?: AbortSignal;
  /** Overall handshake timeout (ms). Default 60 s. */
  readonly timeout?: number;
  /**
   * Ask the server for a connection id (RFC 9146): our records then carry it, and the session
   * survives our address changing (NAT rebinding, {@link DtlsClientConnection.rebind}). Default false.
   */
  readonly connectionId?: boolean;
}

/**
 * A DTLS association from this client to one server, usable as a {@link DatagramSocket}: `send`
 * accepts only the connected peer, `message` events carry the decrypted datagrams.
 */
export class DtlsClientConnection implements DatagramSocket {
  private readonly emitter = new EventEmitter();
  private established: ResumableSession | undefined;
  private closing: Promise<void> | undefined;
  private identity: PeerIdentity | undefined;
  readonly peer: PeerAddress;

  /** @internal created by {@link connectDtls} */
  constructor(
    private socket: Socket,
    private ownsSocket: boolean,
    private readonly conn: DtlsConnection,
    private readonly pending: PendingSends,
    options: ConnectDtlsOptions,
  ) {
    this.peer = options.peer;
    this.localAddress = options.localAddress;
  }

  private readonly localAddress: string | undefined;

  /**
   * Who the server proved to be: its certificate (`x509`) or raw public key (`rpk`) on the ECDHE
   * suites; on PSK suites the shared identity (`psk`). Carried by every `message` event too.
   */
  get peerIdentity(): PeerIdentity | undefined {
    return this.identity;
  }

  /** Whether the server gave us a connection id (RFC 9146): then {@link rebind} keeps the session. */
  get hasConnectionId(): boolean {
    return this.conn.records.writesConnectionId;
  }

  /**
   * Moves this connection to a new UDP socket (a new source port, as after a NAT rebinding or a
   * network change); the old socket is closed when we made it. With a connection id the session
   * goes on; without one the server no longer recognises our records.
   */
  async rebind(socket?: Socket): Promise<void> {
    if (this.closing !== undefined) throw new DtlsNoSessionError('DTLS connection is closed');
    const next = socket ?? createSocket({ type: this.peer.address.includes(':') ? 'udp6' : 'udp4' });
    if (socket === undefined) {
      await new Promise<void>((resolve, reject) => {
        next.once('error', reject);
        next.bind(0, this.localAddress, () => {
          next.off('error', reject);
          resolve();
        });
      });
    }
    const old = this.socket;
    const ownedOld = this.ownsSocket;
    old.off('message', this.onDatagram);
    next.on('message', this.onDatagram);
    // An unhandled 'error' on a socket would end the process; report it instead.
    next.on('error', (error) => {
      if (this.emitter.listenerCount('error') > 0) this.emitter.emit('error', error);
    });
    this.socket = next;
    this.ownsSocket = socket === undefined;
    if (ownedOld) await new Promise<void>((resolve) => old.close(() => resolve()));
  }

  /** @internal the handshake's datagrams go out through the current socket */
  sendDatagram(data: Uint8Array): void {
    this.pending.begin();
    this.socket.send(data, this.peer.port, this.peer.address, this.pending.done);
  }

  /** The negotiated session, for resumption by a later connectDtls({ session }). */
  get session(): ResumableSession | undefined {
    return this.established;
  }

  get cipherSuite(): string | undefined {
    return this.established === undefined ? undefined : cipherSuiteName(this.established.cipherSuite);
  }

  /** @internal */
  setEstablished(session: ResumableSession, identity: PeerIdentity | undefined): void {
    this.established = session;
    this.identity = identity;
  }

  /** @internal */
  deliver(data: Uint8Array): void {
    const message: DatagramMessage =
      this.identity === undefined
        ? { data, peer: this.peer }
        : { data, peer: this.peer, identity: this.identity };
    this.emitter.emit('message', message);
  }

  send(data: Uint8Array, peer: PeerAddress = this.peer): Promise<void> {
    const failure = this.refusal(data, peer);
    if (failure !== undefined) return Promise.reject(failure);
    try {
      // As on the server: no callback and promise per datagram; socket errors are logged.
      this.socket.send(this.conn.sealApplicationData(data), this.peer.port, this.peer.address);
      return SENT;
    } catch (error) {
      return Promise.reject(isNativeError(error) ? error : new DtlsNoSessionError('record not sent'));
    }
  }

  /**
   * `DatagramSocket.sendNow`: `send` without the Promise. A datagram that cannot go (connection
   * closed or not established, another peer, too long) is dropped like a lost one; a failure of
   * the socket is reported through `error` when that event has a listener.
   */
  sendNow(data: Uint8Array, peer: PeerAddress = this.peer): void {
    const failure = this.refusal(data, peer);
    if (failure !== undefined) {
      this.conn.logger.debug({ err: failure }, 'dtls datagram dropped');
      return;
    }
    try {
      this.socket.send(this.conn.sealApplicationData(data), this.peer.port, this.peer.address);
    } catch (error) {
      const thrown = isNativeError(error) ? error : new DtlsNoSessionError('record not sent');
      if (this.emitter.listenerCount('error') > 0) this.emitter.emit('error', thrown);
      else this.conn.logger.debug({ err: thrown }, 'dtls datagram dropped');
    }
  }

  /** Why `data` cannot be sent to `peer` on this connection; undefined when it can. */
  private refusal(data: Uint8Array, peer: PeerAddress): Error | undefined {
    if (this.closing !== undefined || this.conn.state !== 'established')
      return new DtlsNoSessionError('DTLS connection is closed');
    if (peer !== this.peer && (peer.address !== this.peer.address || peer.port !== this.peer.port))
      return new DtlsNoSessionError(`this DTLS connection only talks to ${formatPeer(this.peer)}`);
    if (data.length > MAX_PLAINTEXT_LENGTH)
      return new EncodeError(`datagram of ${data.length} bytes exceeds the DTLS record limit`);
    return undefined;
  }

  address(): PeerAddress {
    const a = this.socket.address();
    return peerAddress(a.address, a.port, a.family);
  }

  maxDatagramSize(): number {
    return this.conn.maxPlaintext;
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

  /** Sends close_notify and releases the socket (when we created it). Idempotent. */
  async close(): Promise<void> {
    this.conn.close();
    await this.shutdown(undefined);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** @internal the association ended (peer alert, close_notify, or close()). */
  shutdown(error: Error | undefined): Promise<void> {
    this.closing ??= this.release(error);
    return this.closing;
  }

  private async release(error: Error | undefined): Promise<void> {
    this.socket.off('message', this.onDatagram);
    await this.pending.idle();
    if (this.ownsSocket) await new Promise<void>((resolve) => this.socket.close(() => resolve()));
    if (error !== undefined && this.emitter.listenerCount('error') > 0) this.emitter.emit('error', error);
    this.emitter.emit('close');
  }

  /** @internal */
  readonly onDatagram = (datagram: Buffer, rinfo: RemoteInfo): void => {
    if (rinfo.port !== this.peer.port || rinfo.address !== this.peer.address) return;
    this.conn.handleDatagram(datagram);
  };
}

/**
 * Connects to a DTLS 1.2 PSK server and resolves once the handshake completed. Rejects with
 * DtlsAlertError (the server refused), DtlsHandshakeError (we refused), DtlsTimeoutError, or
 * AbortError.
 */
export async function connectDtls(options: ConnectDtlsOptions): Promise<DtlsClientConnection> {
  const logger = options.logger ?? createSilentLogger();
  if (options.signal?.aborted === true) throw new AbortError('DTLS connect aborted');
  if (options.psk === undefined && options.ecdsa === undefined)
    throw new DtlsCredentialsError('connectDtls needs `psk` or `ecdsa` options');
  const ecdsa = options.ecdsa === undefined ? undefined : clientEcdsa(options.ecdsa);
  const ownsSocket = options.socket === undefined;
  const socket =
    options.socket ?? createSocket({ type: options.peer.address.includes(':') ? 'udp6' : 'udp4' });
  if (ownsSocket) {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, options.localAddress, () => {
        socket.off('error', reject);
        resolve();
      });
    });
  }
  const onSocketError = (error: Error): void => logger.debug({ err: error }, 'dtls client socket error');
  socket.on('error', onSocketError);

  let settle: ((error: Error | undefined) => void) | undefined;
  const done = new Promise<void>((resolve, reject) => {
    settle = (error) => (error === undefined ? resolve() : reject(error));
  });
  const pending = new PendingSends();
  // The hooks run only once the handshake has started, after `client` below exists.
  const conn = new DtlsConnection(
    {
      sendDatagram: (data) => client.sendDatagram(data),
      onEstablished: () => {
        settle?.(undefined);
        settle = undefined;
      },
      onApplicationData: (data) => client.deliver(data),
      onClosed: (error) => {
        // After the handshake `settle` is gone: a normal close builds no error object.
        settle?.(error ?? new DtlsNoSessionError('DTLS connection closed during the handshake'));
        void client.shutdown(error);
        socket.off('error', onSocketError);
      },
    },
    {
      logger,
      ...(options.mtu === undefined ? {} : { mtu: options.mtu }),
      ...(options.retransmit === undefined ? {} : { retransmit: options.retransmit }),
    },
  );
  const client = new DtlsClientConnection(socket, ownsSocket, conn, pending, options);
  const handshake = new ClientHandshake(conn, {
    peer: options.peer,
    psk: options.psk,
    ecdsa,
    cipherSuites: options.ciphers ?? DEFAULT_CIPHER_SUITES,
    resume: options.session,
    requireExtendedMasterSecret: options.requireExtendedMasterSecret ?? false,
    connectionId: options.connectionId === true ? new Uint8Array(0) : undefined,
    onEstablished: (session, identity) => client.setEstablished(session, identity),
  });
  conn.role = handshake;
  socket.on('message', client.onDatagram);

  const timeout = setTimeout(() => conn.terminate(new DtlsTimeoutError()), options.timeout ?? 60_000);
  const onAbort = (): void => conn.terminate(new AbortError('DTLS connect aborted'));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    handshake.start();
    await done;
    return client;
  } catch (error) {
    await client.shutdown(undefined);
    throw error;
  } finally {
    clearTimeout(timeout);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** Loads keys and certificates before the first datagram: a bad file fails the call, not the handshake. */
function clientEcdsa(options: EcdsaClientOptions): ClientEcdsaOptions {
  const anchors = options.trustAnchors === undefined ? [] : loadCertificates(options.trustAnchors);
  if (anchors.length === 0 && options.verifyRawPublicKey === undefined)
    throw new DtlsCredentialsError('ecdsa needs trustAnchors or verifyRawPublicKey to check the server');
  if (options.key === undefined && options.certificate !== undefined)
    throw new DtlsCredentialsError('ecdsa.certificate needs ecdsa.key');
  return {
    credentials:
      options.key === undefined ? undefined : loadEcdsaCredentials(options.key, options.certificate),
    rawPublicKey: options.rawPublicKey ?? options.certificate === undefined,
    serverTrust: { anchors, verifyRawPublicKey: options.verifyRawPublicKey, serverName: options.hostname },
  };
}
