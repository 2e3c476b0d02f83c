import { createCipheriv, timingSafeEqual, type Cipher } from 'node:crypto';

const BLOCK = 16;
const TAG = 8;
const NONCE = 12;
/** B0 flags (RFC 3610 §2.2): Adata, M' = (8 - 2) / 2 = 3, L' = L - 1 = 2 (12-byte nonce, L = 3). */
const B0_FLAGS = 0x40 | (3 << 3) | 2;
/** Counter block flags: L' only. */
const CTR_FLAGS = 2;
/** Longest plaintext a 3-byte length field allows. */
const MAX_LENGTH = 0xffffff;

/**
 * AES-CCM with an 8-byte tag and 12-byte nonce (RFC 3610, NIST SP 800-38C), built on two AES
 * cipher objects made once per key: node:crypto's own 'aes-128-ccm' needs a new cipher object
 * for every nonce, which costs more than encrypting a small record. CTR mode is one AES-ECB
 * `update()` over all counter blocks; the CBC-MAC is one AES-CBC `update()` over the formatted
 * input. The CBC object carries its chaining value from one call to the next, so the first block
 * of each MAC input is XORed with that value: the result is the CBC-MAC with a zero IV.
 */
export class AesCcm8 {
  private readonly ecb: Cipher;
  private readonly cbc: Cipher;
  /** The CBC object's chaining value: the last block it produced (zero before the first call). */
  private readonly chain = Buffer.alloc(BLOCK);
  /** Scratch for counter blocks and MAC input, grown to the largest record seen; calls are synchronous. */
  private scratch = Buffer.alloc(0);

  constructor(key: Uint8Array) {
    const algorithm = key.length === 32 ? 'aes-256' : key.length === 24 ? 'aes-192' : 'aes-128';
    this.ecb = createCipheriv(`${algorithm}-ecb`, key, null).setAutoPadding(false);
    this.cbc = createCipheriv(`${algorithm}-cbc`, key, Buffer.alloc(BLOCK)).setAutoPadding(false);
  }

  /** Writes ciphertext then tag (`plaintext.length + 8` bytes) into `out` at `offset`. */
  encrypt(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array, offset: number): void {
    checkSizes(nonce, aad, plaintext.length);
    const length = plaintext.length;
    const mac = this.cbcMac(nonce, aad, plaintext);
    const stream = this.keystream(nonce, length);
    for (let i = 0; i < length; i++) out[offset + i] = plaintext[i]! ^ stream[BLOCK + i]!;
    for (let i = 0; i < TAG; i++) out[offset + length + i] = mac[i]! ^ stream[i]!;
  }

  /** The plaintext, or undefined when the tag does not verify. */
  decrypt(nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array): Buffer | undefined {
    if (tag.length !== TAG) return undefined;
    checkSizes(nonce, aad, ciphertext.length);
    const length = ciphertext.length;
    const stream = this.keystream(nonce, length);
    const plain = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i++) plain[i] = ciphertext[i]! ^ stream[BLOCK + i]!;
    const mac = this.cbcMac(nonce, aad, plain);
    for (let i = 0; i < TAG; i++) mac[i]! ^= stream[i]!;
    return timingSafeEqual(mac.subarray(0, TAG), tag) ? plain : undefined;
  }

  /** S0 (for the tag) then S1, S2... (for the payload): AES of counter blocks A0..An. */
  private keystream(nonce: Uint8Array, length: number): Buffer {
    const size = (1 + Math.ceil(length / BLOCK)) * BLOCK;
    const counters = this.take(size);
    for (let at = 0, b = 0; at < size; at += BLOCK, b++) {
      counters[at] = CTR_FLAGS;
      counters.set(nonce, at + 1);
      counters[at + 13] = b >>> 16;
      counters[at + 14] = (b >>> 8) & 0xff;
      counters[at + 15] = b & 0xff;
    }
    return this.ecb.update(counters);
  }

  /** CBC-MAC of B0 | encoded additional data | payload, each zero-padded to whole blocks. */
  private cbcMac(nonce: Uint8Array, aad: Uint8Array, payload: Uint8Array): Buffer {
    const aadBlocks = Math.ceil((2 + aad.length) / BLOCK);
    const payloadAt = BLOCK + aadBlocks * BLOCK;
    const input = this.take(payloadAt + Math.ceil(payload.length / BLOCK) * BLOCK);
    input.fill(0, BLOCK, payloadAt); // padding of the additional data block(s)
    input.fill(0, payloadAt + payload.length); // padding of the last payload block
    input[0] = B0_FLAGS;
    input.set(nonce, 1);
    input[13] = payload.length >>> 16;
    input[14] = (payload.length >>> 8) & 0xff;
    input[15] = payload.length & 0xff;
    input[BLOCK] = aad.length >>> 8;
    input[BLOCK + 1] = aad.length & 0xff;
    input.set(aad, BLOCK + 2);
    input.set(payload, payloadAt);
    for (let i = 0; i < BLOCK; i++) input[i]! ^= this.chain[i]!;
    const output = this.cbc.update(input);
    const last = output.subarray(output.length - BLOCK);
    this.chain.set(last);
    return last;
  }

  /** A view of `size` scratch bytes; their content is whatever the last call left. */
  private take(size: number): Buffer {
    if (this.scratch.length < size) this.scratch = Buffer.allocUnsafe(Math.max(size, 256));
    return this.scratch.subarray(0, size);
  }
}

function checkSizes(nonce: Uint8Array, aad: Uint8Array, length: number): void {
  // Longer additional data needs another length encoding (RFC 3610 §2.2); DTLS uses 13 bytes.
  if (nonce.length !== NONCE || aad.length >= 0xff00 || length > MAX_LENGTH) {
    throw new RangeError(
      'AES-CCM_8: nonce must be 12 bytes, additional data under 65280 bytes, payload under 16 MiB',
    );
  }
}
