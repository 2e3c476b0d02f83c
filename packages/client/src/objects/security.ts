import type { InstanceHandler, ObjectImplementation } from '../instance.js';
import { StoredInstance } from '../stored-instance.js';

/** Security Mode (0/x/2). */
export const SecurityMode = { PSK: 0, RPK: 1, CERTIFICATE: 2, NO_SEC: 3, CERTIFICATE_EST: 4 } as const;

/** How to reach one server, as the Security object (0) stores it. */
export interface SecurityConfig {
  /** `coap://host:port` or `coaps://host:port`. */
  readonly uri: string;
  readonly bootstrap?: boolean;
  /** Short Server ID (1..65534); not used for the bootstrap server. */
  readonly ssid?: number;
  /** PSK identity and key (Security Mode 0); NoSec when absent. */
  readonly psk?: { readonly identity: string; readonly key: Uint8Array };
  /** Client Hold Off Time in seconds (before a client-initiated bootstrap). */
  readonly holdOffTime?: number;
  /** Bootstrap-Server Account Timeout in seconds. */
  readonly accountTimeout?: number;
}

/** A Security instance (object 0) from a config. */
export function securityInstance(config: SecurityConfig): StoredInstance {
  const values = new Map<number, string | boolean | number | Uint8Array>([
    [0, config.uri],
    [1, config.bootstrap === true],
    [2, config.psk === undefined ? SecurityMode.NO_SEC : SecurityMode.PSK],
    [3, config.psk === undefined ? new Uint8Array(0) : new TextEncoder().encode(config.psk.identity)],
    [4, new Uint8Array(0)],
    [5, config.psk === undefined ? new Uint8Array(0) : config.psk.key],
  ]);
  if (config.ssid !== undefined) values.set(10, config.ssid);
  if (config.holdOffTime !== undefined) values.set(11, config.holdOffTime);
  if (config.accountTimeout !== undefined) values.set(12, config.accountTimeout);
  return new StoredInstance(values);
}

/** Object 0: written by the bootstrap server, never visible to DM servers. */
export function securityObject(instances: ReadonlyMap<number, InstanceHandler>): ObjectImplementation {
  return { id: 0, instances, create: () => new StoredInstance() };
}
