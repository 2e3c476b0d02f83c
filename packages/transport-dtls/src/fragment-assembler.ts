import type { HandshakeFragment } from './handshake-messages.js';

/** A reassembled handshake message. */
export interface HandshakeMessage {
  readonly msgType: number;
  readonly messageSeq: number;
  readonly body: Uint8Array;
}

/** Messages further ahead than this are dropped: a peer never legitimately has more in flight. */
const MAX_AHEAD = 8;

interface Partial {
  readonly msgType: number;
  readonly body: Uint8Array;
  readonly filled: Uint8Array;
  missing: number;
}

/**
 * Reassembles fragmented handshake messages and releases them in message_seq order
 * (RFC 6347 §4.2.2, §4.2.3). Fragments may overlap, repeat or arrive out of order.
 */
export class FragmentAssembler {
  private readonly pending = new Map<number, Partial>();
  private nextSeq: number;

  constructor(firstSeq = 0) {
    this.nextSeq = firstSeq;
  }

  /** The message_seq of the next message to be released. */
  get expectedSeq(): number {
    return this.nextSeq;
  }

  /**
   * Adds one fragment. Returns false when the fragment belongs to an earlier message (a peer
   * retransmission, which usually means our last flight was lost) and true otherwise.
   */
  add(fragment: HandshakeFragment): boolean {
    if (fragment.messageSeq < this.nextSeq) return false;
    if (fragment.messageSeq >= this.nextSeq + MAX_AHEAD) return true;
    let partial = this.pending.get(fragment.messageSeq);
    if (partial === undefined) {
      partial = {
        msgType: fragment.msgType,
        body: new Uint8Array(fragment.length),
        filled: new Uint8Array(fragment.length),
        missing: fragment.length,
      };
      this.pending.set(fragment.messageSeq, partial);
    } else if (partial.msgType !== fragment.msgType || partial.body.length !== fragment.length) {
      return true; // inconsistent with what we have: ignore this fragment
    }
    const start = fragment.fragmentOffset;
    partial.body.set(fragment.body, start);
    for (let i = 0; i < fragment.body.length; i++) {
      if (partial.filled[start + i] === 0) {
        partial.filled[start + i] = 1;
        partial.missing--;
      }
    }
    return true;
  }

  /** Next complete message in order, if any. */
  next(): HandshakeMessage | undefined {
    const partial = this.pending.get(this.nextSeq);
    if (partial === undefined || partial.missing > 0) return undefined;
    this.pending.delete(this.nextSeq);
    const message = { msgType: partial.msgType, messageSeq: this.nextSeq, body: partial.body };
    this.nextSeq++;
    return message;
  }

  /** Restarts at a given message_seq (a stateless server learns it from the ClientHello). */
  reset(firstSeq: number): void {
    this.pending.clear();
    this.nextSeq = firstSeq;
  }
}
