/**
 * @lwm2m/server benchmark. Prints one JSON object:
 * - registrations/s: 10k simulated clients (a child process, registration-clients.ts: 32 UDP
 *   sockets, 4 Registers in flight each) registering over loopback (NoSec) with the server alone in
 *   this process, against the same harness aimed at a bare CoAP endpoint that answers 2.01 at once
 *   (the ceiling the transport allows), in alternating rounds; plus the server process's CPU µs per
 *   registration (process.cpuUsage), the figure the shared machine's load disturbs least;
 * - notifications/s ingested (decoded, emitted) from CON notifications over UDP, against the same
 *   run's raw CoAP client-side notification rate (no LwM2M decoding);
 * - read round trips/s (text/plain single resource) against raw CoAP GET round trips;
 * - heap bytes per registration with 100k registrations (memory stores, in-memory sockets).
 * Run: pnpm --filter @lwm2m/server bench (node --expose-gc is needed for the heap figure).
 * Environment: BENCH_ONLY=registrations, BENCH_ROUNDS (default 5), BENCH_CLIENTS (default 10000),
 * BENCH_SOCKETS / BENCH_WINDOW (clients' sockets and requests in flight per socket).
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createCoapEndpoint, createMemorySocketPair, createUdpSocket, CoapCode } from '@lwm2m/transport-coap';
import type { CoapEndpoint, ServerObservation } from '@lwm2m/transport-coap';
import { createServer } from '../src/server.js';
import type { Lwm2mServer } from '../src/server.js';
import type { RoundRequest, RoundResult } from './registration-clients.js';

const CLIENTS = Number(process.env['BENCH_CLIENTS'] ?? 10_000);
const REPEATS = 3;
const REGISTRATION_ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);
const log = (m: string): void => void process.stderr.write(`${m}\n`);

/** Median of per-round ratios: each pair ran back to back, under the same load. */
function medianRatio(values: number[], baselines: number[]): number {
  return Math.round(median(values.map((v, i) => v / (baselines[i] as number))) * 1000) / 1000;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function udpEndpoint(
  handler?: Parameters<typeof createCoapEndpoint>[0]['handler'],
): Promise<CoapEndpoint> {
  return createCoapEndpoint({
    socket: await createUdpSocket({ address: '127.0.0.1', port: 0 }),
    transmission: { nstart: 10_000 },
    ...(handler === undefined ? {} : { handler }),
  });
}

/** `count` requests spread over `senders`, each keeping WINDOW in flight (more only overflows socket buffers). */
const WINDOW = 16;
async function rate(
  senders: CoapEndpoint[],
  count: number,
  send: (sender: CoapEndpoint, i: number) => Promise<unknown>,
): Promise<number> {
  const start = performance.now();
  let next = 0;
  await Promise.all(
    senders.flatMap((sender) =>
      Array.from({ length: WINDOW }, async () => {
        for (let i = next++; i < count; i = next++) await send(sender, i);
      }),
    ),
  );
  return Math.round((count * 1000) / (performance.now() - start));
}

interface RegistrationSample {
  readonly perSecond: number;
  /** CPU (user + system) of this process, the server's, per registration. */
  readonly cpuUs: number;
  /** CPU of the simulated clients' process per registration. */
  readonly clientCpuUs: number;
  readonly resent: number;
}

/** The simulated clients (registration-clients.ts) in a child process. */
async function startClients(): Promise<{ run(request: RoundRequest): Promise<RoundResult>; stop(): void }> {
  const child = fork(fileURLToPath(new URL('./registration-clients.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx', '--conditions=@lwm2m/source'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`clients exited with ${code}`)));
  });
  return {
    run: (request) =>
      new Promise<RoundResult>((resolve) => {
        child.once('message', (result) => resolve(result as RoundResult));
        child.send(request);
      }),
    stop: () => {
      child.send('stop');
      child.disconnect();
    },
  };
}

/**
 * One round: CLIENTS Registers against `target` (the LwM2M server or a bare CoAP endpoint that
 * answers 2.01 at once, the ceiling the transport allows), the server alone in this process.
 */
