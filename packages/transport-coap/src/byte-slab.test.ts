import { ByteSlab } from './byte-slab.js';

describe('ByteSlab', () => {
  it('hands out disjoint zeroed views of one buffer until it is full, then starts another', () => {
    const slab = new ByteSlab(64);
    const a = slab.take(10);
    const b = slab.take(5);
    expect(a.buffer).toBe(b.buffer);
    expect([a.byteOffset, b.byteOffset]).toEqual([0, 16]);
    a.fill(1);
    expect([...b]).toEqual([0, 0, 0, 0, 0]);
    const c = slab.take(16);
    const d = slab.take(16);
    const e = slab.take(16);
    expect(c.buffer).toBe(a.buffer);
    expect(d.buffer).toBe(a.buffer);
    expect(e.buffer).not.toBe(a.buffer);
    expect(e.byteOffset).toBe(0);
  });

  it('gives large arrays their own buffer', () => {
    const slab = new ByteSlab(64);
    const big = slab.take(17);
    expect(big.byteOffset).toBe(0);
    expect(big.buffer.byteLength).toBe(17);
  });

  it('allocates nothing until used, then slabs that double up to the full size', () => {
    const slab = new ByteSlab(4096);
    const sizes: number[] = [];
    let last: ArrayBufferLike | undefined;
    for (let i = 0; i < 200; i++) {
      const view = slab.take(100);
      if (view.buffer !== last) sizes.push(view.buffer.byteLength);
      last = view.buffer;
    }
    expect(sizes.slice(0, 5)).toEqual([512, 1024, 2048, 4096, 4096]);
  });
});
