/**
 * DTLS 1.2 PSK benchmark, two processes on 127.0.0.1 (server in a child process, clients here):
 *
 * - full PSK handshakes per second with TLS_PSK_WITH_AES_128_CCM_8: HANDSHAKE_CLIENTS client
 *   sockets, each on its own port, each running handshake after handshake (cookie exchange, no
 *   resumption, close_notify after each) against one server;
 * - CoAP request/response throughput with 50 requests in flight over DTLS-PSK CCM_8 (CoAPS), and
 *   the same endpoint code over plain UDP (NoSec) in the same run as the baseline.
 *
 * After one untimed warm-up round, measurements run in interleaved rounds (the machine is shared
 * and its load drifts); each figure is the median over rounds. CPU time per operation in each process is reported beside the rates:
 * it is what a busier or an idle machine changes least. Prints one JSON object.
 *
 * Environment: BENCH_ROUNDS (default 7), BENCH_MS per measurement (default 1000),
 * BENCH_WARMUP_MS (default 300), HANDSHAKE_CLIENTS (default 32). Many short rounds follow the
 * machine's load swings better than a few long ones.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { createCoapEndpoint, createUdpSocket, type CoapEndpoint } from '@lwm2m/transport-coap';
import { ratio } from '../../../bench/measure.js';
import { CipherSuite, connectDtls } from '../src/index.js';
import { BENCH_IDENTITY, BENCH_KEY } from './bench-credentials.js';
import type { BenchServerPorts } from './dtls-bench-server.js';

const IN_FLIGHT = 50;
const PAYLOAD = new Uint8Array(32).fill(0x61);
const host = '127.0.0.1';
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 7);
const durationMs = Number(process.env['BENCH_MS'] ?? 1000);
const warmupMs = Number(process.env['BENCH_WARMUP_MS'] ?? 300);
const handshakeClients = Number(process.env['HANDSHAKE_CLIENTS'] ?? 32);
const ciphers = [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8];

interface Sample {
  readonly perSec: number;
  /** CPU time (user + system) per completed operation, µs. */
  readonly clientCpuUs: number;
  readonly serverCpuUs: number;
}

/** Something that keeps `concurrency` operations going; `start(done)` begins one. */
interface Load {
  readonly concurrency: number;
  start(done: () => void): void;
  close(): Promise<void>;
}

interface BenchServer {
  readonly ports: BenchServerPorts;
  cpu(): Promise<NodeJS.CpuUsage>;
  stop(): Promise<void>;
}

function startServer(): Promise<BenchServer> {
  const child: ChildProcess = fork(fileURLToPath(new URL('./dtls-bench-server.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx', '--conditions=@lwm2m/source'],
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('message', (ports) => {
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
      });
    });
  });
}

