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
import { createECDH, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { ratio } from '../../../bench/measure.js';
import { CipherSuite, type ConnectDtlsOptions } from '../src/index.js';
import { createTestPki } from '../src/test-pki.js';
import { BENCH_IDENTITY, BENCH_KEY } from './bench-credentials.js';
import {
  handshakeLoad,
  host,
  measure,
  median,
  round1,
  startServer,
  type BenchServer,
  type Sample,
} from './bench-harness.js';

const rounds = Number(process.env['BENCH_ROUNDS'] ?? 5);
const durationMs = Number(process.env['BENCH_MS'] ?? 1000);
const handshakeClients = Number(process.env['HANDSHAKE_CLIENTS'] ?? 32);

/** Full handshakes back to back on `handshakeClients` ports for `durationMs`. */
async function handshakes(
  server: BenchServer,
  options: Omit<ConnectDtlsOptions, 'socket' | 'timeout'>,
): Promise<Sample> {
  return measure(await handshakeLoad(handshakeClients, options), server, { warmupMs: 300, durationMs });
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

async function main(): Promise<void> {
  const pki = createTestPki();
  const root = pki.ca('bench-root');
  const leaf = pki.issue('localhost', root);
  const server = await startServer([leaf.keyFile, leaf.certFile]);
  const ecdhePort = server.ports.ecdhe;
  if (ecdhePort === undefined) throw new Error('bench server did not start its ECDHE listener');
  const psk: Omit<ConnectDtlsOptions, 'socket' | 'timeout'> = {
    peer: { address: host, port: server.ports.handshake },
    psk: { identity: BENCH_IDENTITY, key: BENCH_KEY },
    ciphers: [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8],
  };
  const ecdhe: Omit<ConnectDtlsOptions, 'socket' | 'timeout'> = {
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
