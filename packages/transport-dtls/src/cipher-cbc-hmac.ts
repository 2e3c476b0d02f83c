import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { additionalData, type RecordCipher } from './record-cipher.js';

const BLOCK = 16;
const MAC = 32;

/**
 * AES-128-CBC with HMAC-SHA256, MAC-then-encrypt (RFC 5246 §6.2.3.2) with an explicit random IV per
 * record. The padding and MAC are checked without branching on secret data so that a padding
 * error and a MAC error look the same to a peer measuring response times.
 */
export class CbcHmacCipher implements RecordCipher {
  readonly overhead = BLOCK + MAC + BLOCK;
  private readonly key: Buffer;
  private readonly macKey: Buffer;

  constructor(key: Uint8Array, macKey: Uint8Array) {
    this.key = Buffer.from(key);
    this.macKey = Buffer.from(macKey);
  }

  seal(type: number, version: number, epoch: number, seq: number, plaintext: Uint8Array): Uint8Array {
    const mac = createHmac('sha256', this.macKey)
      .update(additionalData(type, version, epoch, seq, plaintext.length))
      .update(plaintext)
      .digest();
    const unpadded = plaintext.length + MAC + 1;
    const padLength = (BLOCK - (unpadded % BLOCK)) % BLOCK;
    const body = Buffer.allocUnsafe(unpadded + padLength);
    body.set(plaintext, 0);
    mac.copy(body, plaintext.length);
    body.fill(padLength, plaintext.length + MAC);
    const iv = randomBytes(BLOCK);
    const cipher = createCipheriv('aes-128-cbc', this.key, iv);
    cipher.setAutoPadding(false);
    const encrypted = Buffer.concat([iv, cipher.update(body), cipher.final()]);
    return encrypted;
  }

  open(type: number, version: number, epoch: number, seq: number, fragment: Uint8Array): Uint8Array | undefined {
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
    // The HMAC input length still depends on padLength by up to a few SHA-256 blocks (the
    // Lucky Thirteen residue); equalising compression rounds needs a custom HMAC and is not done.
    const contentLength = n - MAC - 1 - good * padLength;
    const expected = createHmac('sha256', this.macKey)
      .update(additionalData(type, version, epoch, seq, contentLength))
      .update(plain.subarray(0, contentLength))
      .digest();
    const macOk = timingSafeEqual(expected, plain.subarray(contentLength, contentLength + MAC)) ? 1 : 0;
    if ((good & macOk) === 0) return undefined;
    return plain.subarray(0, contentLength);
  }
}
