/**
 * A string-keyed map whose entries expire and whose size is bounded: when full, the oldest entry
 * goes. It has no timer of its own; the owner calls {@link sweep} from one periodic timer, and
 * reads check expiry so a late sweep never serves stale entries.
 */
export class ExpiringMap<V> {
  readonly #entries = new Map<string, { value: V; expiresAt: number }>();
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(maxEntries: number, now: () => number = Date.now) {
    this.#maxEntries = Math.max(1, maxEntries);
    this.#now = now;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Stores `value` for `ttl` ms; returns the entry evicted to make room, if any. */
  set(key: string, value: V, ttl: number): V | undefined {
    let evicted: V | undefined;
    if (!this.#entries.delete(key) && this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) {
        evicted = this.#entries.get(oldest.value)?.value;
        this.#entries.delete(oldest.value);
      }
    }
    this.#entries.set(key, { value, expiresAt: this.#now() + ttl });
    return evicted;
  }

  delete(key: string): boolean {
    return this.#entries.delete(key);
  }

  /** Drops expired entries; calls `onExpire` for each one dropped. */
  sweep(onExpire?: (value: V, key: string) => void): void {
    const now = this.#now();
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) {
        this.#entries.delete(key);
        onExpire?.(entry.value, key);
      }
    }
  }

  values(): IterableIterator<V> {
    const entries = this.#entries.values();
    return (function* () {
      for (const entry of entries) yield entry.value;
    })();
  }

  clear(): void {
    this.#entries.clear();
  }
}
