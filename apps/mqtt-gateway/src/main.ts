/**
 * An LwM2M server (CoAP over UDP) with its MQTT northbound API. Configured from the environment:
 *
 *   LWM2M_HOST            address to bind (default 0.0.0.0)
 *   LWM2M_COAP_PORT       CoAP port (default 5683; 0 picks one)
 *   LWM2M_REDIS_URL       redis://… to keep registrations and observations in Redis (optional)
 *   LWM2M_REDIS_PREFIX    key prefix (default lwm2m:)
 *   MQTT_URL              broker (default mqtt://127.0.0.1:1883)
 *   MQTT_PREFIX           topic prefix (default lwm2m)
 *   MQTT_CLIENT_ID        client id; keep it stable so the broker keeps the session (default lwm2m-gateway-{prefix})
 *   MQTT_USERNAME, MQTT_PASSWORD
 *   MQTT_SENSOR_FORMAT    value (default) | raw | senml
 *   MQTT_REQUEST_TIMEOUT  default request timeout in ms (default 30000)
 *   LOG_LEVEL             pino level (default info)
 *
 * Logs one JSON line `{"msg":"listening","coap":port,"prefix":…}` once the broker is reached.
 */
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { createUdpSocket } from '@lwm2m/transport-coap';
import { createServer } from '@lwm2m/server';
import type { ServerStores } from '@lwm2m/server';
import { createRedisObservationStore, createRedisRegistrationStore } from '@lwm2m/store-redis';
import { createMqttBridge } from '@lwm2m/mqtt-bridge';
import { stopOnSignals } from '@lwm2m/app-kit';
import type { SensorFormat } from '@lwm2m/mqtt-bridge';

const env = process.env;
const logger = pino({ level: env['LOG_LEVEL'] ?? 'info' });

function fail(message: string): never {
  logger.fatal(message);
  process.exit(2);
}

function integer(name: string, fallback: number, min: number, max: number): number {
  const text = env[name] ?? String(fallback);
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max)
    fail(`${name} must be an integer from ${min} to ${max}, got ${text}`);
  return value;
}

async function main(): Promise<void> {
  const prefix = env['MQTT_PREFIX'] ?? 'lwm2m';
  const sensorFormat = (env['MQTT_SENSOR_FORMAT'] ?? 'value') as SensorFormat;
  if (!['value', 'raw', 'senml'].includes(sensorFormat))
    fail('MQTT_SENSOR_FORMAT must be value, raw or senml');

  let redis: Redis | undefined;
  let stores: ServerStores = {};
  const redisUrl = env['LWM2M_REDIS_URL'];
  if (redisUrl !== undefined) {
    redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
    const keyPrefix = env['LWM2M_REDIS_PREFIX'] ?? 'lwm2m:';
    stores = {
      registrations: createRedisRegistrationStore({ redis, prefix: keyPrefix }),
      observations: createRedisObservationStore({ redis, prefix: keyPrefix }),
    };
  }

  const socket = await createUdpSocket({
    address: env['LWM2M_HOST'] ?? '0.0.0.0',
    port: integer('LWM2M_COAP_PORT', 5683, 0, 65535),
  });
  const server = createServer({
    sockets: { coap: socket },
    stores,
    logger: logger.child({ component: 'server' }),
  });
  const bridge = createMqttBridge({
    server,
    prefix,
    sensorFormat,
    requestTimeout: integer('MQTT_REQUEST_TIMEOUT', 30_000, 1, 3_600_000),
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
  logger.info({ coap: socket.address().port, prefix }, 'listening');

  stopOnSignals(logger, async () => {
    await bridge.close();
    await server.close();
    await redis?.quit();
  });
}

main().catch((error: unknown) => {
  logger.fatal({ err: error }, 'gateway failed to start');
  process.exit(1);
});
