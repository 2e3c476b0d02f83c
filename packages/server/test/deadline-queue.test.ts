import { createManualClock } from './harness.js';
import { createDeadlineQueue } from '../src/deadline-queue.js';

describe('deadline queue', () => {
  test('fires keys in due order on one timer; reschedule and cancel', () => {
    const clock = createManualClock(0);
    const fired: string[] = [];
    const queue = createDeadlineQueue<string>(clock, (key) => fired.push(key));
    queue.schedule('c', 300);
    queue.schedule('a', 100);
    queue.schedule('b', 200);
    queue.schedule('d', 400);
    expect(clock.pending).toBe(1);
    queue.schedule('a', 350); // moved later
    queue.cancel('d');
    clock.advance(250);
    expect(fired).toEqual(['b']);
    clock.advance(200);
    expect(fired).toEqual(['b', 'c', 'a']);
    expect(queue.size).toBe(0);
    expect(clock.pending).toBe(0);
  });

  test('100k keys, heavy rescheduling: stale entries are compacted and every key fires once', () => {
    const clock = createManualClock(0);
    const fired = new Map<number, number>();
    const queue = createDeadlineQueue<number>(clock, (key) => fired.set(key, (fired.get(key) ?? 0) + 1));
    for (let i = 0; i < 100_000; i++) queue.schedule(i, 1_000 + (i % 1000));
    for (let round = 0; round < 5; round++)
      for (let i = 0; i < 100_000; i += 3) queue.schedule(i, 2_000 + round + (i % 500));
    expect(clock.pending).toBe(1);
    clock.advance(10_000);
    expect(fired.size).toBe(100_000);
    expect([...fired.values()].every((n) => n === 1)).toBe(true);
  });

  test('a callback that throws does not stop the others', () => {
    const clock = createManualClock(0);
    const fired: number[] = [];
    const queue = createDeadlineQueue<number>(clock, (key) => {
      if (key === 1) throw new Error('boom');
      fired.push(key);
    });
    queue.schedule(1, 10);
    queue.schedule(2, 10);
    clock.advance(10);
    expect(fired).toEqual([2]);
  });
});
