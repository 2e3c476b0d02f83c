import type { Clock } from '@lwm2m/core';

/** Node timers cannot wait longer than this (2^31 - 1 ms); longer waits re-arm. */
const MAX_TIMER_DELAY = 2_147_483_647;

/**
 * Deadlines by key on ONE timer: a binary min-heap ordered by due time, so 100k registrations
 * (or awake windows) cost one timer, O(log n) per schedule, nothing per tick. Rescheduling a
 * key leaves its old heap entry behind as stale; stale entries are skipped when popped and the
 * heap is compacted when they outnumber the live ones.
 */
export interface DeadlineQueue<K> {
  /** Sets (or moves) the deadline of `key` to `dueAt` (epoch ms). */
  schedule(key: K, dueAt: number): void;
  cancel(key: K): void;
  dueAt(key: K): number | undefined;
  readonly size: number;
  /** Cancels everything and the timer. */
  clear(): void;
}

interface Entry<K> {
  readonly key: K;
  readonly dueAt: number;
}

export function createDeadlineQueue<K>(clock: Clock, onDue: (key: K) => void): DeadlineQueue<K> {
  const live = new Map<K, number>();
  const heap: Entry<K>[] = [];
  let timer: unknown;
  let timerDueAt = Infinity;

  function less(a: Entry<K>, b: Entry<K>): boolean {
    return a.dueAt < b.dueAt;
  }

  function push(entry: Entry<K>): void {
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as Entry<K>;
      if (!less(entry, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = entry;
  }

  function pop(): Entry<K> | undefined {
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    let i = 0;
    const n = heap.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && less(heap[right] as Entry<K>, heap[left] as Entry<K>) ? right : left;
      const c = heap[child] as Entry<K>;
      if (!less(c, last)) break;
      heap[i] = c;
      i = child;
    }
    heap[i] = last;
    return top;
  }

  function isStale(entry: Entry<K>): boolean {
    return live.get(entry.key) !== entry.dueAt;
  }

  function compact(): void {
    const entries = heap.filter((entry) => !isStale(entry));
    heap.length = 0;
    entries.sort((a, b) => a.dueAt - b.dueAt);
    // A sorted array is a valid heap.
    for (const entry of entries) heap.push(entry);
  }

  function arm(): void {
    while (heap.length > 0 && isStale(heap[0] as Entry<K>)) pop();
    const next = heap[0];
    if (next === undefined) {
      disarm();
      return;
    }
    if (timer !== undefined && timerDueAt <= next.dueAt) return;
    disarm();
    timerDueAt = next.dueAt;
    const delay = Math.min(Math.max(0, next.dueAt - clock.now()), MAX_TIMER_DELAY);
    timer = clock.setTimeout(fire, delay);
  }

  function disarm(): void {
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = undefined;
    timerDueAt = Infinity;
  }

  function fire(): void {
    timer = undefined;
    timerDueAt = Infinity;
    const now = clock.now();
    const due: K[] = [];
    while (heap.length > 0) {
      const top = heap[0] as Entry<K>;
      if (isStale(top)) {
        pop();
        continue;
      }
      if (top.dueAt > now) break;
      pop();
      live.delete(top.key);
      due.push(top.key);
    }
    arm();
    for (const key of due) {
      try {
        onDue(key);
      } catch {
        // A callback's failure must not stop the others nor the timer; callers log their own errors.
      }
    }
  }

  return {
    schedule(key, dueAt) {
      if (live.get(key) === dueAt) return;
      live.set(key, dueAt);
      push({ key, dueAt });
      if (heap.length > 64 && heap.length > 2 * live.size) compact();
      arm();
    },
    cancel(key) {
      if (!live.delete(key)) return;
      if (live.size === 0) {
        heap.length = 0;
        disarm();
      }
    },
    dueAt: (key) => live.get(key),
    get size() {
      return live.size;
    },
    clear() {
      live.clear();
      heap.length = 0;
      disarm();
    },
  };
}
