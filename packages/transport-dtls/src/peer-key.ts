import type { PeerAddress } from '@lwm2m/core';

/** Map key for a peer's transport address. */
export function peerKey(address: string, port: number): string {
  return `${address}|${port}`;
}

export function peerAddress(address: string, port: number, family: string): PeerAddress {
  return family === 'IPv6' ? { address, port, family: 'IPv6' } : { address, port, family: 'IPv4' };
}