async function measure(load: Load, server: BenchServer): Promise<Sample> {
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
  await sleep(warmupMs);
  const serverStart = await server.cpu();
  const clientStart = process.cpuUsage();
  counting = true;
  const start = performance.now();
  await sleep(durationMs);
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

/** Each slot owns a UDP socket (its own port) and runs full handshakes back to back on it. */
async function handshakeLoad(port: number): Promise<Load> {
  const sockets: Socket[] = [];
  for (let i = 0; i < handshakeClients; i++) {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, host, () => resolve()));
    sockets.push(socket);
  }
  const free = [...sockets];
  const fail = (error: unknown): never => {
    throw error;
  };
  return {
    concurrency: handshakeClients,
    start: (done) => {
      // A socket goes back to the free list only after its connection closed: one handshake per port at a time.
      const socket = free.pop()!;
      connectDtls({
        peer: { address: host, port },
        psk: { identity: BENCH_IDENTITY, key: BENCH_KEY },
        socket,
        ciphers,
        timeout: 30_000,
      })
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

function coapLoad(endpoint: CoapEndpoint, port: number): Load {
  const peer = { address: host, port };
  const fail = (error: unknown): never => {
    throw error;
  };
  return {
    concurrency: IN_FLIGHT,
    start: (done) => {
      endpoint.request({ peer, method: 'POST', path: '/bench', payload: PAYLOAD }).then(done, fail);
    },
    close: async () => undefined,
  };
}

async function nosecLoad(port: number): Promise<Load> {
  const endpoint = createCoapEndpoint({
    socket: await createUdpSocket({ address: host, port: 0 }),
    transmission: { nstart: IN_FLIGHT },
  });
  const load = coapLoad(endpoint, port);
  return { ...load, close: () => endpoint.close() };
}

async function coapsLoad(port: number): Promise<Load> {
  const connection = await connectDtls({
    peer: { address: host, port },
    psk: { identity: BENCH_IDENTITY, key: BENCH_KEY },
    ciphers,
    timeout: 10_000,
  });
  const endpoint = createCoapEndpoint({ socket: connection, transmission: { nstart: IN_FLIGHT } });
  const load = coapLoad(endpoint, port);
  return { ...load, close: () => endpoint.close() };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function summarize(
  samples: readonly Sample[],
): Sample & { readonly rounds: readonly number[]; readonly serverCpuRounds: readonly number[] } {
  return {
    perSec: Math.round(median(samples.map((s) => s.perSec))),
    clientCpuUs: round1(median(samples.map((s) => s.clientCpuUs))),
    serverCpuUs: round1(median(samples.map((s) => s.serverCpuUs))),
    rounds: samples.map((s) => s.perSec),
    serverCpuRounds: samples.map((s) => s.serverCpuUs),
  };
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function main(): Promise<void> {
  const server = await startServer();
  const handshakes: Sample[] = [];
  const nosec: Sample[] = [];
  const coaps: Sample[] = [];
  try {
    // One untimed round first: the first pass over each path pays for JIT and lazy module loading.
    await measure(await handshakeLoad(server.ports.handshake), server);
    await measure(await nosecLoad(server.ports.nosec), server);
    await measure(await coapsLoad(server.ports.coaps), server);
    for (let round = 0; round < rounds; round++) {
      handshakes.push(await measure(await handshakeLoad(server.ports.handshake), server));
      nosec.push(await measure(await nosecLoad(server.ports.nosec), server));
      coaps.push(await measure(await coapsLoad(server.ports.coaps), server));
    }
  } finally {
    await server.stop();
  }
  const h = summarize(handshakes);
  const n = summarize(nosec);
  const c = summarize(coaps);
  const perRoundRatios = coaps.map((s, i) => ratio(s.perSec, nosec[i]!.perSec));
  console.log(
    JSON.stringify(
      {
        setup: {
          processes: 'server in a child process, clients in the parent, 127.0.0.1',
          cipherSuite: 'TLS_PSK_WITH_AES_128_CCM_8',
          rounds,
          durationMs,
          handshakeClients,
          coapInFlight: IN_FLIGHT,
          payloadBytes: PAYLOAD.length,
        },
        fullHandshakes: {
          perSec: h.perSec,
          rounds: h.rounds,
          serverCpuUsPerHandshake: h.serverCpuUs,
          serverCpuUsPerRound: h.serverCpuRounds,
          clientCpuUsPerHandshake: h.clientCpuUs,
          // What one server core could sustain if the clients cost it nothing.
          serverCoreCapacityPerSec: Math.round(1e6 / h.serverCpuUs),
        },
        coap: {
          nosec: {
            requestsPerSec: n.perSec,
            rounds: n.rounds,
            serverCpuUs: n.serverCpuUs,
            clientCpuUs: n.clientCpuUs,
          },
          coaps: {
            requestsPerSec: c.perSec,
            rounds: c.rounds,
            serverCpuUs: c.serverCpuUs,
            clientCpuUs: c.clientCpuUs,
          },
          // Median of the medians, and median of each round's paired ratio (NoSec and CoAPS
          // measured back to back, so under nearly the same load).
          coapsVsNosec: ratio(c.perSec, n.perSec),
          coapsVsNosecPairedMedian: median(perRoundRatios),
          coapsVsNosecPerRound: perRoundRatios,
          // Same comparison by CPU time per request (both processes), steadier on a busy machine.
          coapsVsNosecCpu: ratio(n.serverCpuUs + n.clientCpuUs, c.serverCpuUs + c.clientCpuUs),
          dtlsServerCpuUsPerRequest: round1(c.serverCpuUs - n.serverCpuUs),
        },
        goals: { fullHandshakesPerSec: 3000, coapsVsNosec: 0.6 },
      },
      null,
      2,
    ),
  );
}

void main();
