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
