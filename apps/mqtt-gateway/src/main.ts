/**
 * An LwM2M server (CoAP and CoAPS) with its MQTT northbound API. Configured from the environment:
 *
 *   LWM2M_HOST            address to bind (default 0.0.0.0)
 *   LWM2M_COAP_PORT       CoAP port (default 5683; 0 picks one; "off" disables)
 *   LWM2M_COAPS_PORT      DTLS port (default 5684; 0 picks one; "off" disables)
 *   LWM2M_DTLS_KEY, LWM2M_DTLS_CERT, LWM2M_DTLS_CA, LWM2M_SECURITY_FILE, LWM2M_PSK_FILE, LWM2M_PSK
 *                         DTLS credentials and device security entries, as apps/server takes them
 *   LWM2M_REDIS_URL       redis://… to keep registrations, observations and security info in Redis (optional)
 *   LWM2M_REDIS_PREFIX    key prefix (default lwm2m:)
 *   MQTT_URL              broker (default mqtt://127.0.0.1:1883)
 *   MQTT_PREFIX           topic prefix (default lwm2m)
 *   MQTT_CLIENT_ID        client id; keep it stable so the broker keeps the session (default lwm2m-gateway-{prefix})
 *   MQTT_USERNAME, MQTT_PASSWORD
 *   MQTT_SENSOR_FORMAT    value (default) | raw | senml
 *   MQTT_REQUEST_TIMEOUT  default request timeout in ms (default 30000)
 *   LOG_LEVEL             pino level (default info)
 *
 * Logs one JSON line `{"msg":"listening","coap":port,"coaps":port,"prefix":…}` once the broker is reached.
 */
import { pino } from 'pino';
import { createServer } from '@lwm2m/server';
import { createMqttBridge } from '@lwm2m/mqtt-bridge';
import {
  AppConfigError,
  openServerSockets,
  securityEntriesFromEnv,
  serverListenSettings,
  openServerStores,
  stopOnSignals,
  unreachableEntriesWarning,
} from '@lwm2m/app-kit';
import type { SensorFormat } from '@lwm2m/mqtt-bridge';

const env = process.env;
const logger = pino({ level: env['LOG_LEVEL'] ?? 'info' });

function integer(name: string, fallback: number, min: number, max: number): number {
  const text = env[name] ?? String(fallback);
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new AppConfigError(`${name} must be an integer from ${min} to ${max}, got ${text}`);
  return value;
}

async function main(): Promise<void> {
  const prefix = env['MQTT_PREFIX'] ?? 'lwm2m';
  const sensorFormat = (env['MQTT_SENSOR_FORMAT'] ?? 'value') as SensorFormat;
  if (!['value', 'raw', 'senml'].includes(sensorFormat))
    throw new AppConfigError('MQTT_SENSOR_FORMAT must be value, raw or senml');
  const requestTimeout = integer('MQTT_REQUEST_TIMEOUT', 30_000, 1, 3_600_000);
  // Every file is read before anything connects: a mistake stops the start with one line.
  const settings = serverListenSettings(env);
  const entries = securityEntriesFromEnv(env);
  const warning = unreachableEntriesWarning(entries, settings);
  if (warning !== undefined) logger.warn(warning);

  const { stores, security, redis } = await openServerStores(env, entries);

  const sockets = await openServerSockets(settings, security, logger);
  const server = createServer({
    sockets,
    stores,
    logger: logger.child({ component: 'server' }),
  });
  const bridge = createMqttBridge({
    server,
    prefix,
    sensorFormat,
    requestTimeout,
    logger: logger.child({ component: 'mqtt-bridge' }),
    mqtt: {
      url: env['MQTT_URL'] ?? 'mqtt://127.0.0.1:1883',
      options: {
        clientId: env['MQTT_CLIENT_ID'] ?? `lwm2m-gateway-${prefix.replace(/[^A-Za-z0-9_-]/g, '_')}`,
        ...(env['MQTT_USERNAME'] === undefined ? {} : { username: env['MQTT_USERNAME'] }),
        ...(env['MQTT_PASSWORD'] === undefined ? {} : { password: env['MQTT_PASSWORD'] }),
      },
    },
  });
  server.on('registered', (r) =>
    logger.info({ endpoint: r.endpoint, peer: `${r.address}:${r.port}` }, 'registered'),
  );
  server.on('deregistered', (r) => logger.info({ endpoint: r.endpoint }, 'deregistered'));
  server.on('expired', (r) => logger.info({ endpoint: r.endpoint }, 'expired'));
  await server.listen();
  await bridge.start();
  logger.info(
    { coap: sockets['coap']?.address().port, coaps: sockets['coaps']?.address().port, prefix },
    'listening',
  );

  stopOnSignals(logger, async () => {
    await bridge.close();
    await server.close();
    await redis?.quit();
  });
}

main().catch((error: unknown) => {
  if (error instanceof AppConfigError) {
    logger.fatal(error.message);
    process.exit(2);
  }
  logger.fatal({ err: error }, 'gateway failed to start');
  process.exit(1);
});