async function registrationRound(
  clients: Awaited<ReturnType<typeof startClients>>,
  target: 'lwm2m' | 'raw',
  prefix: string,
): Promise<RegistrationSample> {
  const socket = await createUdpSocket({ address: '127.0.0.1', port: 0 });
  let server: Lwm2mServer | undefined;
  let raw: CoapEndpoint | undefined;
  if (target === 'lwm2m') {
    server = createServer({ sockets: { coap: socket } });
    await server.listen();
  } else {
    raw = createCoapEndpoint({
      socket,
      handler: () => ({ code: CoapCode.CREATED, locationPath: ['rd', 'x'] }),
    });
  }
  try {
    const cpu = process.cpuUsage();
    const result = await clients.run({ port: socket.address().port, clients: CLIENTS, prefix });
    const used = process.cpuUsage(cpu);
    if (result.created !== CLIENTS)
      throw new Error(`${target}: ${result.created} of ${CLIENTS} created, ${result.failed} failed`);
    if (server !== undefined) {
      let held = 0;
      for await (const registration of server.registrations.all())
        if (registration.endpoint.startsWith(prefix)) held++;
      if (held !== CLIENTS) throw new Error(`the server holds ${held} of ${CLIENTS} registrations`);
    }
    return {
      perSecond: Math.round((CLIENTS * 1000) / result.elapsedMs),
      cpuUs: Math.round(((used.user + used.system) / CLIENTS) * 10) / 10,
      clientCpuUs: result.clientCpuUs,
      resent: result.resent,
    };
  } finally {
    await server?.close();
    await raw?.close();
  }
}

async function registrations(): Promise<{ lwm2m: RegistrationSample[]; raw: RegistrationSample[] }> {
  const clients = await startClients();
  const lwm2m: RegistrationSample[] = [];
  const raw: RegistrationSample[] = [];
  try {
    // Round 0 warms both up (JIT) and is not counted; raw and LwM2M alternate so they share the load of the moment.
    for (let r = 0; r <= REGISTRATION_ROUNDS; r++) {
      const rawSample = await registrationRound(clients, 'raw', `raw-${r}`);
      const lwm2mSample = await registrationRound(clients, 'lwm2m', `bench-${r}`);
      log(`registrations round ${r}: lwm2m ${JSON.stringify(lwm2mSample)} raw ${JSON.stringify(rawSample)}`);
      if (r === 0) continue;
      raw.push(rawSample);
      lwm2m.push(lwm2mSample);
    }
  } finally {
    clients.stop();
  }
  return { lwm2m, raw };
}

async function reads(): Promise<{ lwm2m: number; raw: number }> {
  const server = createServer({
    sockets: { coap: await createUdpSocket({ address: '127.0.0.1', port: 0 }) },
    coap: { transmission: { nstart: 10_000 } },
  });
  await server.listen();
  const client = await udpEndpoint(() => ({ code: CoapCode.CONTENT, contentFormat: 0, payload: '21.5' }));
  const rawSender = await udpEndpoint();
  try {
    await client.request({
      peer: server.address(),
      method: 'POST',
      path: '/rd',
      query: ['ep=reader', 'lwm2m=1.1'],
      payload: '</3303/0>',
      contentFormat: 40,
    });
    const n = 5_000;
    const rawRate = await rate([rawSender], n, (sender) =>
      sender.request({ peer: client.address(), method: 'GET', path: '/3303/0/5700' }, { timeout: 60_000 }),
    );
    const start = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: WINDOW }, async () => {
        for (let i = next++; i < n; i = next++) await server.read('reader', '/3303/0/5700');
      }),
    );
    return { lwm2m: Math.round((n * 1000) / (performance.now() - start)), raw: rawRate };
  } finally {
    await server.close();
    await client.close();
    await rawSender.close();
  }
}

async function notifications(): Promise<{ lwm2m: number; raw: number }> {
  const n = 5_000;
  async function run(useServer: boolean): Promise<number> {
    const observers: ServerObservation[] = [];
    const client = await udpEndpoint((request) => {
      if (request.observe === 0) observers.push(request.acceptObserve());
      return { code: CoapCode.CONTENT, contentFormat: 0, payload: '20' };
    });
    let server: Lwm2mServer | undefined;
    let rawEndpoint: CoapEndpoint | undefined;
    let received = 0;
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const count = (): void => {
      received++;
      if (received === n) done();
    };
    try {
      if (useServer) {
        server = createServer({
          sockets: { coap: await createUdpSocket({ address: '127.0.0.1', port: 0 }) },
        });
        await server.listen();
        await client.request({
          peer: server.address(),
          method: 'POST',
          path: '/rd',
          query: ['ep=notifier', 'lwm2m=1.1'],
          payload: '</3303/0>',
          contentFormat: 40,
        });
        server.on('notification', count);
        await server.observe('notifier', '/3303/0/5700');
      } else {
        rawEndpoint = await udpEndpoint();
        const observation = await rawEndpoint.observe(
          { peer: client.address(), method: 'GET', path: '/3303/0/5700' },
          { reregister: false },
        );
        observation.on('notification', count);
      }
      const observer = observers[0];
      if (observer === undefined) throw new Error('no observer');
      const start = performance.now();
      // One CON at a time: the CoAP layer coalesces notifications while one is unacknowledged.
      for (let i = 0; i < n; i++)
        await observer.notify({ payload: String(20 + (i % 100) / 10), contentFormat: 0, confirmable: true });
      await finished;
      return Math.round((n * 1000) / (performance.now() - start));
    } finally {
      await server?.close();
      await rawEndpoint?.close();
      await client.close();
    }
  }
  const raw = await run(false);
  const lwm2m = await run(true);
  return { lwm2m, raw };
}

