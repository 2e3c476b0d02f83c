import type { DatagramSocket, Logger, SecurityInfo, SecurityStore } from '@lwm2m/core';
import { createUdpSocket } from '@lwm2m/transport-coap';
import { createDtlsServer } from '@lwm2m/transport-dtls';
import { AppConfigError } from './config-error.js';
import { dtlsEcdsaSettings } from './dtls-ecdsa.js';
import type { DtlsEcdsaSettings } from './dtls-ecdsa.js';

/** A port variable: a number (0 picks one), or "off". */
export function portFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number | undefined {
  const given = env[name];
  // An empty variable (`LWM2M_COAP_PORT=` in a unit file) means the default, not port 0.
  const text = given === undefined || given === '' ? String(fallback) : given;
  if (text === 'off') return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 65535)
    throw new AppConfigError(`${name} must be a port number or "off", got ${text}`);
  return value;
}

/** What an LwM2M server app listens with, read from the environment before anything is opened. */
export interface ServerListenSettings {
  readonly host: string;
  readonly coapPort: number | undefined;
  readonly coapsPort: number | undefined;
  /** Certificates and raw public keys for the DTLS port (undefined without it). */
  readonly ecdsa: DtlsEcdsaSettings | undefined;
}

/**
 * LWM2M_HOST, LWM2M_COAP_PORT (default 5683), LWM2M_COAPS_PORT (default 5684) and, for the DTLS
 * port, LWM2M_DTLS_KEY / LWM2M_DTLS_CERT / LWM2M_DTLS_CA. Throws AppConfigError.
 */
export function serverListenSettings(env: NodeJS.ProcessEnv): ServerListenSettings {
  const coapPort = portFromEnv(env, 'LWM2M_COAP_PORT', 5683);
  const coapsPort = portFromEnv(env, 'LWM2M_COAPS_PORT', 5684);
  if (coapPort === undefined && coapsPort === undefined) throw new AppConfigError('both ports are off');
  return {
    host: env['LWM2M_HOST'] ?? '0.0.0.0',
    coapPort,
    coapsPort,
    ecdsa: coapsPort === undefined ? undefined : dtlsEcdsaSettings(env),
  };
}

/** Why some of `entries` cannot connect with these settings; undefined when all can. */
export function unreachableEntriesWarning(
  entries: readonly SecurityInfo[],
  settings: ServerListenSettings,
): string | undefined {
  if (entries.some((e) => e.mode !== 'psk') && settings.ecdsa?.options === undefined)
    return 'RPK/X.509 devices are listed but cannot connect: set LWM2M_DTLS_KEY (and LWM2M_COAPS_PORT)';
  if (entries.some((e) => e.mode === 'x509') && settings.ecdsa?.acceptsCertificates !== true)
    return 'X.509 devices are listed but LWM2M_DTLS_CA is not set: their certificates are refused';
  return undefined;
}

/**
 * The sockets of an LwM2M server: `coap` (NoSec) and `coaps` (DTLS: PSK keys from `security`,
 * certificates and raw public keys from the settings), listening.
 */
export async function openServerSockets(
  settings: ServerListenSettings,
  security: SecurityStore,
  logger: Logger,
): Promise<Record<string, DatagramSocket>> {
  const sockets: Record<string, DatagramSocket> = {};
  if (settings.coapPort !== undefined)
    sockets['coap'] = await createUdpSocket({ address: settings.host, port: settings.coapPort });
  if (settings.coapsPort !== undefined) {
    const dtls = createDtlsServer({
      address: settings.host,
      port: settings.coapsPort,
      logger: logger.child({ component: 'dtls' }),
      psk: {
        lookup: async (identity) => {
          const info = await security.getByPskIdentity(identity);
          return info?.mode === 'psk' ? info.key : undefined;
        },
      },
      ...(settings.ecdsa?.options === undefined ? {} : { ecdsa: settings.ecdsa.options }),
    });
    await dtls.listen();
    sockets['coaps'] = dtls;
  }
  return sockets;
}
