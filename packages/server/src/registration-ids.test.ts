import { createRegistrationIdSource } from './registration-ids.js';

describe('createRegistrationIdSource', () => {
  it('cuts 12-hex-digit ids from one random chunk until it runs out', () => {
    const sizes: number[] = [];
    let fill = 0;
    const next = createRegistrationIdSource((size) => {
      sizes.push(size);
      fill++;
      return Buffer.alloc(size, fill);
    }, 12);
    expect([next(), next(), next()]).toEqual(['010101010101', '010101010101', '020202020202']);
    expect(sizes).toEqual([12, 12]);
  });

  it('gives distinct ids from the real CSPRNG', () => {
    const next = createRegistrationIdSource();
    const ids = new Set(Array.from({ length: 5000 }, () => next()));
    expect(ids.size).toBe(5000);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{12}$/);
  });

  it('keeps sources independent', () => {
    const a = createRegistrationIdSource((size) => Buffer.alloc(size, 0xaa));
    const b = createRegistrationIdSource((size) => Buffer.alloc(size, 0xbb));
    expect(a()).toBe('aaaaaaaaaaaa');
    expect(b()).toBe('bbbbbbbbbbbb');
  });
});
