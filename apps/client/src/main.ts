/**
 * A runnable LwM2M client: Device, Connectivity Monitoring, Location and a simulated Temperature
 * sensor, registered to one server (or bootstrapped). Configured from the environment:
 *
 *   LWM2M_SERVER_URI     coap://127.0.0.1:5683 (or coaps://… with a PSK)
 *   LWM2M_BOOTSTRAP_URI  bootstrap server instead of (or as well as) a server
 *   LWM2M_ENDPOINT       endpoint client name (default: node-client-<pid>)
 *   LWM2M_PSK_IDENTITY, LWM2M_PSK_KEY (hex)   DTLS PSK credentials
 *   LWM2M_DTLS_KEY       our P-256 private key file (PEM, e.g. `openssl ecparam -name secp256r1 -genkey`), with
 *     LWM2M_DTLS_CERT    our certificate file, and LWM2M_SERVER_CERT the server certificate or its CA
 *                        (LWM2M_CERT_USAGE 0-3, default 3: LWM2M_SERVER_CERT is the server's own certificate);
 *     or LWM2M_SERVER_PUBLIC_KEY   the server's raw public key (PEM) for raw-public-key mode
 *   LWM2M_LIFETIME       seconds (default 300)
 *   LWM2M_VERSION        1.0 | 1.1 | 1.2 (default 1.1)
 *   LWM2M_QUEUE_MODE     1 to use queue mode
 *   LWM2M_FIRMWARE_MAX   largest firmware package accepted, bytes (default 8 MiB); the demo
 *                        "installs" a package by logging its SHA-256 and reporting it as 3/0/3
 *   LOG_LEVEL            pino level (default info)
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import type { DatagramSocket } from '@lwm2m/core';
import { createUdpSocket } from '@lwm2m/transport-coap';
import { connectDtls } from '@lwm2m/transport-dtls';
import {
  connectivityMonitoringObject,
  createClient,
  dtlsCredentials,
  LocationInstance,
  locationObject,
  systemClock,
  TemperatureSensor,
  temperatureObject,
} from '@lwm2m/client';
import type { ClientTransport, Lwm2mVersion, ServerAccount } from '@lwm2m/client';

const env = process.env;
const logger = pino({ level: env['LOG_LEVEL'] ?? 'info' });

function fail(message: string): never {
  logger.fatal(message);
  process.exit(2);
}

const serverUri = env['LWM2M_SERVER_URI'];
const bootstrapUri = env['LWM2M_BOOTSTRAP_URI'];
if (serverUri === undefined && bootstrapUri === undefined)
  fail('set LWM2M_SERVER_URI or LWM2M_BOOTSTRAP_URI');
const identity = env['LWM2M_PSK_IDENTITY'];
const keyHex = env['LWM2M_PSK_KEY'];
if ((identity === undefined) !== (keyHex === undefined))
  fail('LWM2M_PSK_IDENTITY and LWM2M_PSK_KEY go together');
if (keyHex !== undefined && !/^([0-9a-fA-F]{2})+$/.test(keyHex)) fail('LWM2M_PSK_KEY must be hex');
const psk =
  identity !== undefined && keyHex !== undefined
    ? { identity, key: new Uint8Array(Buffer.from(keyHex, 'hex')) }
    : undefined;

function readPem(name: string): string | undefined {
  const file = env[name];
  if (file === undefined) return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    fail(`cannot read ${name} ${file}: ${(error as Error).message}`);
  }
}

/** Credentials for the Security instances: PSK, certificate or raw public key, from the environment. */
function accountCredentials(): Pick<ServerAccount, 'psk' | 'rpk' | 'x509'> {
  const privateKey = readPem('LWM2M_DTLS_KEY');
  const certificate = readPem('LWM2M_DTLS_CERT');
  const serverCertificate = readPem('LWM2M_SERVER_CERT');
  const serverPublicKey = readPem('LWM2M_SERVER_PUBLIC_KEY');
  if (privateKey === undefined) {
    if (certificate !== undefined || serverCertificate !== undefined || serverPublicKey !== undefined)
      fail('LWM2M_DTLS_CERT, LWM2M_SERVER_CERT and LWM2M_SERVER_PUBLIC_KEY need LWM2M_DTLS_KEY');
    return psk === undefined ? {} : { psk };
  }
  if (psk !== undefined) fail('give either a PSK or LWM2M_DTLS_KEY, not both');
  if (certificate !== undefined) {
    if (serverCertificate === undefined)
      fail('LWM2M_DTLS_CERT needs LWM2M_SERVER_CERT (the server certificate or its CA)');
    const usage = Number(env['LWM2M_CERT_USAGE'] ?? 3);
    if (usage !== 0 && usage !== 1 && usage !== 2 && usage !== 3)
      fail('LWM2M_CERT_USAGE must be 0, 1, 2 or 3');
    return { x509: { certificate, privateKey, serverCertificate, certificateUsage: usage } };
  }
  if (serverPublicKey === undefined)
    fail(
      'LWM2M_DTLS_KEY needs LWM2M_DTLS_CERT (certificate mode) or LWM2M_SERVER_PUBLIC_KEY (raw public key mode)',
    );
  return { rpk: { privateKey, serverPublicKey } };
}
const credentials = accountCredentials();
const version = (env['LWM2M_VERSION'] ?? '1.1') as Lwm2mVersion;
if (!['1.0', '1.1', '1.2'].includes(version)) fail(`LWM2M_VERSION ${version} is not 1.0, 1.1 or 1.2`);
const lifetime = Number(env['LWM2M_LIFETIME'] ?? 300);
if (!Number.isInteger(lifetime) || lifetime < 1) fail('LWM2M_LIFETIME must be a positive integer');

