import { createCipheriv, createDecipheriv } from 'node:crypto';
import { AesCcm8 } from './aes-ccm8.js';
import {
  additionalData,
  cidAdditionalData,
  RECORD_HEADER_LENGTH,
  writeCidRecordHeader,
  writeEpochSeq,
  writeRecordHeader,
  type RecordCipher,
} from './record-cipher.js';

const EXPLICIT_NONCE = 8;
const TAG = 8;
const CCM8 = { authTagLength: TAG } as const;

/**
 * AES-128-CCM, 12-byte nonce, 8-byte tag, with node:crypto's own CCM: returns ciphertext followed
 * by the tag. The record layer uses the faster {@link AesCcm8}; this is its independent reference.
 */
export function ccm8Encrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
): Buffer {
  const cipher = createCipheriv('aes-128-ccm', key, nonce, CCM8);
  cipher.setAAD(aad, { plaintextLength: plaintext.length });
  const body = cipher.update(plaintext);
  cipher.final();
  return Buffer.concat([body, cipher.getAuthTag()]);
}

/** Inverse of {@link ccm8Encrypt}; undefined when the tag does not verify. */
export function ccm8Decrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array,
  sealed: Uint8Array,
): Buffer | undefined {
  if (sealed.length < TAG) return undefined;
  const length = sealed.length - TAG;
  try {
    const decipher = createDecipheriv('aes-128-ccm', key, nonce, CCM8);
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
 * of the ciphertext. The AES objects are made once per key ({@link AesCcm8}), the nonce and
 * additional data scratch buffers are reused, and a sealed record is written into one buffer.
 */
export class Ccm8Cipher implements RecordCipher {
  readonly overhead = EXPLICIT_NONCE + TAG;
  private readonly ccm: AesCcm8;
  private readonly nonce = Buffer.allocUnsafe(12);
  private readonly aad = Buffer.allocUnsafe(13);

  constructor(key: Uint8Array, salt: Uint8Array) {
    this.ccm = new AesCcm8(key);
    this.nonce.set(salt.subarray(0, 4), 0);
  }

  sealRecord(
    type: number,
    version: number,
    epoch: number,
    seq: number,
    plaintext: Uint8Array,
    cid?: Uint8Array,
  ): Uint8Array {
    const length = plaintext.length;
    const header = RECORD_HEADER_LENGTH + (cid?.length ?? 0);
    const out = Buffer.allocUnsafe(header + EXPLICIT_NONCE + length + TAG);
    if (cid === undefined) writeRecordHeader(out, type, version, epoch, seq, EXPLICIT_NONCE + length + TAG);
    else writeCidRecordHeader(out, version, epoch, seq, cid, EXPLICIT_NONCE + length + TAG);
    writeEpochSeq(out, header, epoch, seq); // the explicit nonce
    writeEpochSeq(this.nonce, 4, epoch, seq);
    this.ccm.encrypt(
      this.nonce,
      cid === undefined
        ? additionalData(type, version, epoch, seq, length, this.aad)
        : cidAdditionalData(version, epoch, seq, cid, length),
      plaintext,
      out,
      header + EXPLICIT_NONCE,
    );
    return out;
  }

  open(
    type: number,
    version: number,
    epoch: number,
    seq: number,
    fragment: Uint8Array,
    cid?: Uint8Array,
  ): Uint8Array | undefined {
    if (fragment.length < EXPLICIT_NONCE + TAG) return undefined;
    const length = fragment.length - EXPLICIT_NONCE - TAG;
    const nonce = this.nonce;
    for (let i = 0; i < EXPLICIT_NONCE; i++) nonce[4 + i] = fragment[i]!;
    return this.ccm.open(
      nonce,
      cid === undefined
        ? additionalData(type, version, epoch, seq, length, this.aad)
        : cidAdditionalData(version, epoch, seq, cid, length),
      fragment,
      EXPLICIT_NONCE,
      fragment.length,
    );
  }
}
