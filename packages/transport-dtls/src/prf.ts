import { HmacSha256 } from './hmac-sha256.js';

/**
 * TLS 1.2 PRF with P_SHA256 (RFC 5246 §5): PRF(secret, label, seed) = P_SHA256(secret, label + seed).
 * Every cipher suite we support uses SHA-256 for the PRF.
 */
export function prf(secret: Uint8Array, label: string, seed: Uint8Array, length: number): Uint8Array {
  const mac = new HmacSha256(secret);
  const labelSeed = Buffer.concat([Buffer.from(label, 'latin1'), seed]);
  const out = Buffer.allocUnsafe(length);
  let a: Buffer = labelSeed; // A(0)
  let written = 0;
  while (written < length) {
    a = mac.digest(a);
    const block = mac.digest(a, labelSeed);
    written += block.copy(out, written, 0, Math.min(block.length, length - written));
  }
  return out;
}
