/**
 * Shared timing for every package's benchmark: runs `fn` in batches until `ms` have passed (after a
 * warm-up) and reports operations per second. Results are only compared within one run.
 */
export interface Measurement {
  readonly name: string;
  readonly opsPerSec: number;
  readonly iterations: number;
}

export function measure(name: string, fn: () => void, ms = 700): Measurement {
  const warmUntil = performance.now() + ms / 4;
  while (performance.now() < warmUntil) for (let i = 0; i < 100; i++) fn();
  let iterations = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 100; i++) fn();
    iterations += 100;
    now = performance.now();
  }
  return { name, opsPerSec: Math.round((iterations * 1000) / (now - start)), iterations };
}

/** Ratio rounded to 3 decimals, for JSON output. */
export function ratio(value: number, baseline: number): number {
  return Math.round((value / baseline) * 1000) / 1000;
}
