/**
 * A runnable LwM2M server: CoAP and CoAPS (DTLS with PSK, raw public keys and certificates) on one
 * process, logs with pino, registrations in memory or in Redis. Configured from the environment:
 *
 *   LWM2M_HOST           address to bind (default 0.0.0.0)
 *   LWM2M_COAP_PORT      NoSec port (default 5683; 0 picks one; "off" disables)
 *   LWM2M_COAPS_PORT     DTLS port (default 5684; 0 picks one; "off" disables)
 *   LWM2M_DTLS_KEY       our P-256 private key file (PEM/DER, SEC1 or PKCS#8): turns on ECDHE-ECDSA;
 *                        devices' raw public keys then pass the handshake and are checked at
 *                        registration against the security entries
 *   LWM2M_DTLS_CERT      our certificate chain file, leaf first (omitted: raw public key only)
 *   LWM2M_DTLS_CA        CA certificates of device certificates (absent: X.509 devices refused)
 *   LWM2M_SECURITY_FILE  JSON file: [{ "endpoint", "mode": "psk", "identity", "key": hex }
 *                        | { "endpoint", "mode": "rpk", "publicKey": PEM file path or base64 SPKI DER }
 *                        | { "endpoint", "mode": "x509", "commonName"? }, …]
 *   LWM2M_PSK_FILE       JSON file: [{ "endpoint": "dev-1", "identity": "dev-1", "key": "hex" }, …]
 *   LWM2M_PSK            the same JSON inline (entries are added in this order; a later one of the
 *                        same endpoint replaces an earlier one)
 *   LWM2M_REDIS_URL      redis://127.0.0.1:6379 to keep registrations, observations and
 *                        security info in Redis (several processes can share it)
 *   LWM2M_REDIS_PREFIX   key prefix (default lwm2m:)
 *   LWM2M_READ_ON_REGISTER  1 to read /3/0 of every client that registers (a demo of the DM API)
 *   LOG_LEVEL            pino level (default info)
 *
 * It logs one JSON line `{"msg":"listening", "coap": port, "coaps": port}` when ready, so tests and
 * the demo can start it on port 0 and read where it went.
 */
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { createMemorySecurityStore, formatPath, isLwm2mError } from '@lwm2m/core';
import type { DatagramSocket, SecurityInfo, SecurityStore } from '@lwm2m/core';
import { createUdpSocket } from '@lwm2m/transport-coap';
import { createDtlsServer } from '@lwm2m/transport-dtls';
import { createServer } from '@lwm2m/server';
import type { ServerStores } from '@lwm2m/server';
import { DtlsCredentialsConfigError, dtlsEcdsaSettings, stopOnSignals } from '@lwm2m/app-kit';
import type { DtlsEcdsaSettings } from '@lwm2m/app-kit';
import { SecurityEntryError, baseDirOf, parseSecurityEntries } from './security-entries.js';
import {
  createRedisObservationStore,
  createRedisRegistrationStore,
  createRedisSecurityStore,
} from '@lwm2m/store-redis';

const env = process.env;
const logger = pino({ level: env['LOG_LEVEL'] ?? 'info' });

function fail(message: string): never {
  logger.fatal(message);
  process.exit(2);
}

function port(name: string, fallback: number): number | undefined {
  const text = env[name] ?? String(fallback);
  if (text === 'off') return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 65535)
    fail(`${name} must be a port number or "off", got ${text}`);
  return value;
}

/** Device security entries from LWM2M_SECURITY_FILE, LWM2M_PSK_FILE and LWM2M_PSK, in that order (a later one replaces an earlier one of the same endpoint). */
function securityEntries(): SecurityInfo[] {
  const entries: SecurityInfo[] = [];
  for (const name of ['LWM2M_SECURITY_FILE', 'LWM2M_PSK_FILE']) {
    const file = env[name];
    if (file === undefined || file === '') continue;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      fail(`cannot read ${name} ${file}: ${(error as Error).message}`);
    }
    entries.push(...parse(text, `${name} ${file}`, baseDirOf(file)));
  }
  const inline = env['LWM2M_PSK'];
  if (inline !== undefined && inline !== '') entries.push(...parse(inline, 'LWM2M_PSK', process.cwd()));
  return entries;
}

function parse(text: string, source: string, baseDir: string): SecurityInfo[] {
  try {
    return parseSecurityEntries(text, source, baseDir);
  } catch (error) {
    if (error instanceof SecurityEntryError) fail(error.message);
    throw error;
  }
}

function ecdsaSettings(): DtlsEcdsaSettings {
  try {
    return dtlsEcdsaSettings(env);
  } catch (error) {
    if (error instanceof DtlsCredentialsConfigError) fail(error.message);
    throw error;
  }
}

