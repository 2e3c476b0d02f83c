/**
 * Timing of a function against a baseline on a loaded, shared machine: both run in alternating
 * short rounds (baseline first in even rounds, last in odd ones), so a change of load hits both
 * alike, and each round gives its own ratio. The ratios' median is the result; their spread says
 * how noisy the run was. Each round is timed by the wall clock and by the process's CPU time
 * (`process.cpuUsage`, which stops while the process waits for a core), so the CPU-time ratio
 * holds up when other processes take the cores.
 */

export interface PairedOptions {
  /** Rounds of (baseline, run); odd counts give a plain median. */
  readonly rounds?: number;
  /** Wall-clock length of each half of a round, in milliseconds. */
  readonly ms?: number;
  /** Warm-up of each function before the rounds, in milliseconds. */
  readonly warmUpMs?: number;
}

export interface PairedResult {
  /** Median over rounds of the function's operations per second of wall-clock time. */
  readonly opsPerSec: number;
  readonly baselineOpsPerSec: number;
  /** Median over rounds of the function's operations per second of CPU time. */
  readonly cpuOpsPerSec: number;
  readonly baselineCpuOpsPerSec: number;
  /** Median of the per-round ratios run/baseline, by wall-clock time. */
  readonly ratio: number;
  /** Median of the per-round ratios run/baseline, by CPU time: the figure to go by under load. */
  readonly cpuRatio: number;
  /** Lowest and highest per-round CPU-time ratio. */
  readonly cpuRatioRange: readonly [number, number];
  readonly rounds: number;
}

interface Timing {
  readonly iterations: number;
  readonly wallMs: number;
  readonly cpuMs: number;
}

function cpuNowMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** Runs `fn` in batches of `batch` until `ms` of wall-clock time have passed. */
function timeFor(fn: () => unknown, batch: number, ms: number): Timing {
  let iterations = 0;
  const cpuStart = cpuNowMs();
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < batch; i++) fn();
    iterations += batch;
    now = performance.now();
  }
  return { iterations, wallMs: now - start, cpuMs: cpuNowMs() - cpuStart };
}

/** A batch size that takes about a millisecond, so the clock is read seldom. */
function batchFor(fn: () => unknown): number {
  let batch = 1;
  for (;;) {
    const start = performance.now();
    for (let i = 0; i < batch; i++) fn();
    if (performance.now() - start >= 1 || batch >= 1 << 20) return batch;
    batch *= 2;
  }
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

const round3 = (n: number): number => Math.round(n * 1000) / 1000;

export function paired(
  baseline: () => unknown,
  run: () => unknown,
  options: PairedOptions = {},
): PairedResult {
  const rounds = options.rounds ?? 9;
  const ms = options.ms ?? 150;
  const warmUpMs = options.warmUpMs ?? 150;
  const baseBatch = batchFor(baseline);
  const runBatch = batchFor(run);
  timeFor(baseline, baseBatch, warmUpMs);
  timeFor(run, runBatch, warmUpMs);
  const ops: number[] = [];
  const baseOps: number[] = [];
  const cpuOps: number[] = [];
  const baseCpuOps: number[] = [];
  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let base: Timing;
    let own: Timing;
    if (r % 2 === 0) {
      base = timeFor(baseline, baseBatch, ms);
      own = timeFor(run, runBatch, ms);
    } else {
      own = timeFor(run, runBatch, ms);
      base = timeFor(baseline, baseBatch, ms);
    }
    const o = (own.iterations * 1000) / own.wallMs;
    const b = (base.iterations * 1000) / base.wallMs;
    // A round shorter than the CPU clock's grain cannot say anything by CPU time; count it by wall time.
    const oc = own.cpuMs > 0 ? (own.iterations * 1000) / own.cpuMs : o;
    const bc = base.cpuMs > 0 ? (base.iterations * 1000) / base.cpuMs : b;
    ops.push(o);
    baseOps.push(b);
    cpuOps.push(oc);
    baseCpuOps.push(bc);
    ratios.push(o / b);
    cpuRatios.push(oc / bc);
  }
  return {
    opsPerSec: Math.round(median(ops)),
    baselineOpsPerSec: Math.round(median(baseOps)),
    cpuOpsPerSec: Math.round(median(cpuOps)),
    baselineCpuOpsPerSec: Math.round(median(baseCpuOps)),
    ratio: round3(median(ratios)),
    cpuRatio: round3(median(cpuRatios)),
    cpuRatioRange: [round3(Math.min(...cpuRatios)), round3(Math.max(...cpuRatios))],
    rounds,
  };
}
