const ID_SPACE = 0x10000;

/** What the endpoint keeps per peer it sends to; see {@link PeerTable}. */
export interface PeerRecord {
  /** Where the peer is; changed only by {@link PeerTable.move}. */
  address: string;
  port: number;
  /** Small integer naming the record in composite keys (`slot * 65536 + message id`). */
  readonly slot: number;
  /** The message id handed out last. */
  lastId: number;
  /** When an id was last handed out; the record is dropped EXCHANGE_LIFETIME after that. */
  lastUsedAt: number;
  /** Start of the current EXCHANGE_LIFETIME window and ids handed out in it (to notice a wrap within it). */
  windowStart: number;
  windowCount: number;
  /** Tracked exchanges using one of its ids (or state parked on it): the record stays while any. */
  refs: number;
  /** Smoothed round-trip time in ms from our unretransmitted CONs (RFC 6298 style); -1 while unknown. */
  rtt: number;
  /** RFC 7641 §4.5.1 pacing of NON notifications: tokens left and when they were counted. */
  notificationTokens: number;
  notificationTokensAt: number;
  /** CON notifications to the peer awaiting their ACK (RFC 7641 §4.5.1: at most NSTART). */
  confirmableNotifications: number;
}

export interface PeerTableOptions {
  /** EXCHANGE_LIFETIME in ms: how long an id must not be reused, and how long an idle record is kept. */
  readonly lifetime: number;
  /** Records kept at most; beyond it the oldest idle record goes (a new record starts at a random id). */
  readonly maxPeers: number;
  /** A uniform random 16-bit number: where a new record's ids start. */
  readonly randomId: () => number;
  /** Called once per window when a peer is given more than 65536 ids within EXCHANGE_LIFETIME. */
  readonly onWrap?: (record: PeerRecord) => void;
  readonly now?: () => number;
}

/**
 * Per-peer state of the message layer, chiefly message ids (RFC 7252 §4.4: "the same Message ID
 * MUST NOT be reused (in the communication with the same endpoint) within the EXCHANGE_LIFETIME").
 *
 * Ids are counted per peer, both roles sharing one counter (requests, separate responses,
 * notifications, pings), from a random start. A record appears with the first id handed out to a
 * peer and is dropped once EXCHANGE_LIFETIME has passed since its last id with nothing tracked on
 * it: by then every id it gave out has expired from the peer's deduplication cache, so a new
 * record may start anywhere. Records are found by address and then port (no key string per
 * datagram) and are named inside composite integer keys by a small reusable slot number.
 *
 * More than 65536 ids to one peer within EXCHANGE_LIFETIME (over 265 messages/s): the counter
 * simply goes on, i.e. the oldest id is reused (ids still tracked are skipped), and `onWrap` tells.
 * The alternative, holding messages back until an id is 247 s old, would cap every peer at 265
 * messages/s; the RFC's EXCHANGE_LIFETIME assumes a 100 s worst-case latency that a peer taking
 * this rate does not have, and its deduplication cache is where our oldest id is least likely to
 * still be.
 */
export class PeerTable {
  readonly #byAddress = new Map<string, Map<number, PeerRecord>>();
  readonly #bySlot: (PeerRecord | undefined)[] = [];
  readonly #freeSlots: number[] = [];
  readonly #lifetime: number;
  readonly #maxPeers: number;
  readonly #randomId: () => number;
  readonly #onWrap: ((record: PeerRecord) => void) | undefined;
  readonly #now: () => number;
  #size = 0;

  constructor(options: PeerTableOptions) {
    this.#lifetime = options.lifetime;
    this.#maxPeers = Math.max(1, Math.floor(options.maxPeers));
    this.#randomId = options.randomId;
    this.#onWrap = options.onWrap;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#size;
  }

  /** The record of a peer, or undefined when we have none (never sent to it, or forgotten). */
  find(address: string, port: number): PeerRecord | undefined {
    return this.#byAddress.get(address)?.get(port);
  }

  /** The record of a peer, made when missing. */
  get(address: string, port: number): PeerRecord {
    return this.find(address, port) ?? this.#create(address, port);
  }

  /** The record named by a composite key's slot. */
  bySlot(key: number): PeerRecord | undefined {
    return this.#bySlot[Math.floor(key / ID_SPACE)];
  }

