/** Time and one-shot timers, injectable so tests can move time by hand. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(callback: () => void, delay: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock: Date.now and node timers (unref'd, so an idle server never keeps a process alive). */
export function createSystemClock(): Clock {
  return {
    now: () => Date.now(),
    setTimeout(callback, delay) {
      const timer = setTimeout(callback, delay);
      timer.unref();
      return timer;
    },
    clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  };
}
