import { createCipheriv, type Cipher } from 'node:crypto';

const BLOCK = 16;
const TAG = 8;
const NONCE = 12;
/** B0 flags (RFC 3610 §2.2): Adata, M' = (8 - 2) / 2 = 3, L' = L - 1 = 2 (12-byte nonce, L = 3). */
const B0_FLAGS = 0x40 | (3 << 3) | 2;
/** Counter block flags: L' only. */
const CTR_FLAGS = 2;
/** Longest plaintext a 3-byte length field allows. */
const MAX_LENGTH = 0xffffff;
/** Nonce bytes 6..11, read as a 48-bit counter: in DTLS the low 6 bytes of epoch + sequence number. */
const COUNTER_AT = 6;
const MAX_COUNTER = 0xffffffffffff;
/**
 * Keystream blocks one AES-ECB call computes ahead. A node:crypto `update()` costs about the same
 * for 16 bytes as for 768 (the call, not AES, dominates), so one call serves the next few records.
 */
const BATCH_BLOCKS = 48;
/** Fewest keystream blocks kept per nonce in a batch (S0 and 48 bytes of payload). */
const MIN_STRIDE = 4;
/** Scratch views are cached per block count up to this many blocks. */
const MAX_CACHED_VIEW = 80;

/**
 * AES-CCM with an 8-byte tag and 12-byte nonce (RFC 3610, NIST SP 800-38C), built on two AES
 * cipher objects made once per key: node:crypto's own 'aes-128-ccm' needs a new cipher object
 * for every nonce, which costs more than protecting a small record.
 *
 * - CTR mode: the counter blocks depend on the nonce only, so one AES-ECB `update()` computes the
 *   keystream for this nonce and for the next ones, whose last 6 bytes count up (a DTLS nonce is
 *   salt + epoch + sequence number, and sequence numbers count up in each direction). A later call
 *   with one of those nonces, and a payload that fits, uses that keystream without a node:crypto call.
 * - CBC-MAC: one AES-CBC `update()` over the formatted input. The CBC object carries its chaining
 *   value from one call to the next, so the first block of each MAC input is XORed with that
 *   value: the result is the CBC-MAC with a zero IV.
 *
 * The tag check folds all differences into one value before it tests anything (constant time).
 */
