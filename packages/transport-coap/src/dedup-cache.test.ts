import { DedupCache } from './dedup-cache.js';

describe('DedupCache', () => {
  it('finds a message by (address, port, message id) until it expires, with its reply', () => {
    let now = 1000;
    const cache = new DedupCache(100, () => now);
    expect(cache.find('10.0.0.1', 5683, 7)).toBe(0);
    const handle = cache.add('10.0.0.1', 5683, 7, 500);
    expect(cache.find('10.0.0.1', 5683, 7)).toBe(handle);
    expect(cache.reply(handle)).toBeUndefined();
    cache.setReply(handle, Uint8Array.of(1, 2));
    expect(cache.reply(cache.find('10.0.0.1', 5683, 7))).toEqual(Uint8Array.of(1, 2));
    // Another port, address or id is another message.
    expect(cache.find('10.0.0.1', 5684, 7)).toBe(0);
    expect(cache.find('10.0.0.2', 5683, 7)).toBe(0);
    expect(cache.find('10.0.0.1', 5683, 8)).toBe(0);
    now = 1500;
    expect(cache.find('10.0.0.1', 5683, 7)).toBe(0);
    cache.sweep();
    expect(cache.size).toBe(0);
  });

  it('evicts the oldest when full, growing its ring on the way, and ignores late replies to evicted entries', () => {
    const cache = new DedupCache(40, () => 0);
    const handles: number[] = [];
    for (let id = 0; id < 100; id++) handles.push(cache.add(`10.0.0.${id % 3}`, 40000 + id, id, 1000));
    expect(cache.size).toBe(40);
    for (let id = 0; id < 100; id++) {
      const found = cache.find(`10.0.0.${id % 3}`, 40000 + id, id);
      expect(found).toBe(id < 60 ? 0 : handles[id]);
    }
    cache.setReply(handles[10]!, Uint8Array.of(9));
    expect(cache.reply(handles[10]!)).toBeUndefined();
    cache.setReply(handles[99]!, Uint8Array.of(9));
    expect(cache.reply(handles[99]!)).toEqual(Uint8Array.of(9));
  });

  it('keeps finding entries across ring growth with a wrapped head', () => {
    let now = 0;
    const cache = new DedupCache(1000, () => now);
    // Fill 16, expire 10 from the front, add 20 more: the ring wraps, then grows.
    for (let id = 0; id < 16; id++) cache.add('a', 1, id, id < 10 ? 5 : 100);
    now = 10;
    cache.sweep();
    expect(cache.size).toBe(6);
    const later: number[] = [];
    for (let id = 16; id < 36; id++) later.push(cache.add('a', 1, id, 100));
    for (let id = 10; id < 36; id++) expect(cache.find('a', 1, id)).toBeGreaterThan(0);
    expect(cache.find('a', 1, 3)).toBe(0);
    cache.setReply(later[19]!, Uint8Array.of(5));
    expect(cache.reply(cache.find('a', 1, 35))).toEqual(Uint8Array.of(5));
  });

  it('lets a re-added key shadow the older entry without losing it on eviction', () => {
    const cache = new DedupCache(2, () => 0);
    const first = cache.add('a', 1, 1, 100);
    const second = cache.add('a', 1, 1, 100);
    expect(cache.find('a', 1, 1)).toBe(second);
    cache.add('b', 1, 1, 100); // evicts `first`, must not unmap `second`
    expect(cache.find('a', 1, 1)).toBe(second);
    expect(cache.reply(first)).toBeUndefined();
  });

  it('finds nothing before the first add, and records and finds messages again after clear()', () => {
    const cache = new DedupCache(4, () => 0);
    expect(cache.find('10.0.0.1', 5683, 1)).toBe(0);
    expect(cache.reply(1)).toBeUndefined();
    cache.setReply(1, Uint8Array.of(1));
    cache.sweep();
    expect(cache.size).toBe(0);
    const before = cache.add('10.0.0.1', 5683, 1, 100);
    cache.clear();
    expect(cache.find('10.0.0.1', 5683, 1)).toBe(0);
    expect(cache.reply(before)).toBeUndefined();
    const after = cache.add('10.0.0.1', 5683, 1, 100);
    expect(cache.find('10.0.0.1', 5683, 1)).toBe(after);
    cache.setReply(after, Uint8Array.of(2));
    expect(cache.reply(after)).toEqual(Uint8Array.of(2));
    for (let id = 2; id <= 5; id++) cache.add('10.0.0.1', 5683, id, 100);
    expect(cache.find('10.0.0.1', 5683, 1)).toBe(0);
    expect(cache.size).toBe(4);
  });
});
