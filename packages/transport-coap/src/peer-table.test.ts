import { PeerTable } from './peer-table.js';
import type { PeerRecord } from './peer-table.js';

function table(
  options: { lifetime?: number; maxPeers?: number; starts?: number[]; wraps?: PeerRecord[] } = {},
) {
  let now = 1_000_000;
  const starts = options.starts ?? [100, 200, 300, 400, 500];
  let next = 0;
  const peers = new PeerTable({
    lifetime: options.lifetime ?? 247_000,
    maxPeers: options.maxPeers ?? 100,
    randomId: () => starts[next++ % starts.length]!,
    onWrap: (record) => options.wraps?.push(record),
    now: () => now,
  });
  return { peers, advance: (ms: number) => (now += ms) };
}

const none = (): boolean => false;

describe('PeerTable: message ids per peer (RFC 7252 §4.4)', () => {
  it('counts ids per peer from a random start, independent of other peers', () => {
    const { peers } = table({ starts: [100, 65535] });
    const a = peers.get('10.0.0.1', 5683);
    const b = peers.get('10.0.0.2', 5683);
    const ids = (record: PeerRecord, n: number): number[] =>
      Array.from({ length: n }, () => peers.nextKey(record, none) & 0xffff);
    expect(ids(a, 2)).toEqual([100, 101]);
    expect(ids(b, 3)).toEqual([65535, 0, 1]);
    expect(ids(a, 1)).toEqual([102]);
    // Composite keys differ per peer even for the same id.
    expect(peers.keyOf('10.0.0.1', 5683, 7)).not.toBe(peers.keyOf('10.0.0.2', 5683, 7));
    expect(peers.keyOf('10.0.0.3', 5683, 7)).toBe(-1);
    expect(peers.find('10.0.0.1', 5684)).toBeUndefined();
  });

  it('skips ids still in use', () => {
    const { peers } = table({ starts: [10] });
    const a = peers.get('a', 1);
    const busy = new Set([a.slot * 0x10000 + 11, a.slot * 0x10000 + 12]);
    expect(peers.nextKey(a, (key) => busy.has(key)) & 0xffff).toBe(10);
    expect(peers.nextKey(a, (key) => busy.has(key)) & 0xffff).toBe(13);
  });

  it('drops a record EXCHANGE_LIFETIME after its last id, unless something is held on it', () => {
    const { peers, advance } = table({ lifetime: 1000, starts: [100, 5000, 9000] });
    const a = peers.get('a', 1);
    const held = peers.nextKey(a, none);
    peers.hold(held);
    advance(1000);
    peers.sweep();
    expect(peers.find('a', 1)).toBe(a);
    peers.release(held);
    peers.sweep();
    expect(peers.find('a', 1)).toBeUndefined();
    const b = peers.get('b', 1);
    peers.nextKey(b, none);
    advance(999);
    peers.sweep();
    expect(peers.find('b', 1)).toBe(b);
    advance(1);
    peers.sweep();
    expect(peers.find('b', 1)).toBeUndefined();
    expect(peers.size).toBe(0);
    // A new record starts at a new random value.
    expect(peers.nextKey(peers.get('a', 1), none) & 0xffff).toBe(9000);
  });

  it('keeps at most maxPeers records, forgetting an idle one first', () => {
    const { peers } = table({ maxPeers: 2 });
    const a = peers.get('a', 1);
    peers.hold(peers.nextKey(a, none));
    const b = peers.get('b', 1);
    peers.get('c', 1);
    expect(peers.size).toBe(2);
    expect(peers.find('a', 1)).toBe(a); // held: kept
    expect(peers.find('b', 1)).toBeUndefined();
    expect(peers.find('c', 1)).toBeDefined();
    expect(b.slot).toBe(peers.find('c', 1)!.slot); // the slot is reused
  });

  it('reuses the oldest id when one peer gets more than 65536 ids within EXCHANGE_LIFETIME, and says so', () => {
    const wraps: PeerRecord[] = [];
    const { peers, advance } = table({ starts: [42], wraps });
    const a = peers.get('a', 1);
    const first = peers.nextKey(a, none) & 0xffff;
    for (let i = 1; i < 0x10000; i++) peers.nextKey(a, none);
    expect(wraps).toHaveLength(0);
    advance(10_000);
    // The 65537th id: the oldest one (handed out 10 s ago) comes round again.
    expect(peers.nextKey(a, none) & 0xffff).toBe(first);
    expect(wraps).toEqual([a]);
    for (let i = 0; i < 10; i++) peers.nextKey(a, none);
    expect(wraps).toHaveLength(1); // once per window
    advance(247_000);
    for (let i = 0; i <= 0x10000; i++) peers.nextKey(a, none);
    expect(wraps).toHaveLength(2);
  });

  it('move: the record, its counter and its slot go to the new address', () => {
    const { peers } = table({ starts: [100, 900] });
    const a = peers.get('10.0.0.1', 5683);
    peers.nextKey(a, none);
    const key = peers.nextKey(a, none); // id 101 in flight
    peers.hold(key);
    expect(peers.move('10.0.0.1', 5683, '203.0.113.9', 40000)).toBe(true);
    expect(peers.find('10.0.0.1', 5683)).toBeUndefined();
    expect(peers.find('203.0.113.9', 40000)).toBe(a);
    expect(peers.size).toBe(1);
    // An ACK from the new address finds the id in flight; the counter goes on.
    expect(peers.keyOf('203.0.113.9', 40000, 101)).toBe(key);
    expect(peers.nextKey(a, none) & 0xffff).toBe(102);
    // The old address starts afresh when used again.
    expect(peers.nextKey(peers.get('10.0.0.1', 5683), none) & 0xffff).toBe(900);
    expect(peers.move('10.0.0.7', 1, '10.0.0.8', 1)).toBe(false);
  });

  it('move: an idle record at the new address is replaced, a busy one is not', () => {
    const { peers } = table({ starts: [100, 500, 700] });
    const a = peers.get('a', 1);
    const b = peers.get('b', 1);
    expect(peers.move('a', 1, 'b', 1)).toBe(true);
    expect(peers.find('b', 1)).toBe(a);
    expect(peers.bySlot(b.slot * 65536)).toBeUndefined();
    expect(peers.size).toBe(1);
    const c = peers.get('c', 1);
    peers.hold(peers.nextKey(c, none));
    expect(peers.move('b', 1, 'c', 1)).toBe(false);
    expect(peers.find('b', 1)).toBe(a);
    expect(peers.find('c', 1)).toBe(c);
  });
});
