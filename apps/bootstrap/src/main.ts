/**
 * A runnable LwM2M bootstrap server: configs from a JSON file (reloaded when it changes), CoAP
 * and optionally CoAPS (DTLS: PSK keys from the bootstrap accounts of the configs; raw public keys
 * and certificates when LWM2M_DTLS_KEY is set, checked against the bootstrap account), pino logs.
 *
 *   LWM2M_BS_CONFIG           config file (default ./bootstrap-configs.json), see @lwm2m/bootstrap's README
 *   LWM2M_BS_HOST             address to bind (default 127.0.0.1)
 *   LWM2M_BS_PORT             CoAP port (default 5783, so it runs beside a server on 5683)
 *   LWM2M_BS_DTLS_PORT        CoAPS port (default 5784; `off` for none)
 *   LWM2M_DTLS_KEY            our P-256 private key file (PEM/DER, SEC1 or PKCS#8): turns on ECDHE-ECDSA
 *                             for rpk/x509 bootstrap accounts (any P-256 raw key passes the handshake,
 *                             the Bootstrap-Request is then checked against the endpoint's account)
 *   LWM2M_DTLS_CERT           our certificate chain file, leaf first (omitted: raw public key only)
 *   LWM2M_DTLS_CA             CA certificates of device certificates (absent: X.509 devices refused)
 *   LWM2M_BS_SESSION_TIMEOUT  ms from Bootstrap-Request to Finish (default 120000)
 *   LWM2M_BS_UNKNOWN          `bad-request` (4.00, default) or `forbidden` (4.03) for unknown endpoints
 *   LWM2M_REDIS_URL           when set, configs come from Redis (seeded from LWM2M_BS_CONFIG when that file
 *                             exists) and server credentials go to the Redis security store an LwM2M server shares
 *   LWM2M_REDIS_PREFIX        key prefix in Redis (default `lwm2m:`)
 *   LOG_LEVEL                 pino level (default info)
 */
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import {
  BootstrapConfigError,
  createBootstrapServer,
  createJsonFileBootstrapConfigStore,
} from '@lwm2m/bootstrap';
import type { BootstrapConfig, BootstrapConfigStore } from '@lwm2m/bootstrap';
import type { DatagramSocket, SecurityStore } from '@lwm2m/core';
import { createRedisBootstrapConfigStore, createRedisSecurityStore } from '@lwm2m/store-redis';
import { Redis } from 'ioredis';
import { createUdpSocket } from '@lwm2m/transport-coap';
import { createDtlsServer } from '@lwm2m/transport-dtls';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { AppConfigError, dtlsEcdsaSettings, portFromEnv, stopOnSignals } from '@lwm2m/app-kit';
import type { DtlsEcdsaSettings } from '@lwm2m/app-kit';

/** Bootstrap accounts the DTLS settings cannot accept: said at startup, since the config may change later. */
function warnUnreachableAccounts(
  configs: readonly (readonly [string, BootstrapConfig])[],
  ecdsa: DtlsEcdsaSettings | undefined,
  logger: Logger,
): void {
  const modes = (mode: string): string[] =>
    configs
      .filter(([, config]) => config.security.some((s) => s.bootstrap === true && s.mode === mode))
      .map(([key]) => key);
  const rpk = modes('rpk');
  const x509 = modes('x509');
  if (ecdsa?.options === undefined && rpk.length + x509.length > 0) {
    logger.warn(
      { configs: [...rpk, ...x509] },
      'rpk/x509 bootstrap accounts cannot connect: set LWM2M_DTLS_KEY (and keep LWM2M_BS_DTLS_PORT on)',
    );
  } else if (ecdsa?.acceptsCertificates !== true && x509.length > 0) {
    logger.warn({ configs: x509 }, 'x509 bootstrap accounts are refused: LWM2M_DTLS_CA is not set');
  }
}

async function main(logger: Logger): Promise<void> {
  const host = process.env['LWM2M_BS_HOST'] ?? '127.0.0.1';
  const coapPort = portFromEnv(process.env, 'LWM2M_BS_PORT', 5783);
  const dtlsPort = portFromEnv(process.env, 'LWM2M_BS_DTLS_PORT', 5784);
  const sessionTimeout = Number(process.env['LWM2M_BS_SESSION_TIMEOUT'] ?? 120_000);
  const unknown = process.env['LWM2M_BS_UNKNOWN'] === 'forbidden' ? 'forbidden' : 'bad-request';
  const path = resolve(process.env['LWM2M_BS_CONFIG'] ?? 'bootstrap-configs.json');
  const ecdsa = dtlsPort === undefined ? undefined : dtlsEcdsaSettings(process.env);

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
  warnUnreachableAccounts(configs, ecdsa, logger);

  const sockets: DatagramSocket[] = [];
  if (coapPort !== undefined) sockets.push(await createUdpSocket({ address: host, port: coapPort }));
  if (dtlsPort !== undefined) {
    const dtls = createDtlsServer({
      address: host,
      port: dtlsPort,
      logger,
      psk: { lookup: (identity) => configStore.getBootstrapPsk(identity) },
      ...(ecdsa?.options === undefined ? {} : { ecdsa: ecdsa.options }),
    });
    await dtls.listen();
    sockets.push(dtls);
  }
  if (sockets.length === 0) throw new AppConfigError('both LWM2M_BS_PORT and LWM2M_BS_DTLS_PORT are off');

  const server = createBootstrapServer({
    sockets,
    configStore,
    logger,
    sessionTimeout,
    unknownEndpoint: unknown,
    // The LwM2M server accounts a device is given reach the server through this shared store.
    ...(securityStore === undefined ? {} : { securityStore }),
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

  stopOnSignals(logger, async () => {
    await Promise.all([server.close(), fileStore.close()]);
    await redis?.quit();
  });
}

const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'info' });
main(logger).catch((error: unknown) => {
  if (error instanceof AppConfigError || error instanceof BootstrapConfigError) {
    logger.fatal(error.message);
    process.exit(2);
  }
  logger.fatal({ err: error }, 'bootstrap server failed to start');
  process.exit(1);
});
