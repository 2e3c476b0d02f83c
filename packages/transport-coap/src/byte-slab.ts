/**
 * Hands out small byte arrays as views of a shared 8 KiB ArrayBuffer. A `new Uint8Array(n)` per
 * outgoing message costs an ArrayBuffer with its own backing store, which V8 must track and free
 * one by one; views of a slab are plain objects. A slab lives while any of its views does, so
 * this suits many small, similarly short-lived arrays (datagrams), not large or long-kept ones.
 * Slabs start small and double up to `slabSize`, so an idle endpoint holds next to nothing.
 */
export class ByteSlab {
  readonly #slabSize: number;
  #buffer: ArrayBuffer | undefined;
  #nextSize = 512;
  #offset = 0;

  constructor(slabSize = 8192) {
    this.#slabSize = slabSize;
  }

  /** A zero-filled array of `size` bytes; sizes over a quarter slab get their own buffer. */
  take(size: number): Uint8Array {
    if (size > this.#slabSize >> 2) return new Uint8Array(size);
    if (this.#buffer === undefined || this.#offset + size > this.#buffer.byteLength) {
      const slabSize = Math.max(Math.min(this.#nextSize, this.#slabSize), size);
      this.#nextSize = slabSize * 2;
      this.#buffer = new ArrayBuffer(slabSize);
      this.#offset = 0;
    }
    const view = new Uint8Array(this.#buffer, this.#offset, size);
    // 8-byte alignment keeps views from sharing a cache line more than they must.
    this.#offset = (this.#offset + size + 7) & ~7;
    return view;
  }
}
