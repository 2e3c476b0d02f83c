import type { PeerIdentity } from '@lwm2m/core';

/** What resumption (abbreviated handshake, RFC 5246 §7.3) needs from an earlier full handshake. */
export interface ResumableSession {
  readonly sessionId: Uint8Array;
  readonly masterSecret: Uint8Array;
  readonly cipherSuite: number;
  /** The PSK identity ('' for ECDHE suites). */
  readonly identity: string;
  /** For ECDHE suites: who the peer proved to be in the full handshake (certificate or raw key). */
  readonly peerIdentity?: PeerIdentity;
  readonly extendedMasterSecret: boolean;
  readonly createdAt: number;
}

/** A bounded session cache: least recently used entries go first, expired entries are never returned. */
export class SessionCache {
  private readonly entries = new Map<string, ResumableSession>();

  constructor(
    private readonly maxEntries: number,
    private readonly lifetimeMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(sessionId: Uint8Array): ResumableSession | undefined {
    const key = Buffer.from(sessionId).toString('hex');
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (this.now() - entry.createdAt > this.lifetimeMs) {
      this.entries.delete(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry;
  }

  set(session: ResumableSession): void {
    if (this.maxEntries <= 0) return;
    const key = Buffer.from(session.sessionId).toString('hex');
    this.entries.delete(key);
    this.entries.set(key, session);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  delete(sessionId: Uint8Array): void {
    this.entries.delete(Buffer.from(sessionId).toString('hex'));
  }
}
