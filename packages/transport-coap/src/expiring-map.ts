interface Slot<K, V> {
  readonly key: K;
  readonly value: V;
  readonly expiresAt: number;
}

/**
 * A map whose entries expire and whose size is bounded: when full, the oldest entry goes. It has
 * no timer of its own; the owner calls {@link sweep} from one periodic timer, and reads check
 * expiry so a late sweep never serves stale entries.
 *
 * Eviction order is kept in an array of slots beside the Map. Taking the oldest from the Map
 * itself (`keys().next()`) walks over every deleted slot at the front of V8's hash table, which
 * made a full deduplication cache cost microseconds per datagram.
 */
export class ExpiringMap<V, K = string> {
  /** Made on the first `set`: most endpoints never have a block-wise transfer to keep. */
  #entries: Map<K, Slot<K, V>> | undefined;
  /** Slots in insertion order from #head on; a slot no longer in #entries is skipped. */
  #order: (Slot<K, V> | undefined)[] | undefined;
  #head = 0;
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(maxEntries: number, now: () => number = Date.now) {
    this.#maxEntries = Math.max(1, maxEntries);
    this.#now = now;
  }

  get size(): number {
    return this.#entries?.size ?? 0;
  }

  get(key: K): V | undefined {
    const slot = this.#entries?.get(key);
    if (slot === undefined) return undefined;
    if (slot.expiresAt <= this.#now()) {
      this.#entries?.delete(key);
      return undefined;
    }
    return slot.value;
  }

  /** Stores `value` for `ttl` ms (as the newest entry); returns the entry evicted to make room, if any. */
  set(key: K, value: V, ttl: number): V | undefined {
    const entries = (this.#entries ??= new Map());
    const order = (this.#order ??= []);
    let evicted: V | undefined;
    if (!entries.delete(key) && entries.size >= this.#maxEntries) evicted = this.#evictOldest();
    const slot: Slot<K, V> = { key, value, expiresAt: this.#now() + ttl };
    entries.set(key, slot);
    order.push(slot);
    if (order.length - this.#head > 2 * entries.size + 64) this.#compact();
    return evicted;
  }

  delete(key: K): boolean {
    return this.#entries?.delete(key) ?? false;
  }

  /** Drops expired entries; calls `onExpire` for each one dropped. */
  sweep(onExpire?: (value: V, key: K) => void): void {
    const entries = this.#entries;
    if (entries === undefined) return;
    const now = this.#now();
    for (const [key, slot] of entries) {
      if (slot.expiresAt <= now) {
        entries.delete(key);
        onExpire?.(slot.value, key);
      }
    }
    this.#compact();
  }

  *values(): IterableIterator<V> {
    if (this.#entries === undefined) return;
    for (const slot of this.#entries.values()) yield slot.value;
  }

  clear(): void {
    this.#entries = undefined;
    this.#order = undefined;
    this.#head = 0;
  }

  #evictOldest(): V | undefined {
    const order = this.#order;
    const entries = this.#entries;
    if (order === undefined || entries === undefined) return undefined;
    while (this.#head < order.length) {
      const slot = order[this.#head];
      order[this.#head++] = undefined;
      if (slot !== undefined && entries.get(slot.key) === slot) {
        entries.delete(slot.key);
        return slot.value;
      }
    }
    return undefined;
  }

  /** Rebuilds the order array from the Map (whose iteration order is insertion order). */
  #compact(): void {
    this.#order = this.#entries === undefined ? undefined : [...this.#entries.values()];
    this.#head = 0;
  }
}
