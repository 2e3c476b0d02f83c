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
import { createCoapEndpoint, createUdpSocket, type CoapEndpoint } from '@lwm2m/transport-coap';
import { ratio } from '../../../bench/measure.js';
import { CipherSuite, connectDtls } from '../src/index.js';
import { BENCH_IDENTITY, BENCH_KEY } from './bench-credentials.js';
import {
  fail,
  handshakeLoad,
  host,
  measure,
  median,
  round1,
  startServer,
  type Load,
  type Sample,
} from './bench-harness.js';

const IN_FLIGHT = 50;
const PAYLOAD = new Uint8Array(32).fill(0x61);
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 7);
const durationMs = Number(process.env['BENCH_MS'] ?? 1000);
const warmupMs = Number(process.env['BENCH_WARMUP_MS'] ?? 300);
const handshakeClients = Number(process.env['HANDSHAKE_CLIENTS'] ?? 32);
const ciphers = [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8];

function coapLoad(endpoint: CoapEndpoint, port: number): Load {
  const peer = { address: host, port };
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

const timing = { warmupMs, durationMs };
const pskHandshakes = (port: number): Promise<Load> =>
  handshakeLoad(handshakeClients, {
    peer: { address: host, port },
    psk: { identity: BENCH_IDENTITY, key: BENCH_KEY },
    ciphers,
  });

async function main(): Promise<void> {
  const server = await startServer();
  const handshakes: Sample[] = [];
  const nosec: Sample[] = [];
  const coaps: Sample[] = [];
  try {
    // One untimed round first: the first pass over each path pays for JIT and lazy module loading.
    await measure(await pskHandshakes(server.ports.handshake), server, timing);
    await measure(await nosecLoad(server.ports.nosec), server, timing);
    await measure(await coapsLoad(server.ports.coaps), server, timing);
    for (let round = 0; round < rounds; round++) {
      handshakes.push(await measure(await pskHandshakes(server.ports.handshake), server, timing));
      nosec.push(await measure(await nosecLoad(server.ports.nosec), server, timing));
      coaps.push(await measure(await coapsLoad(server.ports.coaps), server, timing));
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
