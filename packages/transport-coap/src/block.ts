import { CoapMessageError } from './errors.js';

/** A decoded Block1/Block2 option (RFC 7959 §2.2). */
export interface BlockOption {
  /** Block number (0..2^20-1). */
  readonly num: number;
  /** More blocks follow. */
  readonly more: boolean;
  /** Size exponent: the block size is 2^(szx+4), 16..1024. */
  readonly szx: number;
}

export const MAX_BLOCK_NUMBER = 0xfffff;

export function blockSize(szx: number): number {
  return 1 << (szx + 4);
}

/** 16 → 0 ... 1024 → 6. Throws for sizes that are not a power of two in 16..1024. */
export function sizeToSzx(size: number): number {
  const szx = Math.log2(size) - 4;
  if (!Number.isInteger(szx) || szx < 0 || szx > 6) {
    throw new CoapMessageError(`block size ${size} is not a power of two in 16..1024`);
  }
  return szx;
}

/** Reads a Block option value; undefined when it is longer than 3 bytes or uses the reserved SZX 7. */
export function decodeBlock(value: Uint8Array): BlockOption | undefined {
  if (value.length > 3) return undefined;
  let raw = 0;
  for (let i = 0; i < value.length; i++) raw = (raw << 8) | value[i]!;
  const szx = raw & 0x07;
  if (szx === 7) return undefined;
  return { num: raw >> 4, more: (raw & 0x08) !== 0, szx };
}

export function encodeBlock(block: BlockOption): Uint8Array {
  if (!Number.isInteger(block.num) || block.num < 0 || block.num > MAX_BLOCK_NUMBER) {
    throw new CoapMessageError(`block number ${block.num} out of range`);
  }
  const raw = (block.num << 4) | (block.more ? 0x08 : 0) | block.szx;
  if (raw === 0) return new Uint8Array(0);
  if (raw < 0x100) return Uint8Array.of(raw);
  if (raw < 0x10000) return Uint8Array.of(raw >> 8, raw & 0xff);
  return Uint8Array.of(raw >> 16, (raw >> 8) & 0xff, raw & 0xff);
}

/** The slice of `body` that block `num` of size 2^(szx+4) carries, and whether more follow. */
export function sliceBlock(
  body: Uint8Array,
  num: number,
  szx: number,
): { data: Uint8Array; more: boolean } | undefined {
  const size = blockSize(szx);
  const start = num * size;
  if (start > body.length || (start === body.length && body.length > 0)) return undefined;
  const end = Math.min(start + size, body.length);
  return { data: body.subarray(start, end), more: end < body.length };
}

/**
 * Collects the blocks of one Block1 upload (or one Block2 download) in order. Refuses blocks
 * out of order and bodies over `maxSize`, so memory per transfer is bounded.
 */
export class BlockAssembler {
  readonly #chunks: Uint8Array[] = [];
  readonly #maxSize: number;
  #size = 0;
  #nextOffset = 0;
  /** The body size the sender announced (Size1 / Size2), if it did. */
  announcedSize: number | undefined = undefined;

  constructor(maxSize: number) {
    this.#maxSize = maxSize;
  }

  get size(): number {
    return this.#size;
  }

  /**
   * Adds the block at `num` with size exponent `szx`. Returns 'ok', 'duplicate' (a block already
   * stored, e.g. a retransmission after a lost 2.31), 'gap' (out of order) or 'too-large'.
   */
  add(num: number, szx: number, data: Uint8Array): 'ok' | 'duplicate' | 'gap' | 'too-large' {
    const offset = num * blockSize(szx);
    if (offset < this.#nextOffset) return 'duplicate';
    if (offset !== this.#nextOffset) return 'gap';
    if (this.#size + data.length > this.#maxSize) return 'too-large';
    // The datagram buffer may be reused by the transport, so keep a copy of the block.
    this.#chunks.push(data.slice());
    this.#size += data.length;
    this.#nextOffset += data.length;
    return 'ok';
  }

  /** The whole body (one copy, made once at the end). */
  body(): Uint8Array {
    if (this.#chunks.length === 1) return this.#chunks[0]!;
    const out = new Uint8Array(this.#size);
    let offset = 0;
    for (const chunk of this.#chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}
