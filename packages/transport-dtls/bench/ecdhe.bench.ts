/**
 * ECDHE-ECDSA benchmark beside PSK, two processes on 127.0.0.1 (server in a child process):
 *
 * - full handshakes per second, TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 with a server certificate
 *   (P-256, signed by a test CA; the client verifies the chain) and TLS_PSK_WITH_AES_128_CCM_8,
 *   HANDSHAKE_CLIENTS ports each running handshake after handshake (cookie exchange, no
 *   resumption), measured in interleaved rounds;
 * - the raw node:crypto cost, in this process and the same run, of one P-256 ECDH (key pair +
 *   shared secret) and one ECDSA P-256 SHA-256 sign + verify: what a full ECDHE handshake costs
 *   each side at least (server: ECDH + sign; client: ECDH + verify + chain verify).
 *
 * Medians over rounds; each round's figures are listed too. Prints one JSON object.
 * Environment: BENCH_ROUNDS (default 5), BENCH_MS (default 1000), HANDSHAKE_CLIENTS (default 32).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createECDH, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { ratio } from '../../../bench/measure.js';
import { CipherSuite, connectDtls, type ConnectDtlsOptions } from '../src/index.js';
import { createTestPki } from '../src/test-pki.js';
import { BENCH_IDENTITY, BENCH_KEY } from './bench-credentials.js';
import type { BenchServerPorts } from './dtls-bench-server.js';

const host = '127.0.0.1';
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 5);
const durationMs = Number(process.env['BENCH_MS'] ?? 1000);
const handshakeClients = Number(process.env['HANDSHAKE_CLIENTS'] ?? 32);

interface Sample {
  readonly perSec: number;
  readonly serverCpuUs: number;
  readonly clientCpuUs: number;
}

interface BenchServer {
  readonly ports: BenchServerPorts;
  cpu(): Promise<NodeJS.CpuUsage>;
  stop(): Promise<void>;
}

function startServer(args: string[]): Promise<BenchServer> {
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

/** Full handshakes back to back on `handshakeClients` ports for `durationMs`. */
async function handshakes(server: BenchServer, options: Omit<ConnectDtlsOptions, 'socket'>): Promise<Sample> {
  const sockets: Socket[] = [];
  for (let i = 0; i < handshakeClients; i++) {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, host, () => resolve()));
    sockets.push(socket);
  }
  let counting = false;
  let stopped = false;
  let completed = 0;
  let running = 0;
  let drained: (() => void) | undefined;
  const loop = (socket: Socket): void => {
    running++;
    connectDtls({ ...options, socket, timeout: 30_000 })
      .then((connection) => connection.close())
      .then(() => {
        running--;
        if (counting) completed++;
        if (!stopped) loop(socket);
        else if (running === 0) drained?.();
      })
      .catch((error: unknown) => {
        throw error;
      });
  };
  for (const s of sockets) loop(s);
  await sleep(300);
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
  for (const s of sockets) s.close();
  return {
    perSec: Math.round((done * 1000) / elapsed),
    serverCpuUs: round1((serverEnd.user - serverStart.user + serverEnd.system - serverStart.system) / done),
    clientCpuUs: round1((clientUsed.user + clientUsed.system) / done),
  };
}

