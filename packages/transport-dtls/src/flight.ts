/** RFC 6347 §4.2.4.1: initial timer 1 s, doubled on each retransmission up to 60 s. */
export const INITIAL_RETRANSMIT_MS = 1000;
export const MAX_RETRANSMIT_MS = 60000;

export interface RetransmitTimerOptions {
  readonly initialMs?: number;
  readonly maxMs?: number;
  /** Give up after this many retransmissions of one flight. */
  readonly maxRetransmits?: number;
}

/**
 * The retransmission timer of one handshake endpoint. `onRetransmit` resends the last flight;
 * `onGiveUp` ends the handshake. Callbacks are guarded so a throwing callback never escapes
 * from a timer into the process.
 */
export class RetransmitTimer {
  private timer: NodeJS.Timeout | undefined;
  private delay: number;
  private count = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly maxRetransmits: number;

  constructor(
    private readonly onRetransmit: () => void,
    private readonly onGiveUp: () => void,
    options: RetransmitTimerOptions = {},
  ) {
    this.initialMs = options.initialMs ?? INITIAL_RETRANSMIT_MS;
    this.maxMs = options.maxMs ?? MAX_RETRANSMIT_MS;
    this.maxRetransmits = options.maxRetransmits ?? 7;
    this.delay = this.initialMs;
  }

  /** Arms the timer for a newly sent flight. */
  start(): void {
    this.stop();
    this.delay = this.initialMs;
    this.count = 0;
    this.arm();
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  get retransmits(): number {
    return this.count;
  }

  private arm(): void {
    this.timer = setTimeout(() => this.fire(), this.delay);
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    try {
      if (this.count >= this.maxRetransmits) {
        this.onGiveUp();
        return;
      }
      this.count++;
      this.delay = Math.min(this.delay * 2, this.maxMs);
      this.onRetransmit();
      this.arm();
    } catch {
      // A timer must never throw into the event loop; the handshake reports failures itself.
    }
  }
}
