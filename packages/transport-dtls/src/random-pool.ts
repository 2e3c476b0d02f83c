import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 2048;

/**
 * Cryptographically random bytes drawn from a buffer refilled a few KiB at a time: one
 * randomFillSync call costs about as much for 2 KiB as for 16 bytes, and handshakes and CBC
 * records need many small pieces. Each byte is handed out once.
 */
export class RandomPool {
  private readonly pool = Buffer.allocUnsafe(POOL_SIZE);
  private at = POOL_SIZE;

  /** Copies `length` fresh random bytes to `target` at `offset` and returns that region. */
  take(target: Uint8Array, offset: number, length = 16): Uint8Array {
    if (this.at + length > POOL_SIZE) {
      randomFillSync(this.pool);
      this.at = 0;
    }
    target.set(this.pool.subarray(this.at, this.at + length), offset);
    this.at += length;
    return target.subarray(offset, offset + length);
  }

  /** `length` fresh random bytes in a new buffer. */
  bytes(length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    this.take(out, 0, length);
    return out;
  }
}
