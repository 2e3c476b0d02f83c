/**
 * A runnable LwM2M bootstrap server: configs from a JSON file (reloaded when it changes), CoAP
 * and optionally CoAPS (DTLS-PSK, keys from the bootstrap accounts of the configs), pino logs.
 *
 *   LWM2M_BS_CONFIG           config file (default ./bootstrap-configs.json), see @lwm2m/bootstrap's README
 *   LWM2M_BS_HOST             address to bind (default 127.0.0.1)
 *   LWM2M_BS_PORT             CoAP port (default 5783, so it runs beside a server on 5683)
 *   LWM2M_BS_DTLS_PORT        CoAPS port (default 5784; `off` for none)
 *   LWM2M_BS_SESSION_TIMEOUT  ms from Bootstrap-Request to Finish (default 120000)
 *   LWM2M_BS_UNKNOWN          `bad-request` (4.00, default) or `forbidden` (4.03) for unknown endpoints
 *   LWM2M_REDIS_URL           when set, configs come from Redis (seeded from LWM2M_BS_CONFIG when that file
 *                             exists) and server credentials go to the Redis security store an LwM2M server shares
 *   LWM2M_REDIS_PREFIX        key prefix in Redis (default `lwm2m:`)
 *   LOG_LEVEL                 pino level (default info)
 */
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { createBootstrapServer, createJsonFileBootstrapConfigStore } from '@lwm2m/bootstrap';
import type { BootstrapConfigStore } from '@lwm2m/bootstrap';
import type { DatagramSocket, SecurityStore } from '@lwm2m/core';
import { createRedisBootstrapConfigStore, createRedisSecurityStore } from '@lwm2m/store-redis';
import { Redis } from 'ioredis';
import { createUdpSocket } from '@lwm2m/transport-coap';
import { createDtlsServer } from '@lwm2m/transport-dtls';
import { pino } from 'pino';

function port(name: string, fallback: number): number | undefined {
  const text = process.env[name];
  if (text === 'off') return undefined;
  const value = text === undefined || text === '' ? fallback : Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 65535)
    throw new Error(`${name} must be a port number or "off"`);
  return value;
}

async function main(): Promise<void> {
  const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'info' });
  const host = process.env['LWM2M_BS_HOST'] ?? '127.0.0.1';
  const coapPort = port('LWM2M_BS_PORT', 5783);
  const dtlsPort = port('LWM2M_BS_DTLS_PORT', 5784);
  const sessionTimeout = Number(process.env['LWM2M_BS_SESSION_TIMEOUT'] ?? 120_000);
  const unknown = process.env['LWM2M_BS_UNKNOWN'] === 'forbidden' ? 'forbidden' : 'bad-request';
  const path = resolve(process.env['LWM2M_BS_CONFIG'] ?? 'bootstrap-configs.json');

  const fileStore = await createJsonFileBootstrapConfigStore({ path, watch: true, logger });
  let configStore: BootstrapConfigStore = fileStore;
  let securityStore: SecurityStore | undefined;
  let redis: Redis | undefined;
  const redisUrl = process.env['LWM2M_REDIS_URL'];
  if (redisUrl !== undefined && redisUrl !== '') {
    redis = new Redis(redisUrl);
    const prefix = process.env['LWM2M_REDIS_PREFIX'] ?? 'lwm2m:';
    configStore = createRedisBootstrapConfigStore({ redis, prefix });
    securityStore = createRedisSecurityStore({ redis, prefix });
    if (existsSync(path))
      for (const [key, config] of await fileStore.entries()) await configStore.put(key, config);
    await fileStore.close();
  }
  const configs = await configStore.entries();
  logger.info(
    { source: redis === undefined ? path : 'redis', configs: configs.map(([key]) => key) },
    'bootstrap configs loaded',
  );

  const sockets: DatagramSocket[] = [];
  if (coapPort !== undefined) sockets.push(await createUdpSocket({ address: host, port: coapPort }));
  if (dtlsPort !== undefined) {
    const dtls = createDtlsServer({
      address: host,
      port: dtlsPort,
      logger,
      psk: { lookup: (identity) => configStore.getBootstrapPsk(identity) },
    });
    await dtls.listen();
    sockets.push(dtls);
  }
  if (sockets.length === 0) throw new Error('both LWM2M_BS_PORT and LWM2M_BS_DTLS_PORT are off');

  const server = createBootstrapServer({
    sockets,
    configStore,
    logger,
    sessionTimeout,
    unknownEndpoint: unknown,
  });
  server.on('bootstrap-finish', (e) =>
    logger.info(
      { endpoint: e.endpoint, duration: e.duration, operations: e.operations },
      'bootstrap finished',
    ),
  );
  server.on('bootstrap-failed', (e) =>
    logger.warn(
      { endpoint: e.endpoint, step: e.step, path: e.path, reason: e.reason, code: e.responseCode },
      'bootstrap failed',
    ),
  );
  await server.listen();
  logger.info(
    { coap: sockets[0]?.address(), coaps: dtlsPort === undefined ? undefined : sockets.at(-1)?.address() },
    'bootstrap server listening',
  );

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    void Promise.all([server.close(), fileStore.close()])
      .then(() => redis?.quit())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'close failed');
          process.exit(1);
        },
      );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
