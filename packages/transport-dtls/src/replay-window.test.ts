import { ReplayWindow } from './replay-window.js';

describe('ReplayWindow (RFC 6347 §4.1.2.6)', () => {
  it('accepts new numbers once and refuses repeats', () => {
    const w = new ReplayWindow();
    for (const seq of [0, 1, 2, 5, 3]) {
      expect(w.check(seq)).toBe(true);
      w.accept(seq);
      expect(w.check(seq)).toBe(false);
    }
    expect(w.check(4)).toBe(true);
  });

  it('accepts late records inside the 64-record window and refuses older ones', () => {
    const w = new ReplayWindow();
    w.accept(100);
    expect(w.check(37)).toBe(true); // offset 63
    expect(w.check(36)).toBe(false); // offset 64
    w.accept(37);
    expect(w.check(37)).toBe(false);
    w.accept(69); // offset 31 / 32 boundary
    w.accept(68);
    expect(w.check(69)).toBe(false);
    expect(w.check(68)).toBe(false);
    expect(w.check(70)).toBe(true);
  });

  it('shifts seen bits correctly for every jump size', () => {
    for (let jump = 1; jump <= 70; jump++) {
      const w = new ReplayWindow();
      w.accept(1000);
      w.accept(999);
      w.accept(1000 + jump);
      // Seen numbers stay refused whether still in the window or pushed out of it.
      expect(w.check(1000)).toBe(false);
      expect(w.check(999)).toBe(false);
      expect(w.check(998)).toBe(jump + 2 < 64);
      expect(w.check(1000 + jump)).toBe(false);
    }
  });

  it('agrees with a reference set model on random sequences', () => {
    let state = 12345;
    const rand = (): number => (state = (state * 1103515245 + 12345) % 2 ** 31) % 200;
    const w = new ReplayWindow();
    const seen = new Set<number>();
    let top = -1;
    for (let i = 0; i < 5000; i++) {
      const seq = Math.max(0, top + 10 - rand());
      const expected = !seen.has(seq) && (seq > top || top - seq < 64);
      expect(w.check(seq)).toBe(expected);
      if (expected) {
        w.accept(seq);
        seen.add(seq);
        top = Math.max(top, seq);
      }
    }
  });

  it('handles 48-bit sequence numbers', () => {
    const w = new ReplayWindow();
    const big = 2 ** 48 - 2;
    w.accept(big);
    expect(w.check(big)).toBe(false);
    expect(w.check(big + 1)).toBe(true);
    expect(w.check(big - 1)).toBe(true);
  });
});
