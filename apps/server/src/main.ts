/**
 * A runnable LwM2M server: CoAP and CoAPS (DTLS-PSK) on one process, logs with pino, registrations
 * in memory or in Redis. Configured from the environment:
 *
 *   LWM2M_HOST           address to bind (default 0.0.0.0)
 *   LWM2M_COAP_PORT      NoSec port (default 5683; 0 picks one; "off" disables)
 *   LWM2M_COAPS_PORT     DTLS-PSK port (default 5684; 0 picks one; "off" disables)
 *   LWM2M_PSK_FILE       JSON file: [{ "endpoint": "dev-1", "identity": "dev-1", "key": "hex" }, …]
 *   LWM2M_PSK            the same JSON inline (added after the file)
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
import { createRedisObservationStore, createRedisRegistrationStore, createRedisSecurityStore } from '@lwm2m/store-redis';

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
  if (!Number.isInteger(value) || value < 0 || value > 65535) fail(`${name} must be a port number or "off", got ${text}`);
  return value;
}

/** PSK entries from LWM2M_PSK_FILE and LWM2M_PSK. */
function pskEntries(): SecurityInfo[] {
  const texts: [string, string][] = [];
  const file = env['LWM2M_PSK_FILE'];
  if (file !== undefined) {
    try {
      texts.push([file, readFileSync(file, 'utf8')]);
    } catch (error) {
      fail(`cannot read LWM2M_PSK_FILE ${file}: ${(error as Error).message}`);
    }
  }
  if (env['LWM2M_PSK'] !== undefined) texts.push(['LWM2M_PSK', env['LWM2M_PSK']]);
  const entries: SecurityInfo[] = [];
  for (const [source, text] of texts) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      fail(`${source} is not JSON`);
    }
    if (!Array.isArray(parsed)) fail(`${source} must be a JSON array`);
    for (const entry of parsed as unknown[]) {
      const { endpoint, identity, key } = (entry ?? {}) as Record<string, unknown>;
      if (typeof endpoint !== 'string' || typeof key !== 'string' || !/^([0-9a-fA-F]{2}){1,64}$/.test(key)) {
        fail(`${source}: each entry needs "endpoint" and a hex "key" (1-64 bytes)`);
      }
      const name = typeof identity === 'string' ? identity : endpoint;
      if (Buffer.byteLength(name) > 128) fail(`${source}: PSK identity of ${endpoint} longer than 128 bytes`);
      entries.push({ endpoint, mode: 'psk', identity: name, key: new Uint8Array(Buffer.from(key, 'hex')) });
    }
  }
  return entries;
}

async function main(): Promise<void> {
  const host = env['LWM2M_HOST'] ?? '0.0.0.0';
  const coapPort = port('LWM2M_COAP_PORT', 5683);
  const coapsPort = port('LWM2M_COAPS_PORT', 5684);
  if (coapPort === undefined && coapsPort === undefined) fail('both ports are off');

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
  for (const info of pskEntries()) await security.put(info);

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
    });
    await dtls.listen();
    sockets['coaps'] = dtls;
  }

  const server = createServer({ sockets, stores, logger: logger.child({ component: 'server' }) });
  const readOnRegister = env['LWM2M_READ_ON_REGISTER'] === '1';
  server.on('registered', (registration) => {
    logger.info({ endpoint: registration.endpoint, id: registration.id, version: registration.version, peer: `${registration.address}:${registration.port}`, transport: registration.transport }, 'registered');
    if (!readOnRegister) return;
    server.read(registration.endpoint, '/3/0', { timeout: 30_000 }).then(
      (device) => logger.info({ endpoint: registration.endpoint, device }, 'device object'),
      (error: unknown) => logger.warn({ endpoint: registration.endpoint, err: isLwm2mError(error) ? error.message : error }, 'read of /3/0 failed'),
    );
  });
  server.on('updated', (registration) => logger.debug({ endpoint: registration.endpoint }, 'updated'));
  server.on('deregistered', (registration) => logger.info({ endpoint: registration.endpoint }, 'deregistered'));
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
  logger.info({ coap: sockets['coap']?.address().port, coaps: sockets['coaps']?.address().port }, 'listening');

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    server
      .close()
      .then(() => redis?.quit())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'close failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  logger.fatal({ err: error }, 'server failed to start');
  process.exit(1);
});
