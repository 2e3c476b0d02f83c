import { timingSafeEqual } from 'node:crypto';
import { prf } from './prf.js';

/** RFC 4279 §2: uint16 N, N zero bytes, uint16 N, the PSK. */
export function pskPremaster(psk: Uint8Array): Uint8Array {
  const n = psk.length;
  const out = Buffer.alloc(4 + 2 * n);
  out.writeUInt16BE(n, 0);
  out.writeUInt16BE(n, 2 + n);
  out.set(psk, 4 + n);
  return out;
}

/**
 * Master secret: with extended master secret (RFC 7627 §4) it is bound to the session hash
 * (hash of the handshake up to and including ClientKeyExchange); otherwise RFC 5246 §8.1.
 */
export function masterSecret(
  premaster: Uint8Array,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
  sessionHash: Uint8Array | undefined,
): Uint8Array {
  if (sessionHash !== undefined) return prf(premaster, 'extended master secret', sessionHash, 48);
  return prf(premaster, 'master secret', Buffer.concat([clientRandom, serverRandom]), 48);
}

/** Finished.verify_data (RFC 5246 §7.4.9), 12 bytes. */
export function finishedVerifyData(
  master: Uint8Array,
  sender: 'client' | 'server',
  transcriptHash: Uint8Array,
): Uint8Array {
  return prf(master, sender === 'client' ? 'client finished' : 'server finished', transcriptHash, 12);
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
