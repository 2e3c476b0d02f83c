import { EventEmitter } from 'node:events';
import type {
  DatagramMessage,
  DatagramSocket,
  DatagramSocketEvents,
  PeerAddress,
  PeerIdentity,
} from '@lwm2m/core';
import { ClosedError, formatPeer } from '@lwm2m/core';

/**
 * An in-memory {@link DatagramSocket} for tests: datagrams go to the paired socket on a
 * microtask (a promise job, so jest fake timers do not hold them back). Tests can drop
 * datagrams, inject datagrams from any peer, and read what was sent.
 */
export class MemorySocket extends EventEmitter<DatagramSocketEvents> implements DatagramSocket {
  readonly local: PeerAddress;
  /** Every datagram this socket sent, in order. */
  readonly sent: { data: Uint8Array; peer: PeerAddress }[] = [];
  /** Return true to lose the datagram (it is still recorded in {@link sent}). */
  drop: ((data: Uint8Array, peer: PeerAddress) => boolean) | undefined;
  /** The identity the remote side sees on our datagrams (a stand-in for DTLS). */
  identity: PeerIdentity | undefined;
  /**
   * The address the remote side sees our datagrams come from, and the one it sends to to reach
   * us: a stand-in for a NAT mapping (change it to simulate NAT rebinding). Default `local`.
   */
  publicAddress: PeerAddress | undefined;
  #remote: MemorySocket | undefined;
  #closed = false;

  constructor(local: PeerAddress) {
    super();
    this.local = local;
  }

  connect(remote: MemorySocket): void {
    this.#remote = remote;
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(data: Uint8Array, peer: PeerAddress): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError('socket closed'));
    this.#transmit(data, peer);
    return Promise.resolve();
  }

  /** `DatagramSocket.sendNow`: like `send` without the Promise; dropped silently once closed. */
  sendNow(data: Uint8Array, peer: PeerAddress): void {
    if (!this.#closed) this.#transmit(data, peer);
  }

  #transmit(data: Uint8Array, peer: PeerAddress): void {
    const copy = Uint8Array.from(data);
    this.sent.push({ data: copy, peer });
    const remote = this.#remote;
    if (this.drop?.(copy, peer) === true || remote === undefined) return;
    if (formatPeer(peer) !== formatPeer(remote.publicAddress ?? remote.local)) return;
    const from = this.publicAddress ?? this.local;
    const message: DatagramMessage =
      this.identity === undefined
        ? { data: copy, peer: from }
        : { data: copy, peer: from, identity: this.identity };
    void Promise.resolve().then(() => remote.deliver(message));
  }

  /** Hands a datagram to this socket's listeners as if it came from `peer`. */
  inject(data: Uint8Array, peer: PeerAddress, identity?: PeerIdentity): void {
    this.deliver(identity === undefined ? { data, peer } : { data, peer, identity });
  }

  deliver(message: DatagramMessage): void {
    if (!this.#closed) this.emit('message', message);
  }

  address(): PeerAddress {
    if (this.#closed) throw new ClosedError('socket closed');
    return this.local;
  }

  maxDatagramSize(): number {
    return 1152;
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.emit('close');
    }
    return Promise.resolve();
  }
}

/** Two connected in-memory sockets, by default 10.0.0.1:5683 and 10.0.0.2:56830. */
export function createMemorySocketPair(
  a: PeerAddress = { address: '10.0.0.1', port: 5683 },
  b: PeerAddress = { address: '10.0.0.2', port: 56830 },
): [MemorySocket, MemorySocket] {
  const left = new MemorySocket(a);
  const right = new MemorySocket(b);
  left.connect(right);
  right.connect(left);
  return [left, right];
}
