import { randomBytes, timingSafeEqual } from 'node:crypto';
import { HmacSha256 } from './hmac-sha256.js';
import type { PeerAddress } from '@lwm2m/core';

export const COOKIE_LENGTH = 32;

export interface CookieOptions {
  /** How often the secret changes; a cookie stays valid for up to two periods. Default 60 s. */
  readonly rotateMs?: number;
  /** Clock, for tests. */
  readonly now?: () => number;
}

/**
 * Stateless HelloVerifyRequest cookies (RFC 6347 §4.2.1): HMAC(secret, client address, port and
 * the ClientHello fields except the cookie). Nothing is stored per peer; only the current and the
 * previous secret are kept, so a cookie issued just before a rotation is still accepted.
 */
export class CookieGenerator {
  private current = new HmacSha256(randomBytes(32));
  private previous = new HmacSha256(randomBytes(32));
  private rotatedAt: number;
  private readonly rotateMs: number;
  private readonly now: () => number;

  constructor(options: CookieOptions = {}) {
    this.rotateMs = options.rotateMs ?? 60000;
    this.now = options.now ?? Date.now;
    this.rotatedAt = this.now();
  }

  /** The cookie for this peer and ClientHello body (the cookie field itself is skipped). */
  generate(peer: PeerAddress, clientHelloBody: Uint8Array): Uint8Array {
    this.rotate();
    return this.mac(this.current, peer, clientHelloBody);
  }

  verify(peer: PeerAddress, clientHelloBody: Uint8Array, cookie: Uint8Array): boolean {
    if (cookie.length !== COOKIE_LENGTH) return false;
    this.rotate();
    return (
      timingSafeEqual(this.mac(this.current, peer, clientHelloBody), cookie) ||
      timingSafeEqual(this.mac(this.previous, peer, clientHelloBody), cookie)
    );
  }

  private rotate(): void {
    const now = this.now();
    if (now - this.rotatedAt < this.rotateMs) return;
    // After two periods without traffic both secrets are stale; replacing both is right then.
    this.previous = now - this.rotatedAt < 2 * this.rotateMs ? this.current : new HmacSha256(randomBytes(32));
    this.current = new HmacSha256(randomBytes(32));
    this.rotatedAt = now;
  }

  private mac(secret: HmacSha256, peer: PeerAddress, body: Uint8Array): Buffer {
    // ClientHello: version(2) random(32) session_id<0..32> cookie<0..255> rest. Bounds were
    // checked by parseClientHello before we get here.
    const sessionIdEnd = 35 + (body[34] ?? 0);
    const cookieEnd = sessionIdEnd + 1 + (body[sessionIdEnd] ?? 0);
    return secret.digest(
      Buffer.from(`${peer.address}|${peer.port}|`, 'latin1'),
      body.subarray(0, sessionIdEnd),
      body.subarray(cookieEnd),
    );
  }
}
