import { createCipheriv, createDecipheriv } from 'node:crypto';
import { additionalData, writeEpochSeq, type RecordCipher } from './record-cipher.js';

const EXPLICIT_NONCE = 8;
const TAG = 8;

/** AES-128-CCM, 12-byte nonce, 8-byte tag: returns ciphertext followed by the tag. */
export function ccm8Encrypt(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Buffer {
  const cipher = createCipheriv('aes-128-ccm', key, nonce, { authTagLength: TAG });
  cipher.setAAD(aad, { plaintextLength: plaintext.length });
  const body = cipher.update(plaintext);
  cipher.final();
  return Buffer.concat([body, cipher.getAuthTag()]);
}

/** Inverse of {@link ccm8Encrypt}; undefined when the tag does not verify. */
export function ccm8Decrypt(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Buffer | undefined {
  if (sealed.length < TAG) return undefined;
  const length = sealed.length - TAG;
  try {
    const decipher = createDecipheriv('aes-128-ccm', key, nonce, { authTagLength: TAG });
    decipher.setAuthTag(sealed.subarray(length));
    decipher.setAAD(aad, { plaintextLength: length });
    const plain = decipher.update(sealed.subarray(0, length));
    decipher.final();
    return plain;
  } catch {
    return undefined; // authentication failure
  }
}

/**
 * AES-128-CCM_8 record protection (RFC 6655 §3, RFC 7925 §3.3): nonce = 4-byte write IV salt +
 * 8-byte explicit nonce, which in DTLS is the record's epoch and sequence number, sent in front
 * of the ciphertext.
 */
export class Ccm8Cipher implements RecordCipher {
  readonly overhead = EXPLICIT_NONCE + TAG;
  private readonly key: Buffer;
  private readonly salt: Buffer;

  constructor(key: Uint8Array, salt: Uint8Array) {
    this.key = Buffer.from(key);
    this.salt = Buffer.from(salt);
  }

  seal(type: number, version: number, epoch: number, seq: number, plaintext: Uint8Array): Uint8Array {
    const nonce = Buffer.allocUnsafe(12);
    this.salt.copy(nonce, 0);
    writeEpochSeq(nonce, 4, epoch, seq);
    const sealed = ccm8Encrypt(this.key, nonce, additionalData(type, version, epoch, seq, plaintext.length), plaintext);
    return Buffer.concat([nonce.subarray(4), sealed]);
  }

  open(type: number, version: number, epoch: number, seq: number, fragment: Uint8Array): Uint8Array | undefined {
    if (fragment.length < EXPLICIT_NONCE + TAG) return undefined;
    const nonce = Buffer.allocUnsafe(12);
    this.salt.copy(nonce, 0);
    nonce.set(fragment.subarray(0, EXPLICIT_NONCE), 4);
    const length = fragment.length - EXPLICIT_NONCE - TAG;
    return ccm8Decrypt(this.key, nonce, additionalData(type, version, epoch, seq, length), fragment.subarray(EXPLICIT_NONCE));
  }
}