export class AesCcm8 {
  private readonly ecb: Cipher;
  private readonly cbc: Cipher;
  /** The CBC object's chaining value: the last block it produced (zero before the first call). */
  private readonly chain = Buffer.alloc(BLOCK);
  /** Scratch for counter blocks and MAC input, grown to the largest record seen; calls are synchronous. */
  private scratch = Buffer.alloc(0);
  /** Views of the scratch by whole block count, so that a call does not make a new one. */
  private views: Buffer[] = [];
  /** Keystream of `streamNonces` consecutive nonces, `streamStride` blocks (S0, S1...) each. */
  private stream = Buffer.alloc(0);
  /** Nonce bytes 0..5 of the batch; only the counter in bytes 6..11 differs between its nonces. */
  private readonly streamPrefix = Buffer.alloc(COUNTER_AT);
  private streamCounter = -1;
  private streamNonces = 0;
  private streamStride = 0;

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
    const macAt = mac.length - BLOCK;
    const at = this.keystream(nonce, length);
    const stream = this.stream;
    const body = at + BLOCK;
    for (let i = 0; i < length; i++) out[offset + i] = plaintext[i]! ^ stream[body + i]!;
    const tagAt = offset + length;
    for (let i = 0; i < TAG; i++) out[tagAt + i] = mac[macAt + i]! ^ stream[at + i]!;
  }

  /**
   * Opens `sealed[start, end)`, ciphertext followed by the 8-byte tag: the plaintext (a new
   * buffer), or undefined when the tag does not verify or there is no room for one.
   */
  open(
    nonce: Uint8Array,
    aad: Uint8Array,
    sealed: Uint8Array,
    start: number,
    end: number,
  ): Buffer | undefined {
    if (end - start < TAG) return undefined;
    return this.openParts(nonce, aad, sealed, start, end - start - TAG, sealed, end - TAG);
  }

  /** The plaintext, or undefined when the tag does not verify. */
  decrypt(nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array): Buffer | undefined {
    if (tag.length !== TAG) return undefined;
    return this.openParts(nonce, aad, ciphertext, 0, ciphertext.length, tag, 0);
  }

  private openParts(
    nonce: Uint8Array,
    aad: Uint8Array,
    ciphertext: Uint8Array,
    start: number,
    length: number,
    tag: Uint8Array,
    tagAt: number,
  ): Buffer | undefined {
    checkSizes(nonce, aad, length);
    const at = this.keystream(nonce, length);
    const stream = this.stream;
    const body = at + BLOCK;
    const plain = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i++) plain[i] = ciphertext[start + i]! ^ stream[body + i]!;
    const mac = this.cbcMac(nonce, aad, plain);
    const macAt = mac.length - BLOCK;
    // Constant time: every byte of the tag is compared before the result is looked at.
    let difference = 0;
    for (let i = 0; i < TAG; i++) difference |= mac[macAt + i]! ^ stream[at + i]! ^ tag[tagAt + i]!;
    return difference === 0 ? plain : undefined;
  }

  /**
   * Where in `this.stream` the keystream for `nonce` starts: S0 (for the tag), then S1, S2... (for
   * the payload), AES of counter blocks A0, A1... Computes a new batch when the current one does
   * not hold this nonce with enough blocks.
   */
  private keystream(nonce: Uint8Array, length: number): number {
    const blocks = 1 + Math.ceil(length / BLOCK);
    const counter = readCounter(nonce);
    const index = counter - this.streamCounter;
    if (index >= 0 && index < this.streamNonces && blocks <= this.streamStride && this.samePrefix(nonce))
      return index * this.streamStride * BLOCK;
    // Room for a slightly longer payload next time, so that sizes near a block edge do not miss.
    const stride = Math.max(MIN_STRIDE, blocks + 1);
    // The lookahead doubles with each batch up to BATCH_BLOCKS, so that a key that protects a few
    // records only (a handshake's Finished and close_notify) does not pay for many.
    const most = Math.max(1, Math.floor(BATCH_BLOCKS / stride));
    const nonces = Math.min(most, 2 * this.streamNonces || 1, MAX_COUNTER - counter + 1);
    const counters = this.take(nonces * stride);
    for (let n = 0; n < nonces; n++) {
      const value = counter + n;
      const high = Math.floor(value / 0x100000000);
      const low = value >>> 0;
      for (let b = 0; b < stride; b++) {
        const at = (n * stride + b) * BLOCK;
        counters[at] = CTR_FLAGS;
        for (let i = 0; i < COUNTER_AT; i++) counters[at + 1 + i] = nonce[i]!;
        counters[at + 7] = (high >>> 8) & 0xff;
        counters[at + 8] = high & 0xff;
        counters[at + 9] = low >>> 24;
        counters[at + 10] = (low >>> 16) & 0xff;
        counters[at + 11] = (low >>> 8) & 0xff;
        counters[at + 12] = low & 0xff;
        counters[at + 13] = b >>> 16;
        counters[at + 14] = (b >>> 8) & 0xff;
        counters[at + 15] = b & 0xff;
      }
    }
    this.stream = this.ecb.update(counters);
    for (let i = 0; i < COUNTER_AT; i++) this.streamPrefix[i] = nonce[i]!;
    this.streamCounter = counter;
    this.streamNonces = nonces;
    this.streamStride = stride;
    return 0;
  }

  private samePrefix(nonce: Uint8Array): boolean {
    const prefix = this.streamPrefix;
    for (let i = 0; i < COUNTER_AT; i++) if (prefix[i] !== nonce[i]) return false;
    return true;
  }

  /**
   * CBC-MAC of B0 | encoded additional data | payload, each zero-padded to whole blocks. Returns
   * the CBC output: the MAC is its last block.
   */
  private cbcMac(nonce: Uint8Array, aad: Uint8Array, payload: Uint8Array): Buffer {
    const length = payload.length;
    const aadBlocks = Math.ceil((2 + aad.length) / BLOCK);
    const payloadAt = BLOCK + aadBlocks * BLOCK;
    const input = this.take(aadBlocks + 1 + Math.ceil(length / BLOCK));
    const chain = this.chain;
    input[0] = B0_FLAGS ^ chain[0]!;
    for (let i = 0; i < NONCE; i++) input[1 + i] = nonce[i]! ^ chain[1 + i]!;
    input[13] = (length >>> 16) ^ chain[13]!;
    input[14] = ((length >>> 8) & 0xff) ^ chain[14]!;
    input[15] = (length & 0xff) ^ chain[15]!;
    input[BLOCK] = aad.length >>> 8;
    input[BLOCK + 1] = aad.length & 0xff;
    input.set(aad, BLOCK + 2);
    for (let i = BLOCK + 2 + aad.length; i < payloadAt; i++) input[i] = 0;
    input.set(payload, payloadAt);
    for (let i = payloadAt + length; i < input.length; i++) input[i] = 0;
    const output = this.cbc.update(input);
    const last = output.length - BLOCK;
    for (let i = 0; i < BLOCK; i++) chain[i] = output[last + i]!;
    return output;
  }

  /** A view of `blocks` whole blocks of scratch; their content is whatever the last call left. */
  private take(blocks: number): Buffer {
    const size = blocks * BLOCK;
    if (this.scratch.length < size) {
      this.scratch = Buffer.allocUnsafe(Math.max(size, 256));
      this.views = [];
    }
    if (blocks > MAX_CACHED_VIEW) return this.scratch.subarray(0, size);
    return (this.views[blocks] ??= this.scratch.subarray(0, size));
  }
}

/** Nonce bytes 6..11 as a number (48 bits fit a double exactly). */
function readCounter(nonce: Uint8Array): number {
  return (
    ((nonce[6]! << 8) | nonce[7]!) * 0x100000000 +
    (((nonce[8]! << 24) | (nonce[9]! << 16) | (nonce[10]! << 8) | nonce[11]!) >>> 0)
  );
}

function checkSizes(nonce: Uint8Array, aad: Uint8Array, length: number): void {
  // Longer additional data needs another length encoding (RFC 3610 §2.2); DTLS uses 13 bytes.
  if (nonce.length !== NONCE || aad.length >= 0xff00 || length > MAX_LENGTH) {
    throw new RangeError(
      'AES-CCM_8: nonce must be 12 bytes, additional data under 65280 bytes, payload under 16 MiB',
    );
  }
}