  /**
   * The composite key (`slot * 65536 + id`) of the next message id to `record`'s peer, skipping ids
   * for which `inUse(key)` says an exchange still tracks them.
   */
  nextKey(record: PeerRecord, inUse: (key: number) => boolean): number {
    const now = this.#now();
    if (now - record.windowStart >= this.#lifetime) {
      record.windowStart = now;
      record.windowCount = 0;
    }
    if (++record.windowCount === ID_SPACE + 1) this.#onWrap?.(record);
    record.lastUsedAt = now;
    const base = record.slot * ID_SPACE;
    let id = record.lastId;
    for (let tries = 0; tries < ID_SPACE; tries++) {
      id = (id + 1) & 0xffff;
      if (!inUse(base + id)) break;
    }
    record.lastId = id;
    return base + id;
  }

  /** The composite key of an id we may have given to this peer; -1 when we have no record of it. */
  keyOf(address: string, port: number, messageId: number): number {
    const record = this.find(address, port);
    return record === undefined ? -1 : record.slot * ID_SPACE + messageId;
  }

  /** Something is tracked under the record of `key`: keep it. */
  hold(key: number): void {
    const record = this.bySlot(key);
    if (record !== undefined) record.refs++;
  }

  release(key: number): void {
    const record = this.bySlot(key);
    if (record !== undefined && record.refs > 0) record.refs--;
  }

  /**
   * The peer at `from` is now at `to` (NAT rebinding): its record, and so its id counter, RTT and
   * pacing state and every composite key of its slot, is filed under `to`. The peer dedups our
   * messages by *our* address, which did not change, so it must go on seeing ids from the same
   * counter; a fresh random start could repeat an id it saw within EXCHANGE_LIFETIME and be taken
   * for a duplicate. A record `to` already has is dropped when nothing is tracked on it; when
   * something is, nothing moves (two slots cannot be merged without re-keying what is in flight)
   * and false is returned. Also false when `from` has no record.
   */
  move(fromAddress: string, fromPort: number, toAddress: string, toPort: number): boolean {
    const record = this.find(fromAddress, fromPort);
    if (record === undefined) return false;
    if (fromAddress === toAddress && fromPort === toPort) return true;
    const existing = this.find(toAddress, toPort);
    if (existing !== undefined) {
      if (existing.refs > 0) return false;
      this.#remove(existing);
    }
    this.#unindex(record);
    record.address = toAddress;
    record.port = toPort;
    this.#index(record);
    return true;
  }

  /** Drops records idle for EXCHANGE_LIFETIME with nothing tracked on them. */
  sweep(): void {
    const now = this.#now();
    for (const byPort of this.#byAddress.values()) {
      for (const record of byPort.values()) {
        if (record.refs === 0 && now - record.lastUsedAt >= this.#lifetime) this.#remove(record);
      }
    }
  }

  clear(): void {
    this.#byAddress.clear();
    this.#bySlot.length = 0;
    this.#freeSlots.length = 0;
    this.#size = 0;
  }

  #create(address: string, port: number): PeerRecord {
    if (this.#size >= this.#maxPeers) this.#makeRoom();
    const slot = this.#freeSlots.pop() ?? this.#bySlot.length;
    const now = this.#now();
    const record: PeerRecord = {
      address,
      port,
      slot,
      // The first id handed out is the random value itself.
      lastId: (this.#randomId() - 1) & 0xffff,
      lastUsedAt: now,
      windowStart: now,
      windowCount: 0,
      refs: 0,
      rtt: -1,
      notificationTokens: -1,
      notificationTokensAt: 0,
      confirmableNotifications: 0,
    };
    this.#bySlot[slot] = record;
    this.#index(record);
    this.#size++;
    return record;
  }

  #index(record: PeerRecord): void {
    let byPort = this.#byAddress.get(record.address);
    if (byPort === undefined) {
      byPort = new Map();
      this.#byAddress.set(record.address, byPort);
    }
    byPort.set(record.port, record);
  }

  /** Takes the record out of the address index; false when it was not there. */
  #unindex(record: PeerRecord): boolean {
    const byPort = this.#byAddress.get(record.address);
    if (byPort?.get(record.port) !== record) return false;
    byPort.delete(record.port);
    if (byPort.size === 0) this.#byAddress.delete(record.address);
    return true;
  }

  /** At the bound: expired records go first, then the oldest one with nothing tracked (if any). */
  #makeRoom(): void {
    this.sweep();
    if (this.#size < this.#maxPeers) return;
    for (const byPort of this.#byAddress.values()) {
      for (const record of byPort.values()) {
        if (record.refs === 0) {
          this.#remove(record);
          return;
        }
      }
    }
  }

  #remove(record: PeerRecord): void {
    if (!this.#unindex(record)) return;
    this.#bySlot[record.slot] = undefined;
    this.#freeSlots.push(record.slot);
    this.#size--;
  }
}
