import { SessionCache, type ResumableSession } from './session-cache.js';

const session = (id: number, createdAt = 0): ResumableSession => ({
  sessionId: Buffer.alloc(32, id),
  masterSecret: Buffer.alloc(48, id),
  cipherSuite: 0xc0a8,
  identity: `id${id}`,
  extendedMasterSecret: true,
  createdAt,
});

describe('SessionCache', () => {
  it('is bounded and evicts the least recently used entry', () => {
    const cache = new SessionCache(2, 1000, () => 0);
    cache.set(session(1));
    cache.set(session(2));
    cache.get(Buffer.alloc(32, 1)); // 1 is now more recent than 2
    cache.set(session(3));
    expect(cache.size).toBe(2);
    expect(cache.get(Buffer.alloc(32, 2))).toBeUndefined();
    expect(cache.get(Buffer.alloc(32, 1))?.identity).toBe('id1');
    expect(cache.get(Buffer.alloc(32, 3))?.identity).toBe('id3');
  });

  it('never returns an expired session', () => {
    let now = 0;
    const cache = new SessionCache(10, 1000, () => now);
    cache.set(session(1, 0));
    now = 1001;
    expect(cache.get(Buffer.alloc(32, 1))).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});
