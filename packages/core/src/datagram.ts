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
  /** The bound local address; throws when not bound. */
  address(): PeerAddress;
  /** Largest payload one datagram should carry for this peer (after DTLS overhead). */
  maxDatagramSize?(peer: PeerAddress): number;
  on<E extends keyof DatagramSocketEvents>(event: E, listener: (...args: DatagramSocketEvents[E]) => void): this;
  off<E extends keyof DatagramSocketEvents>(event: E, listener: (...args: DatagramSocketEvents[E]) => void): this;
  /** Idempotent. */
  close(): Promise<void>;
}

export function formatPeer(peer: PeerAddress): string {
  return peer.address.includes(':') ? `[${peer.address}]:${peer.port}` : `${peer.address}:${peer.port}`;
}
