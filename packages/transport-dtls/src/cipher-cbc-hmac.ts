import { createCipheriv, createDecipheriv, createHash, timingSafeEqual } from 'node:crypto';
import { HmacSha256 } from './hmac-sha256.js';
import { RandomPool } from './random-pool.js';
import {
  additionalData,
  cidAdditionalData,
  RECORD_HEADER_LENGTH,
  writeCidRecordHeader,
  writeRecordHeader,
  type RecordCipher,
} from './record-cipher.js';

const BLOCK = 16;
const MAC = 32;
const SHA256_BLOCK = 64;
/** The 0x80 byte and the 64-bit length SHA-256 appends before the last compression. */
const SHA256_TRAILER = 9;
/** HMAC's inner hash: the key block (64) then the 13-byte MAC header, then the content. */
const HMAC_INNER_PREFIX = SHA256_BLOCK + 13;
/** With a connection id the MAC header is 23 bytes plus the CID (RFC 9146 §5.1). */
const HMAC_INNER_PREFIX_CID = SHA256_BLOCK + 23;
/** Largest dummy hash input: a record carries at most 2^14 + 2048 bytes. */
const ZEROS = new Uint8Array(16384 + 2048 + SHA256_BLOCK);

/** SHA-256 compressions for a message of `length` bytes. */
export function sha256Compressions(length: number): number {
  return Math.ceil((length + SHA256_TRAILER) / SHA256_BLOCK);
}

/**
 * How many compressions a dummy SHA-256 must run after the record MAC over `contentLength`
 * bytes, so that MAC + dummy always cost the compressions of the longest possible content
 * (`maxContentLength`, zero padding) plus one: a hash of k * 64 - 9 bytes runs exactly k.
 */
export function dummyCompressions(
  contentLength: number,
  maxContentLength: number,
  prefix = HMAC_INNER_PREFIX,
): number {
  return sha256Compressions(prefix + maxContentLength) - sha256Compressions(prefix + contentLength) + 1;
}

/**
 * AES-128-CBC with HMAC-SHA256, MAC-then-encrypt (RFC 5246 §6.2.3.2) with an explicit random IV per
 * record. The padding and MAC are checked without branching on secret data, and the number of
 * SHA-256 compressions does not depend on the padding length, so that a padding error and a MAC
 * error look the same to a peer measuring response times (Lucky Thirteen). What remains is
 * JavaScript-level work (copy lengths, where the MAC is read), far below network jitter.
 */
export class CbcHmacCipher implements RecordCipher {
  readonly overhead = BLOCK + MAC + BLOCK;
  private readonly key: Buffer;
  private readonly mac: HmacSha256;
  private readonly aad = Buffer.allocUnsafe(13);
  private readonly ivs = new RandomPool();

  constructor(key: Uint8Array, macKey: Uint8Array) {
    this.key = Buffer.from(key);
    this.mac = new HmacSha256(macKey);
  }

  sealRecord(
    type: number,
    version: number,
    epoch: number,
    seq: number,
    plaintext: Uint8Array,
    cid?: Uint8Array,
  ): Uint8Array {
    const mac = this.mac.digest(
      cid === undefined
        ? additionalData(type, version, epoch, seq, plaintext.length, this.aad)
        : cidAdditionalData(version, epoch, seq, cid, plaintext.length),
      plaintext,
    );
    const unpadded = plaintext.length + MAC + 1;
    const padLength = (BLOCK - (unpadded % BLOCK)) % BLOCK;
    const body = Buffer.allocUnsafe(unpadded + padLength);
    body.set(plaintext, 0);
    mac.copy(body, plaintext.length);
    body.fill(padLength, plaintext.length + MAC);
    const header = RECORD_HEADER_LENGTH + (cid?.length ?? 0);
    const out = Buffer.allocUnsafe(header + BLOCK + body.length);
    if (cid === undefined) writeRecordHeader(out, type, version, epoch, seq, BLOCK + body.length);
    else writeCidRecordHeader(out, version, epoch, seq, cid, BLOCK + body.length);
    const iv = this.ivs.take(out, header);
    const cipher = createCipheriv('aes-128-cbc', this.key, iv);
    cipher.setAutoPadding(false);
    // No padding is added and the body is whole blocks, so update() returns all of it.
    out.set(cipher.update(body), header + BLOCK);
    cipher.final();
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
    const cipherLength = fragment.length - BLOCK;
    if (cipherLength < MAC + BLOCK || cipherLength % BLOCK !== 0) return undefined;
    let plain: Buffer;
    try {
      const decipher = createDecipheriv('aes-128-cbc', this.key, fragment.subarray(0, BLOCK));
      decipher.setAutoPadding(false);
      plain = Buffer.concat([decipher.update(fragment.subarray(BLOCK)), decipher.final()]);
    } catch {
      return undefined;
    }
    const n = plain.length;
    const padLength = plain[n - 1] ?? 0;
    // good is 1 when the padding fits in front of the MAC, 0 otherwise, computed without a branch.
    let good = ((n - MAC - 1 - padLength) >>> 31) ^ 1;
    // Look at the last 256 bytes whatever padLength says; a byte inside the padding must equal padLength.
    const scan = Math.min(256, n);
    for (let i = 1; i <= scan; i++) {
      const inPadding = ((padLength - (i - 1)) >>> 31) ^ 1; // 1 when i - 1 <= padLength
      const differs = (plain[n - i] ?? 0) ^ padLength;
      // differs !== 0 and inPadding: padding is bad.
      good &= ~(inPadding & (((differs | -differs) >>> 31) & 1)) & 1;
    }
    // On bad padding, pretend there was none so that the MAC is still computed over similar data.
    const contentLength = n - MAC - 1 - good * padLength;
    const expected = this.mac.digest(
      cid === undefined
        ? additionalData(type, version, epoch, seq, contentLength, this.aad)
        : cidAdditionalData(version, epoch, seq, cid, contentLength),
      plain.subarray(0, contentLength),
    );
    // Lucky Thirteen: the HMAC above costs one SHA-256 compression per 64 bytes, so its time
    // tells how long the padding was. Run the compressions a zero-length padding would have
    // needed and that this record did not, so that every record of this size costs the same.
    const extra = dummyCompressions(
      contentLength,
      n - MAC - 1,
      cid === undefined ? HMAC_INNER_PREFIX : HMAC_INNER_PREFIX_CID + cid.length,
    );
    createHash('sha256')
      .update(ZEROS.subarray(0, extra * SHA256_BLOCK - SHA256_TRAILER))
      .digest();
    const macOk = timingSafeEqual(expected, plain.subarray(contentLength, contentLength + MAC)) ? 1 : 0;
    if ((good & macOk) === 0) return undefined;
    return plain.subarray(0, contentLength);
  }
}
