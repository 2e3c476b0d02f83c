/**
 * The ring of a cache that holds nothing yet, shared by every such cache: it has no slots to write,
 * and the first `add` replaces it. An endpoint that is never sent a request (a device that only
 * registers) keeps just the cache object.
 */
const NO_SLOTS: Float64Array = new Float64Array(0);

/**
 * The message deduplication cache of RFC 7252 §4.5: which (peer, message id) pairs arrived within
 * their lifetime, and the reply to replay when one arrives again.
 *
 * It sits on the path of every request, so it keeps no object per entry: entries live in a ring
 * of parallel arrays (oldest evicted when full), found through one small Map per peer address
 * keyed by `port * 65536 + message id`. A string key and an entry object per datagram cost a
 * full-cache server more in garbage collection than everything else it did for the request.
 *
 * An entry is referred to by a handle (its insertion number), so a reply recorded late (after an
 * async handler) is dropped if its entry was evicted and the slot reused meanwhile.
 */
export class DedupCache {
  readonly #maxEntries: number;
  readonly #now: () => number;
  #byAddress: Map<string, Map<number, number>> | undefined;
  // The ring: slot i holds insertion number #handles[i]; oldest at #head.
  #handles = NO_SLOTS;
  #expiresAt = NO_SLOTS;
  #keys = NO_SLOTS;
  #addresses: (string | undefined)[] = [];
  #replies: (Uint8Array | undefined)[] = [];
  #head = 0;
  #size = 0;
  #nextHandle = 1;

  constructor(maxEntries: number, now: () => number = Date.now) {
    this.#maxEntries = Math.max(1, Math.floor(maxEntries));
    this.#now = now;
  }

  get size(): number {
    return this.#size;
  }

  /** The handle of an unexpired entry for this message, or 0 when it is new. */
  find(address: string, port: number, messageId: number): number {
    const slot = this.#byAddress?.get(address)?.get(port * 0x10000 + messageId);
    if (slot === undefined || this.#expiresAt[slot]! <= this.#now()) return 0;
    return this.#handles[slot]!;
  }

  /** The reply recorded for an entry (undefined while there is none yet, or when it is gone). */
  reply(handle: number): Uint8Array | undefined {
    const slot = this.#slotOf(handle);
    return slot < 0 ? undefined : this.#replies[slot];
  }

  /** Records a message seen now, kept for `ttl` ms (or until evicted); returns its handle. */
  add(address: string, port: number, messageId: number, ttl: number): number {
    if (this.#size === this.#handles.length) {
      if (this.#size < this.#maxEntries) this.#grow();
      else this.#evictOldest();
    }
    const slot = (this.#head + this.#size) % this.#handles.length;
    this.#size++;
    const key = port * 0x10000 + messageId;
    const handle = this.#nextHandle++;
    this.#handles[slot] = handle;
    this.#expiresAt[slot] = this.#now() + ttl;
    this.#keys[slot] = key;
    this.#addresses[slot] = address;
    this.#replies[slot] = undefined;
    const byAddress = (this.#byAddress ??= new Map());
    let byKey = byAddress.get(address);
    if (byKey === undefined) {
      byKey = new Map();
      byAddress.set(address, byKey);
    }
    // A same-key entry still in the ring becomes unreachable here and is dropped when it comes up.
    byKey.set(key, slot);
    return handle;
  }

  /** Records the reply to replay for an entry; ignored when the entry is gone. */
  setReply(handle: number, reply: Uint8Array): void {
    const slot = this.#slotOf(handle);
    if (slot >= 0) this.#replies[slot] = reply;
  }

  /** Drops expired entries from the oldest end. */
  sweep(): void {
    const now = this.#now();
    while (this.#size > 0 && this.#expiresAt[this.#head]! <= now) this.#evictOldest();
  }

  clear(): void {
    this.#byAddress = undefined;
    this.#handles = NO_SLOTS;
    this.#expiresAt = NO_SLOTS;
    this.#keys = NO_SLOTS;
    this.#addresses = [];
    this.#replies = [];
    this.#head = 0;
    this.#size = 0;
  }

  #slotOf(handle: number): number {
    const capacity = this.#handles.length;
    if (capacity === 0 || handle <= 0) return -1;
    // Live handles are consecutive, oldest at #head: the slot follows from the distance.
    const oldest = this.#handles[this.#head]!;
    const distance = handle - oldest;
    if (distance < 0 || distance >= this.#size) return -1;
    return (this.#head + distance) % capacity;
  }

  #evictOldest(): void {
    const slot = this.#head;
    const address = this.#addresses[slot]!;
    const byKey = this.#byAddress?.get(address);
    const key = this.#keys[slot]!;
    if (byKey !== undefined && byKey.get(key) === slot) {
      byKey.delete(key);
      if (byKey.size === 0) this.#byAddress?.delete(address);
    }
    this.#addresses[slot] = undefined;
    this.#replies[slot] = undefined;
    this.#handles[slot] = 0;
    this.#head = (this.#head + 1) % this.#handles.length;
    this.#size--;
  }

  /** Doubles the ring (up to the limit), unrolling it so the oldest entry is at slot 0. */
  #grow(): void {
    const capacity = this.#handles.length;
    const next = Math.min(this.#maxEntries, Math.max(16, capacity * 2));
    const handles = new Float64Array(next);
    const expiresAt = new Float64Array(next);
    const keys = new Float64Array(next);
    const addresses: (string | undefined)[] = new Array<string | undefined>(next).fill(undefined);
    const replies: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(next).fill(undefined);
    for (let i = 0; i < this.#size; i++) {
      const from = (this.#head + i) % capacity;
      handles[i] = this.#handles[from]!;
      expiresAt[i] = this.#expiresAt[from]!;
      keys[i] = this.#keys[from]!;
      addresses[i] = this.#addresses[from];
      replies[i] = this.#replies[from];
      const byKey = this.#byAddress?.get(addresses[i]!);
      if (byKey !== undefined && byKey.get(keys[i]!) === from) byKey.set(keys[i]!, i);
    }
    this.#handles = handles;
    this.#expiresAt = expiresAt;
    this.#keys = keys;
    this.#addresses = addresses;
    this.#replies = replies;
    this.#head = 0;
  }
}
