import { createECDH, sign, verify, type ECDH, type KeyObject } from 'node:crypto';
import { AlertDescription, DtlsHandshakeError } from './errors.js';

/** NamedGroup secp256r1 (RFC 8422 §5.1.1): the only curve of RFC 7925 §4.3. */
export const SECP256R1 = 23;
/** ECPointFormat uncompressed (RFC 8422 §5.1.2). */
export const POINT_FORMAT_UNCOMPRESSED = 0;
/** SignatureScheme ecdsa_secp256r1_sha256 = hash sha256 (4), signature ecdsa (3). */
export const ECDSA_SECP256R1_SHA256 = 0x0403;
/** An uncompressed P-256 point: 0x04, x, y. */
const POINT_LENGTH = 65;

/** One ephemeral P-256 key pair for one handshake. */
export class EphemeralKey {
  private readonly ecdh: ECDH = createECDH('prime256v1');
  /** Our public point, uncompressed. */
  readonly publicPoint: Buffer = this.ecdh.generateKeys();

  /**
   * The premaster secret (the x coordinate, RFC 8422 §5.10) with the peer's point. A point that is
   * not uncompressed, not 65 bytes or not on the curve is an illegal_parameter.
   */
  sharedSecret(peerPoint: Uint8Array): Buffer {
    if (peerPoint.length !== POINT_LENGTH || peerPoint[0] !== 4) {
      throw new DtlsHandshakeError(
        'ECDH point is not an uncompressed P-256 point',
        AlertDescription.illegalParameter,
      );
    }
    try {
      return this.ecdh.computeSecret(peerPoint);
    } catch (error) {
      throw new DtlsHandshakeError('ECDH point is not on the curve', AlertDescription.illegalParameter, {
        cause: error,
      });
    }
  }
}

/** ECDSA P-256 with SHA-256, DER-encoded signature (RFC 8422 §5.4). */
export function signEcdsa(key: KeyObject, data: Uint8Array): Buffer {
  return sign('sha256', data, key);
}

/** False for a wrong or malformed signature; never throws. */
export function verifyEcdsa(key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verify('sha256', data, key, signature);
  } catch {
    return false;
  }
}
