/**
 * Hands out random bytes from a buffer filled in large chunks: one call into the CSPRNG per
 * `chunkSize` bytes instead of one per token (a per-token `randomBytes(8)` was the largest single
 * cost of sending a request). Returned arrays are views of a chunk that is never refilled, so a
 * token stays valid as long as it is held. Chunks start small and double up to `chunkSize`, so an
 * endpoint that sends little (a device registering once a day) does not hold kilobytes of
 * randomness, while a busy one soon draws in full chunks.
 */
/** The chunk before the first draw: shared, and immutable since it has no bytes. */
const NO_CHUNK: Uint8Array = new Uint8Array(0);

export class RandomPool {
  readonly #source: (size: number) => Uint8Array;
  readonly #chunkSize: number;
  #chunk: Uint8Array = NO_CHUNK;
  #offset = 0;
  #nextChunkSize = 64;

  constructor(source: (size: number) => Uint8Array, chunkSize = 4096) {
    this.#source = source;
    this.#chunkSize = chunkSize;
  }

  take(size: number): Uint8Array {
    if (this.#offset + size > this.#chunk.length) {
      const chunkSize = Math.min(this.#nextChunkSize, this.#chunkSize);
      this.#nextChunkSize = chunkSize * 2;
      this.#chunk = this.#source(Math.max(size, chunkSize));
      this.#offset = 0;
    }
    const start = this.#offset;
    this.#offset += size;
    return this.#chunk.subarray(start, start + size);
  }
}
