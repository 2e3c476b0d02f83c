/**
 * What the two-process DTLS benchmarks share: the bench server in a child process (asked for its
 * CPU time), a load that keeps N operations going, and one timed measurement of it with the CPU
 * time per operation on each side.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { connectDtls, type ConnectDtlsOptions } from '../src/index.js';
import type { BenchServerPorts } from './dtls-bench-server.js';

export const host = '127.0.0.1';

export interface Sample {
  readonly perSec: number;
  /** CPU time (user + system) per completed operation, µs. */
  readonly clientCpuUs: number;
  readonly serverCpuUs: number;
}

/** Something that keeps `concurrency` operations going; `start(done)` begins one. */
export interface Load {
  readonly concurrency: number;
  start(done: () => void): void;
  close(): Promise<void>;
}

export interface BenchServer {
  readonly ports: BenchServerPorts;
  cpu(): Promise<NodeJS.CpuUsage>;
  stop(): Promise<void>;
}

/** dtls-bench-server.ts in a child process; `args` are its key and certificate files for ECDHE. */
export function startServer(args: string[] = []): Promise<BenchServer> {
  const child: ChildProcess = fork(fileURLToPath(new URL('./dtls-bench-server.ts', import.meta.url)), args, {
    execArgv: ['--import', 'tsx', '--conditions=@lwm2m/source'],
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('message', (ports) =>
      resolve({
        ports: ports as BenchServerPorts,
        cpu: () =>
          new Promise((answer) => {
            child.once('message', (m) => answer((m as { cpu: NodeJS.CpuUsage }).cpu));
            child.send('cpu');
          }),
        stop: () =>
          new Promise((done) => {
            child.once('exit', () => done());
            child.send('stop');
          }),
      }),
    );
  });
}

/** A failed operation ends the benchmark: a figure with silent failures in it would mislead. */
export function fail(error: unknown): never {
  console.error(error);
  process.exit(1);
}

export function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs `load` for `warmupMs`, then counts completions and both sides' CPU for `durationMs`; closes the load. */
export async function measure(
  load: Load,
  server: BenchServer,
  timing: { readonly warmupMs: number; readonly durationMs: number },
): Promise<Sample> {
  let counting = false;
  let stopped = false;
  let completed = 0;
  let running = 0;
  let drained: (() => void) | undefined;
  const next = (): void => {
    running--;
    if (counting) completed++;
    if (!stopped) {
      running++;
      load.start(next);
    } else if (running === 0) drained?.();
  };
  for (let i = 0; i < load.concurrency; i++) {
    running++;
    load.start(next);
  }
  await sleep(timing.warmupMs);
  const serverStart = await server.cpu();
  const clientStart = process.cpuUsage();
  counting = true;
  const start = performance.now();
  await sleep(timing.durationMs);
  const elapsed = performance.now() - start;
  const done = completed;
  counting = false;
  const clientUsed = process.cpuUsage(clientStart);
  const serverEnd = await server.cpu();
  stopped = true;
  if (running > 0) await new Promise<void>((resolve) => (drained = resolve));
  await load.close();
  const serverUs = serverEnd.user - serverStart.user + serverEnd.system - serverStart.system;
  return {
    perSec: Math.round((done * 1000) / elapsed),
    clientCpuUs: round1((clientUsed.user + clientUsed.system) / done),
    serverCpuUs: round1(serverUs / done),
  };
}

/**
 * `clients` slots, each with its own UDP socket (its own port), running full handshakes back to
 * back with `options` (no resumption); a socket is reused only after its connection closed.
 */
export async function handshakeLoad(
  clients: number,
  options: Omit<ConnectDtlsOptions, 'socket' | 'timeout'>,
): Promise<Load> {
  const sockets: Socket[] = [];
  for (let i = 0; i < clients; i++) {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, host, () => resolve()));
    sockets.push(socket);
  }
  const free = [...sockets];
  return {
    concurrency: clients,
    start: (done) => {
      const socket = free.pop()!;
      connectDtls({ ...options, socket, timeout: 30_000 })
        .then((connection) => connection.close())
        .then(() => {
          free.push(socket);
          done();
        }, fail);
    },
    close: async () => {
      for (const s of sockets) s.close();
    },
  };
}