async function heapPerRegistration(): Promise<number | undefined> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return undefined;
  const [serverSocket, clientSocket] = createMemorySocketPair();
  const server = createServer({ sockets: { coap: serverSocket } });
  await server.listen();
  const client = createCoapEndpoint({
    socket: clientSocket,
    transmission: { nstart: 10_000 },
    maxDedupEntries: 100,
  });
  const peer = serverSocket.address();
  const total = 100_000;
  const warm = 1_000;
  const register = (i: number) =>
    client.request({
      peer,
      method: 'POST',
      path: '/rd',
      query: [`ep=urn:dev:heap-${i}`, 'lt=86400', 'lwm2m=1.1', 'b=U'],
      payload: '</>;rt="oma.lwm2m";ct="60 110 112",</1/0>,</3/0>,</3303/0>',
      contentFormat: 40,
    });
  for (let i = 0; i < warm; i++) await register(i);
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = warm; i < total; i += 500)
    await Promise.all(Array.from({ length: 500 }, (_, k) => register(i + k)));
  // Let the CoAP layer's exchange caches expire: they belong to traffic, not to registrations.
  await new Promise((resolve) => setTimeout(resolve, 100));
  gc();
  const after = process.memoryUsage().heapUsed;
  let count = 0;
  for await (const registration of server.registrations.all()) if (registration !== undefined) count++;
  await server.close();
  await client.close();
  return Math.round((after - before) / (count - warm));
}

async function main(): Promise<void> {
  const only = process.env['BENCH_ONLY'];
  const regs = await registrations();
  const regSummary = {
    clients: CLIENTS,
    perSecond: median(regs.lwm2m.map((r) => r.perSecond)),
    rawCoapPerSecond: median(regs.raw.map((r) => r.perSecond)),
    ratio: medianRatio(
      regs.lwm2m.map((r) => r.perSecond),
      regs.raw.map((r) => r.perSecond),
    ),
    serverCpuUsPerRegistration: median(regs.lwm2m.map((r) => r.cpuUs)),
    rawCoapCpuUsPerRequest: median(regs.raw.map((r) => r.cpuUs)),
    /** The simulated clients' process: with it, the machine's two cores bound the rate. */
    clientCpuUsPerRegistration: median(regs.lwm2m.map((r) => r.clientCpuUs)),
    resent: regs.lwm2m.reduce((sum, r) => sum + r.resent, 0),
    /** The rate one core would reach from the CPU cost alone: steadier than the rate on a shared machine. */
    cpuBoundPerSecond: Math.round(1e6 / median(regs.lwm2m.map((r) => r.cpuUs))),
    runs: regs.lwm2m.map((r) => r.perSecond),
    rawRuns: regs.raw.map((r) => r.perSecond),
    cpuUsRuns: regs.lwm2m.map((r) => r.cpuUs),
    goalPerSecond: 10_000,
  };
  if (only === 'registrations') {
    console.log(JSON.stringify({ registrations: regSummary }, null, 2));
    return;
  }
  const readRuns: { lwm2m: number; raw: number }[] = [];
  for (let r = 0; r < REPEATS; r++) {
    readRuns.push(await reads());
    log(`reads ${JSON.stringify(readRuns[r])}`);
  }
  const notifyRuns: { lwm2m: number; raw: number }[] = [];
  for (let r = 0; r < REPEATS; r++) {
    notifyRuns.push(await notifications());
    log(`notifications ${JSON.stringify(notifyRuns[r])}`);
  }
  const heap = await heapPerRegistration();
  const summary = (runs: { lwm2m: number; raw: number }[]) => {
    const lwm2m = median(runs.map((r) => r.lwm2m));
    const raw = median(runs.map((r) => r.raw));
    return {
      perSecond: lwm2m,
      rawCoapPerSecond: raw,
      ratio: Math.round((lwm2m / raw) * 1000) / 1000,
      runs: runs.map((r) => r.lwm2m),
    };
  };
  console.log(
    JSON.stringify(
      {
        registrations: regSummary,
        notifications: { ...summary(notifyRuns), goalRatio: 0.5 },
        reads: summary(readRuns),
        heapBytesPerRegistration: heap ?? 'run with node --expose-gc',
        heapGoalBytes: 2048,
        repeats: REPEATS,
        note: 'medians of repeats; shared, loaded machine: expect ±20% on rates, less on CPU µs',
      },
      null,
      2,
    ),
  );
}

await main();