const firmwareMax = Number(env['LWM2M_FIRMWARE_MAX'] ?? 8 * 1024 * 1024);
if (!Number.isInteger(firmwareMax) || firmwareMax < 1) fail('LWM2M_FIRMWARE_MAX must be a positive integer');

const transport: ClientTransport = {
  async connect(target, signal): Promise<DatagramSocket> {
    if (!target.secure) return createUdpSocket();
    if (target.security === undefined)
      throw new Error(`${target.uri} needs DTLS credentials (LWM2M_PSK_* or LWM2M_DTLS_*)`);
    return connectDtls({
      peer: { address: target.host, port: target.port },
      ...dtlsCredentials(target.security),
      signal,
      timeout: 30_000,
      logger,
    });
  },
};

const sensor = new TemperatureSensor({ initial: 21 });
sensor.simulate(systemClock, 5000);
const servers: ServerAccount[] =
  serverUri === undefined ? [] : [{ uri: serverUri, ssid: 1, lifetime, ...credentials }];

const client = createClient({
  endpoint: env['LWM2M_ENDPOINT'] ?? `node-client-${process.pid}`,
  version,
  transport,
  logger,
  servers,
  ...(bootstrapUri === undefined ? {} : { bootstrap: { uri: bootstrapUri, ...credentials } }),
  queueMode: env['LWM2M_QUEUE_MODE'] === '1',
  device: {
    manufacturer: '@lwm2m',
    model: 'node-client',
    serialNumber: String(process.pid),
    firmwareVersion: '0.1.0',
    onReboot: () => logger.warn('reboot requested (ignored by this demo client)'),
  },
  maxBodySize: firmwareMax,
  firmware: {
    maxPackageSize: firmwareMax,
    verify: (image, meta) => {
      const digest = createHash('sha256').update(image).digest('hex');
      logger.info(
        { delivery: meta.delivery, uri: meta.uri, size: meta.size, sha256: digest },
        'firmware package received',
      );
      return { name: 'node-client', version: digest.slice(0, 12) };
    },
    apply: (_image, meta) => {
      // A real device would write the image and reboot; the demo reports the new version.
      logger.info({ version: meta.version }, 'firmware update applied');
      client.device.set(3, meta.version ?? 'unknown');
    },
  },
  objects: [
    connectivityMonitoringObject(),
    locationObject(new LocationInstance(systemClock, { latitude: 48.8566, longitude: 2.3522 })),
    temperatureObject([sensor]),
  ],
});

client.on('registered', (info) => logger.info(info, 'registered'));
client.on('updated', (info) => logger.debug(info, 'registration updated'));
client.on('registration-failed', (info) =>
  logger.warn({ ssid: info.ssid, final: info.final, err: info.error.message }, 'registration failed'),
);
client.on('bootstrap-finished', (info) => logger.info(info, 'bootstrap finished'));
client.on('bootstrap-failed', (info) =>
  logger.warn({ uri: info.uri, err: info.error.message }, 'bootstrap failed'),
);
client.on('operation', (op) => logger.info(op, op.operation));
client.firmware?.on('state', (event) => logger.info(event, 'firmware state'));

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'deregistering');
  sensor.stopSimulation();
  await client.close();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

// A socket is open for each server, so the process stays alive while registered.
const keepAlive = setInterval(() => undefined, 1 << 30);
process.on('exit', () => clearInterval(keepAlive));

await client.start();
