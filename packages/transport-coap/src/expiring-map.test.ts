import { ExpiringMap } from './expiring-map.js';

describe('ExpiringMap', () => {
  it('expires entries on read and on sweep', () => {
    let now = 1000;
    const map = new ExpiringMap<string>(10, () => now);
    map.set('a', 'A', 100);
    map.set('b', 'B', 300);
    now = 1100;
    expect(map.get('a')).toBeUndefined();
    expect(map.get('b')).toBe('B');
    const expired: string[] = [];
    now = 1300;
    map.sweep((value) => expired.push(value));
    expect(expired).toEqual(['B']);
    expect(map.size).toBe(0);
  });

  it('evicts the oldest entry when full', () => {
    const map = new ExpiringMap<number>(2, () => 0);
    map.set('a', 1, 10);
    map.set('b', 2, 10);
    expect(map.set('c', 3, 10)).toBe(1);
    expect(map.get('a')).toBeUndefined();
    expect([...map.values()]).toEqual([2, 3]);
    expect(map.set('b', 4, 10)).toBeUndefined();
    expect(map.size).toBe(2);
  });
});

describe('ExpiringMap eviction order under churn', () => {
  it('evicts in insertion order after deletes and re-sets, and keeps its order array bounded', () => {
    const map = new ExpiringMap<number>(3, () => 0);
    map.set('a', 1, 10);
    map.set('b', 2, 10);
    map.set('c', 3, 10);
    map.delete('b');
    map.set('a', 4, 10); // re-set moves a to the newest position
    map.set('d', 5, 10);
    expect(map.set('e', 6, 10)).toBe(3); // c is now the oldest
    expect([...map.values()]).toEqual([4, 5, 6]);
    for (let i = 0; i < 10_000; i++) {
      map.set(`k${i}`, i, 10);
      map.delete(`k${i - 1}`);
    }
    // k0 evicted a, k1 evicted d; from then on every delete makes room for the next set.
    expect(map.size).toBe(2);
    expect([...map.values()]).toEqual([6, 9999]);
  });

  it('accepts numeric keys', () => {
    const map = new ExpiringMap<string, number>(2, () => 0);
    map.set(1, 'one', 10);
    map.set(2, 'two', 10);
    map.set(3, 'three', 10);
    expect(map.get(1)).toBeUndefined();
    expect(map.get(3)).toBe('three');
  });

  it('answers reads, deletes and sweeps before the first set, and works again after clear()', () => {
    const map = new ExpiringMap<string>(2, () => 0);
    expect(map.get('a')).toBeUndefined();
    expect(map.delete('a')).toBe(false);
    map.sweep(() => {
      throw new Error('nothing to expire');
    });
    expect([...map.values()]).toEqual([]);
    expect(map.size).toBe(0);
    map.set('a', 'A', 10);
    map.clear();
    expect(map.get('a')).toBeUndefined();
    expect(map.size).toBe(0);
    map.set('b', 'B', 10);
    map.set('c', 'C', 10);
    expect(map.set('d', 'D', 10)).toBe('B');
    expect([...map.values()]).toEqual(['C', 'D']);
  });
});
