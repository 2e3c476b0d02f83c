import { TimerQueue } from './timer-queue.js';
import type { TimerEntry } from './timer-queue.js';

interface Entry extends TimerEntry {
  readonly name: string;
}

function entry(name: string): Entry {
  return { name, dueAt: 0, heapIndex: -1, timerSeq: 0 };
}

describe('TimerQueue', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('fires entries at their due time, in due order, same-time ones in scheduling order', () => {
    const fired: string[] = [];
    const queue = new TimerQueue<Entry>(
      (e) => fired.push(`${e.name}@${Date.now() - start}`),
      () => undefined,
    );
    const start = Date.now();
    const [a, b, c, d] = [entry('a'), entry('b'), entry('c'), entry('d')];
    queue.schedule(a, 300);
    queue.schedule(b, 100);
    queue.schedule(c, 300);
    queue.schedule(d, 200);
    jest.advanceTimersByTime(99);
    expect(fired).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(fired).toEqual(['b@100']);
    jest.advanceTimersByTime(200);
    expect(fired).toEqual(['b@100', 'd@200', 'a@300', 'c@300']);
    expect(queue.size).toBe(0);
  });

  it('cancels and reschedules without firing the old time, using one Node timer', () => {
    const fired: string[] = [];
    const queue = new TimerQueue<Entry>(
      (e) => fired.push(e.name),
      () => undefined,
    );
    const entries = Array.from({ length: 100 }, (_, i) => entry(`e${i}`));
    entries.forEach((e, i) => queue.schedule(e, 1000 + i));
    expect(jest.getTimerCount()).toBe(1);
    for (let i = 0; i < 100; i += 2) queue.cancel(entries[i]!);
    queue.schedule(entries[1]!, 5000);
    jest.advanceTimersByTime(1100);
    expect(fired).toEqual(entries.filter((_, i) => i % 2 === 1 && i !== 1).map((e) => e.name));
    jest.advanceTimersByTime(5000);
    expect(fired.at(-1)).toBe('e1');
    expect(jest.getTimerCount()).toBe(0);
  });

  it('keeps going when a callback throws, and reports the error', () => {
    const errors: unknown[] = [];
    const fired: string[] = [];
    const queue = new TimerQueue<Entry>(
      (e) => {
        if (e.name === 'bad') throw new Error('boom');
        fired.push(e.name);
      },
      (error) => errors.push(error),
    );
    queue.schedule(entry('bad'), 10);
    queue.schedule(entry('good'), 10);
    jest.advanceTimersByTime(10);
    expect(fired).toEqual(['good']);
    expect(errors).toHaveLength(1);
  });

  it('lets a callback schedule again, and does nothing after close', () => {
    let count = 0;
    const queue = new TimerQueue<Entry>(
      (e) => {
        if (++count < 3) queue.schedule(e, 50);
      },
      () => undefined,
    );
    queue.schedule(entry('x'), 50);
    jest.advanceTimersByTime(1000);
    expect(count).toBe(3);
    queue.schedule(entry('y'), 10);
    queue.close();
    queue.schedule(entry('z'), 10);
    jest.advanceTimersByTime(100);
    expect(count).toBe(3);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('waits out delays beyond what one Node timer holds, and Infinity, without spinning', () => {
    const fired: string[] = [];
    const queue = new TimerQueue<Entry>(
      (e) => fired.push(e.name),
      () => undefined,
    );
    queue.schedule(entry('never'), Infinity);
    queue.schedule(entry('late'), 0x7fffffff + 1000);
    jest.advanceTimersByTime(0x7fffffff);
    expect(fired).toEqual([]);
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(1000);
    expect(fired).toEqual(['late']);
    jest.advanceTimersByTime(10 * 0x7fffffff);
    expect(fired).toEqual(['late']);
    queue.close();
  });

  it('hands its owner to onDue and onError, so many queues can share the same two functions', () => {
    const owner = { fired: [] as string[], errors: [] as unknown[] };
    const onDue = (e: Entry, o: typeof owner): void => {
      if (e.name === 'bad') throw new Error('boom');
      o.fired.push(e.name);
    };
    const onError = (error: unknown, o: typeof owner): void => {
      o.errors.push(error);
    };
    const first = new TimerQueue<Entry, typeof owner>(onDue, onError, owner);
    const second = new TimerQueue<Entry, typeof owner>(onDue, onError, owner);
    first.schedule(entry('a'), 10);
    second.schedule(entry('bad'), 20);
    second.schedule(entry('b'), 30);
    jest.advanceTimersByTime(30);
    expect(owner.fired).toEqual(['a', 'b']);
    expect(owner.errors).toEqual([new Error('boom')]);
    first.close();
    second.close();
  });
});