/** µs per operation of one P-256 ECDH, one ECDSA sign and one verify, over `ms` each. */
function rawCrypto(keyPem: string, ms = 300): { ecdhUs: number; signUs: number; verifyUs: number } {
  const key = createPrivateKey(keyPem);
  const publicKey = createPublicKey(key);
  const peer = createECDH('prime256v1');
  const peerPoint = peer.generateKeys();
  const data = Buffer.alloc(100, 7);
  const signature = sign('sha256', data, key);
  const time = (op: () => void): number => {
    let n = 0;
    const start = performance.now();
    while (performance.now() - start < ms) {
      for (let i = 0; i < 20; i++) op();
      n += 20;
    }
    return round1(((performance.now() - start) * 1000) / n);
  };
  return {
    ecdhUs: time(() => {
      const e = createECDH('prime256v1');
      e.generateKeys();
      e.computeSecret(peerPoint);
    }),
    signUs: time(() => sign('sha256', data, key)),
    verifyUs: time(() => verify('sha256', data, publicKey, signature)),
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function main(): Promise<void> {
  const pki = createTestPki();
  const root = pki.ca('bench-root');
  const leaf = pki.issue('localhost', root);
  const server = await startServer([leaf.keyFile, leaf.certFile]);
  const ecdhePort = server.ports.ecdhe;
  if (ecdhePort === undefined) throw new Error('bench server did not start its ECDHE listener');
  const psk: Omit<ConnectDtlsOptions, 'socket'> = {
    peer: { address: host, port: server.ports.handshake },
    psk: { identity: BENCH_IDENTITY, key: BENCH_KEY },
    ciphers: [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8],
  };
  const ecdhe: Omit<ConnectDtlsOptions, 'socket'> = {
    peer: { address: host, port: ecdhePort },
    ecdsa: { trustAnchors: root.certFile, hostname: 'localhost' },
    ciphers: [CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8],
  };
  const pskSamples: Sample[] = [];
  const ecdheSamples: Sample[] = [];
  const rawSamples: Array<ReturnType<typeof rawCrypto>> = [];
  try {
    await handshakes(server, psk); // warm-up
    await handshakes(server, ecdhe);
    for (let round = 0; round < rounds; round++) {
      pskSamples.push(await handshakes(server, psk));
      ecdheSamples.push(await handshakes(server, ecdhe));
      rawSamples.push(rawCrypto(leaf.key.toString()));
    }
  } finally {
    await server.stop();
    pki.remove();
  }
  const m = (samples: readonly Sample[], pick: (s: Sample) => number): number => median(samples.map(pick));
  const ecdhUs = median(rawSamples.map((r) => r.ecdhUs));
  const signUs = median(rawSamples.map((r) => r.signUs));
  const verifyUs = median(rawSamples.map((r) => r.verifyUs));
  const ecdheServerCpu = m(ecdheSamples, (s) => s.serverCpuUs);
  console.log(
    JSON.stringify(
      {
        setup: {
          processes: 'server in a child process, clients in the parent, 127.0.0.1',
          rounds,
          durationMs,
          handshakeClients,
          ecdhe:
            'TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, server certificate (P-256, CA-signed), anonymous client',
          psk: 'TLS_PSK_WITH_AES_128_CCM_8',
        },
        fullHandshakesPerSec: {
          psk: m(pskSamples, (s) => s.perSec),
          ecdheEcdsa: m(ecdheSamples, (s) => s.perSec),
          ecdheVsPsk: ratio(
            m(ecdheSamples, (s) => s.perSec),
            m(pskSamples, (s) => s.perSec),
          ),
          pskRounds: pskSamples.map((s) => s.perSec),
          ecdheRounds: ecdheSamples.map((s) => s.perSec),
        },
        cpuUsPerHandshake: {
          psk: { server: m(pskSamples, (s) => s.serverCpuUs), client: m(pskSamples, (s) => s.clientCpuUs) },
          ecdheEcdsa: { server: ecdheServerCpu, client: m(ecdheSamples, (s) => s.clientCpuUs) },
        },
        rawCryptoUs: {
          p256Ecdh: ecdhUs,
          ecdsaSign: signUs,
          ecdsaVerify: verifyUs,
          ecdhPlusSignPlusVerify: round1(ecdhUs + signUs + verifyUs),
          rounds: rawSamples,
          // The server's share of a handshake that is the public-key work (ECDH + sign) it cannot avoid.
          serverPublicKeyShareOfHandshakeCpu: ratio(ecdhUs + signUs, ecdheServerCpu),
        },
      },
      null,
      2,
    ),
  );
}

void main();
