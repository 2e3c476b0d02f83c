import type { ObjectImplementation, ResourceContent } from '../instance.js';
import { StoredInstance } from '../stored-instance.js';

export interface ConnectivityInfo {
  /** 4/0/0 Network Bearer (e.g. 21 WLAN, 41 Ethernet); default 41. */
  readonly networkBearer?: number;
  readonly availableNetworkBearers?: readonly number[];
  /** dBm; default 0. */
  readonly radioSignalStrength?: number;
  readonly linkQuality?: number;
  readonly ipAddresses?: readonly string[];
  readonly routerIpAddresses?: readonly string[];
  readonly apn?: readonly string[];
  readonly cellId?: number;
}

function list<T extends string | number>(values: readonly T[]): Map<number, T> {
  return new Map(values.map((v, i) => [i, v]));
}

/** Connectivity Monitoring /4/0; change values with `set()` as the link changes. */
export function connectivityMonitoringInstance(info: ConnectivityInfo = {}): StoredInstance {
  const values = new Map<number, ResourceContent>([
    [0, info.networkBearer ?? 41],
    [1, list(info.availableNetworkBearers ?? [info.networkBearer ?? 41])],
    [2, info.radioSignalStrength ?? 0],
    [4, list(info.ipAddresses ?? ['127.0.0.1'])],
  ]);
  if (info.linkQuality !== undefined) values.set(3, info.linkQuality);
  if (info.routerIpAddresses !== undefined) values.set(5, list(info.routerIpAddresses));
  if (info.apn !== undefined) values.set(7, list(info.apn));
  if (info.cellId !== undefined) values.set(8, info.cellId);
  return new StoredInstance(values);
}

export function connectivityMonitoringObject(
  instance: StoredInstance = connectivityMonitoringInstance(),
): ObjectImplementation {
  return { id: 4, instances: new Map([[0, instance]]) };
}
