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
import { pino } from 'pino';
import { formatPath, isLwm2mError } from '@lwm2m/core';
import { createServer } from '@lwm2m/server';
import {
  AppConfigError,
  openServerSockets,
  securityEntriesFromEnv,
  serverListenSettings,
  openServerStores,
  stopOnSignals,
  unreachableEntriesWarning,
} from '@lwm2m/app-kit';

const env = process.env;
const logger = pino({ level: env['LOG_LEVEL'] ?? 'info' });

async function main(): Promise<void> {
  // Every file is read before anything connects: a mistake stops the start with one line.
  const settings = serverListenSettings(env);
  const entries = securityEntriesFromEnv(env);
  const warning = unreachableEntriesWarning(entries, settings);
  if (warning !== undefined) logger.warn(warning);

  const { stores, security, redis } = await openServerStores(env, entries);

  const sockets = await openServerSockets(settings, security, logger);

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
  if (error instanceof AppConfigError) {
    logger.fatal(error.message);
    process.exit(2);
  }
  logger.fatal({ err: error }, 'server failed to start');
  process.exit(1);
});