async function main(): Promise<void> {
  const host = env['LWM2M_HOST'] ?? '0.0.0.0';
  const coapPort = port('LWM2M_COAP_PORT', 5683);
  const coapsPort = port('LWM2M_COAPS_PORT', 5684);
  if (coapPort === undefined && coapsPort === undefined) fail('both ports are off');

  // Every file is read before anything connects: a mistake stops the start with one line.
  const entries = securityEntries();
  const ecdsa = coapsPort === undefined ? undefined : ecdsaSettings();
  if (entries.some((e) => e.mode !== 'psk') && ecdsa?.options === undefined) {
    logger.warn('RPK/X.509 devices are listed but cannot connect: set LWM2M_DTLS_KEY (and LWM2M_COAPS_PORT)');
  } else if (entries.some((e) => e.mode === 'x509') && ecdsa?.acceptsCertificates !== true) {
    logger.warn('X.509 devices are listed but LWM2M_DTLS_CA is not set: their certificates are refused');
  }

  let redis: Redis | undefined;
  let stores: ServerStores;
  let security: SecurityStore;
  const redisUrl = env['LWM2M_REDIS_URL'];
  if (redisUrl !== undefined) {
    redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
    const prefix = env['LWM2M_REDIS_PREFIX'] ?? 'lwm2m:';
    security = createRedisSecurityStore({ redis, prefix });
    stores = {
      registrations: createRedisRegistrationStore({ redis, prefix }),
      observations: createRedisObservationStore({ redis, prefix }),
      security,
    };
  } else {
    security = createMemorySecurityStore();
    stores = { security };
  }
  for (const info of entries) await security.put(info);

  const sockets: Record<string, DatagramSocket> = {};
  if (coapPort !== undefined) sockets['coap'] = await createUdpSocket({ address: host, port: coapPort });
  if (coapsPort !== undefined) {
    const dtls = createDtlsServer({
      address: host,
      port: coapsPort,
      logger: logger.child({ component: 'dtls' }),
      psk: {
        lookup: async (identity) => {
          const info = await security.getByPskIdentity(identity);
          return info?.mode === 'psk' ? info.key : undefined;
        },
      },
      ...(ecdsa?.options === undefined ? {} : { ecdsa: ecdsa.options }),
    });
    await dtls.listen();
    sockets['coaps'] = dtls;
  }

  const server = createServer({ sockets, stores, logger: logger.child({ component: 'server' }) });
  const readOnRegister = env['LWM2M_READ_ON_REGISTER'] === '1';
  server.on('registered', (registration) => {
    logger.info(
      {
        endpoint: registration.endpoint,
        id: registration.id,
        version: registration.version,
        peer: `${registration.address}:${registration.port}`,
        transport: registration.transport,
      },
      'registered',
    );
    if (!readOnRegister) return;
    server.read(registration.endpoint, '/3/0', { timeout: 30_000 }).then(
      (device) => logger.info({ endpoint: registration.endpoint, device }, 'device object'),
      (error: unknown) =>
        logger.warn(
          { endpoint: registration.endpoint, err: isLwm2mError(error) ? error.message : error },
          'read of /3/0 failed',
        ),
    );
  });
  server.on('updated', (registration) => logger.debug({ endpoint: registration.endpoint }, 'updated'));
  server.on('deregistered', (registration) =>
    logger.info({ endpoint: registration.endpoint }, 'deregistered'),
  );
  server.on('expired', (registration) => logger.info({ endpoint: registration.endpoint }, 'expired'));
  server.on('awake', (registration) => logger.debug({ endpoint: registration.endpoint }, 'awake'));
  server.on('sleeping', (registration) => logger.debug({ endpoint: registration.endpoint }, 'sleeping'));
  server.on('notification', ({ registration, value }) => {
    const where = value.composite ? [...value.nodes.keys()].join(',') : formatPath(value.path);
    logger.info({ endpoint: registration.endpoint, path: where }, 'notification');
  });
  server.on('send', ({ registration, data }) => {
    logger.info({ endpoint: registration.endpoint, paths: data.flatMap((d) => [...d.nodes.keys()]) }, 'send');
  });
  await server.listen();
  logger.info(
    { coap: sockets['coap']?.address().port, coaps: sockets['coaps']?.address().port },
    'listening',
  );

  stopOnSignals(logger, async () => {
    await server.close();
    await redis?.quit();
  });
}

main().catch((error: unknown) => {
  logger.fatal({ err: error }, 'server failed to start');
  process.exit(1);
});
