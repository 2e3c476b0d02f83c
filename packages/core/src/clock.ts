/** Time source and one-shot timers of a protocol core; tests pass a fake one. Handles are opaque. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * The real clock. Global timers are looked up at call time, so jest's fake timers drive it too;
 * timers are unref'd so an idle server or client never keeps a process alive.
 */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout(callback: () => void, ms: number): unknown {
    const handle = globalThis.setTimeout(callback, Math.max(0, Math.min(ms, 2_147_483_647)));
    (handle as { unref?: () => void }).unref?.();
    return handle;
  },
  clearTimeout(handle: unknown): void {
    globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
});
