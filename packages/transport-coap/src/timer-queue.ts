const MAX_TIMER_DELAY = 0x7fffffff;

/** What a {@link TimerQueue} tracks on each entry (the entry object itself is the timer: no allocation per schedule). */
export interface TimerEntry {
  /** @internal When the entry is due (Date.now() clock). */
  dueAt: number;
  /** @internal Position in the heap; -1 when not scheduled. */
  heapIndex: number;
  /** @internal Order of scheduling, so entries due at the same time fire in the order they were scheduled. */
  timerSeq: number;
}

/**
 * Many timeouts on one Node timer: a binary min-heap of entries by due time, with one
 * `setTimeout` armed for the earliest. Scheduling and cancelling are O(log n) and allocate
 * nothing; cancelling the earliest entry does not re-arm the Node timer (it fires, finds nothing
 * due, and re-arms), so the usual "answered before the retransmission" case costs no timer calls.
 * A callback that throws is reported to `onError` and never breaks the queue.
 *
 * Both callbacks get `owner` as their second argument, so an owner with many queues can hand each
 * the same shared functions instead of a closure per queue (thousands of idle endpoints hold
 * thousands of queues).
 */
export class TimerQueue<T extends TimerEntry, O = undefined> {
  readonly #heap: T[] = [];
  readonly #onDue: (entry: T, owner: O) => void;
  readonly #onError: (error: unknown, owner: O) => void;
  readonly #owner: O;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the armed Node timer fires; Infinity when none is armed. */
  #armedAt = Infinity;
  #seq = 0;
  #closed = false;

  constructor(onDue: (entry: T, owner: O) => void, onError: (error: unknown, owner: O) => void, owner?: O) {
    this.#onDue = onDue;
    this.#onError = onError;
    this.#owner = owner as O;
  }

  /** The Node timer's callback, shared by every queue (the queue rides along as the timer's argument). */
  static #fire<E extends TimerEntry, P>(queue: TimerQueue<E, P>): void {
    queue.#run();
  }

  get size(): number {
    return this.#heap.length;
  }

  /** (Re)schedules `entry` to be due `delay` ms from now. */
  schedule(entry: T, delay: number): void {
    if (this.#closed) return;
    if (entry.heapIndex >= 0) this.#remove(entry);
    entry.dueAt = Date.now() + delay;
    entry.timerSeq = this.#seq++;
    entry.heapIndex = this.#heap.length;
    this.#heap.push(entry);
    this.#siftUp(entry.heapIndex);
    if (entry.dueAt < this.#armedAt) this.#arm(entry.dueAt);
  }

  cancel(entry: T): void {
    if (entry.heapIndex >= 0) this.#remove(entry);
  }

  /** Drops every entry and the Node timer; later `schedule` calls do nothing. */
  close(): void {
    this.#closed = true;
    for (const entry of this.#heap) entry.heapIndex = -1;
    this.#heap.length = 0;
    this.#disarm();
  }

  #arm(dueAt: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    // Node fires longer delays (and Infinity) after 1 ms: wait at most the longest it takes, then look again.
    const delay = Math.min(MAX_TIMER_DELAY, Math.max(0, dueAt - Date.now()));
    this.#armedAt = Date.now() + delay;
    this.#timer = setTimeout(TimerQueue.#fire, delay, this);
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedAt = Infinity;
  }

  #run(): void {
    this.#timer = undefined;
    this.#armedAt = Infinity;
    const heap = this.#heap;
    const now = Date.now();
    while (heap.length > 0 && heap[0]!.dueAt <= now) {
      const entry = heap[0]!;
      this.#remove(entry);
      try {
        this.#onDue(entry, this.#owner);
      } catch (error) {
        this.#onError(error, this.#owner);
      }
    }
    const head = heap[0];
    if (head !== undefined && head.dueAt < this.#armedAt) this.#arm(head.dueAt);
  }

  #remove(entry: T): void {
    const heap = this.#heap;
    const index = entry.heapIndex;
    entry.heapIndex = -1;
    const last = heap.pop()!;
    if (last === entry) return;
    heap[index] = last;
    last.heapIndex = index;
    this.#siftUp(index);
    this.#siftDown(last.heapIndex);
  }

  #siftUp(start: number): void {
    const heap = this.#heap;
    let index = start;
    const entry = heap[index]!;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex]!;
      if (!before(entry, parent)) break;
      heap[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    heap[index] = entry;
    entry.heapIndex = index;
  }

  #siftDown(start: number): void {
    const heap = this.#heap;
    const length = heap.length;
    let index = start;
    const entry = heap[index]!;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      let child = left;
      if (right < length && before(heap[right]!, heap[left]!)) child = right;
      const smaller = heap[child]!;
      if (!before(smaller, entry)) break;
      heap[index] = smaller;
      smaller.heapIndex = index;
      index = child;
    }
    heap[index] = entry;
    entry.heapIndex = index;
  }
}

function before(a: TimerEntry, b: TimerEntry): boolean {
  return a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.timerSeq < b.timerSeq);
}
