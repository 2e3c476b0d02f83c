/** Where a datagram came from or goes to. */
export interface PeerAddress {
  readonly address: string;
  readonly port: number;
  readonly family?: 'IPv4' | 'IPv6';
}

/** Who the peer proved to be on a secure transport. Absent on NoSec. */
export type PeerIdentity =
  | { readonly kind: 'psk'; readonly identity: string }
  | { readonly kind: 'rpk'; readonly publicKey: Uint8Array }
  | { readonly kind: 'x509'; readonly commonName: string; readonly certificate: Uint8Array };

export interface DatagramMessage {
  readonly data: Uint8Array;
  readonly peer: PeerAddress;
  readonly identity?: PeerIdentity;
}

export interface DatagramSocketEvents {
  message: [message: DatagramMessage];
  error: [error: Error];
  close: [];
}

/**
 * What a transport gives the CoAP layer: node:dgram for NoSec, a DTLS listener or connection for
 * CoAPS. CoAP never knows which one it runs on.
 */
export interface DatagramSocket {
  /** Sends one datagram; resolves when handed to the network (or, over DTLS, encrypted and sent). */
  send(data: Uint8Array, peer: PeerAddress): Promise<void>;
  /**
   * Optional fast path: sends one datagram now, without a Promise (fire and forget). CoAP uses it
   * when present, because a Promise per datagram is a measurable share of a request's cost.
   *
   * Contract:
   * - Never throws and never rejects anything: a datagram that cannot be sent (socket closed,
   *   no DTLS session for `peer`, network error) is dropped like a datagram lost on the network;
   *   CoAP's retransmission handles it as it handles loss. An implementation may report such a
   *   failure through its `error` event, but only when that event has a listener (an `error`
   *   event without one would throw).
   * - Datagrams go out in call order, also relative to `send()` calls.
   * - `data` is not modified by the caller afterwards (CoAP keeps it for retransmissions), so the
   *   socket may use it without a copy until sent; the socket must not modify it either.
   * - Over DTLS, a datagram for a connection whose handshake is not finished is queued or dropped
   *   as `send()` would do, never sent in the clear.
   */
  sendNow?(data: Uint8Array, peer: PeerAddress): void;
  /** The bound local address; throws when not bound. */
  address(): PeerAddress;
  /** Largest payload one datagram should carry for this peer (after DTLS overhead). */
  maxDatagramSize?(peer: PeerAddress): number;
  on<E extends keyof DatagramSocketEvents>(
    event: E,
    listener: (...args: DatagramSocketEvents[E]) => void,
  ): this;
  off<E extends keyof DatagramSocketEvents>(
    event: E,
    listener: (...args: DatagramSocketEvents[E]) => void,
  ): this;
  /** Idempotent. */
  close(): Promise<void>;
}

export function formatPeer(peer: PeerAddress): string {
  return peer.address.includes(':') ? `[${peer.address}]:${peer.port}` : `${peer.address}:${peer.port}`;
}
