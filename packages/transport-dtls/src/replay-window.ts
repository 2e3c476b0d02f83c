/**
 * The 64-record anti-replay window of RFC 6347 §4.1.2.6 for one epoch. Sequence numbers are 48-bit,
 * which fits exactly in a double, so plain numbers are used. The window is two 32-bit words so
 * that no bigint is needed on the hot path.
 */
export class ReplayWindow {
  /** Highest sequence number accepted so far, -1 before the first one. */
  private top = -1;
  /** Bit i set: top - i has been seen (bits 0..31 in low, 32..63 in high). */
  private low = 0;
  private high = 0;

  /** True when a record with this sequence number may be processed (not seen, not too old). */
  check(seq: number): boolean {
    if (seq > this.top) return true;
    const offset = this.top - seq;
    if (offset >= 64) return false;
    return offset < 32 ? (this.low & (1 << offset)) === 0 : (this.high & (1 << (offset - 32))) === 0;
  }

  /** True when no higher sequence number has been accepted yet. */
  isNewest(seq: number): boolean {
    return seq > this.top;
  }

  /** Marks a sequence number seen; call only after the record authenticated. */
  accept(seq: number): void {
    if (seq > this.top) {
      const shift = this.top < 0 ? 64 : seq - this.top;
      if (shift >= 64) {
        this.low = 0;
        this.high = 0;
      } else if (shift >= 32) {
        this.high = shift === 32 ? this.low : this.low << (shift - 32);
        this.low = 0;
      } else {
        this.high = ((this.high << shift) | (this.low >>> (32 - shift))) >>> 0;
        this.low = (this.low << shift) >>> 0;
      }
      this.low = (this.low | 1) >>> 0;
      this.top = seq;
      return;
    }
    const offset = this.top - seq;
    if (offset >= 64) return;
    if (offset < 32) this.low = (this.low | (1 << offset)) >>> 0;
    else this.high = (this.high | (1 << (offset - 32))) >>> 0;
  }
}
