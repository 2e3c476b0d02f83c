import { RandomPool } from './random-pool.js';

describe('RandomPool', () => {
  it('serves consecutive slices of one chunk and asks the source again only when it runs out', () => {
    const calls: number[] = [];
    let next = 0;
    const pool = new RandomPool((size) => {
      calls.push(size);
      return Uint8Array.from({ length: size }, () => next++ & 0xff);
    }, 16);
    const a = pool.take(8);
    const b = pool.take(8);
    const c = pool.take(8);
    expect([...a]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect([...b]).toEqual([8, 9, 10, 11, 12, 13, 14, 15]);
    expect([...c]).toEqual([16, 17, 18, 19, 20, 21, 22, 23]);
    expect(calls).toEqual([16, 16]);
    // Earlier slices are not overwritten by a refill.
    expect([...a]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('serves a request larger than the chunk size in one piece', () => {
    const pool = new RandomPool((size) => new Uint8Array(size).fill(7), 4);
    expect(pool.take(10)).toEqual(new Uint8Array(10).fill(7));
  });

  it('starts with small chunks and doubles them up to the chunk size', () => {
    const calls: number[] = [];
    const pool = new RandomPool((size) => {
      calls.push(size);
      return new Uint8Array(size);
    }, 512);
    for (let i = 0; i < 200; i++) pool.take(8);
    expect(calls.slice(0, 5)).toEqual([64, 128, 256, 512, 512]);
  });
});
