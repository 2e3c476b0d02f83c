import { objectInstance, singleResource } from '@lwm2m/core';
import type { ObjectInstanceNode, ObjectInstancePath, ResourceNode, SecurityInfo } from '@lwm2m/core';
import type {
  BootstrapConfig,
  OscoreInstanceConfig,
  SecurityInstanceConfig,
  ServerInstanceConfig,
} from './config.js';

/** One Bootstrap-Write of the session: an object instance at its path. */
export interface PlannedWrite {
  readonly path: ObjectInstancePath;
  readonly node: ObjectInstanceNode;
}

const SECURITY_MODE = { psk: 0, rpk: 1, x509: 2, nosec: 3 } as const;
const EMPTY = new Uint8Array(0);
export const OSCORE_OBJECT_ID = 21;

/** Resource 3, 4 and 5 of a Security instance: mandatory, so NoSec and PSK send empty ones. */
function credentials(s: SecurityInstanceConfig): [Uint8Array, Uint8Array, Uint8Array] {
  switch (s.mode) {
    case 'nosec':
      return [EMPTY, EMPTY, EMPTY];
    case 'psk':
      return [new Uint8Array(Buffer.from(s.identity, 'utf8')), EMPTY, s.key];
    case 'rpk':
      return [s.publicKey, s.serverPublicKey, s.privateKey];
    case 'x509':
      return [s.certificate, s.serverCertificate, s.privateKey];
  }
}

export function securityInstanceNode(id: number, s: SecurityInstanceConfig): ObjectInstanceNode {
  const [identity, serverKey, secret] = credentials(s);
  const resources: ResourceNode[] = [
    singleResource(0, 'string', s.uri),
    singleResource(1, 'boolean', s.bootstrap ?? false),
    singleResource(2, 'integer', SECURITY_MODE[s.mode]),
    singleResource(3, 'opaque', identity),
    singleResource(4, 'opaque', serverKey),
    singleResource(5, 'opaque', secret),
  ];
  if (s.ssid !== undefined && s.bootstrap !== true) resources.push(singleResource(10, 'integer', s.ssid));
  if (s.holdOffTime !== undefined) resources.push(singleResource(11, 'integer', s.holdOffTime));
  if (s.accountTimeout !== undefined) resources.push(singleResource(12, 'integer', s.accountTimeout));
  if (s.mode === 'x509') {
    if (s.serverNameIndication !== undefined)
      resources.push(singleResource(14, 'string', s.serverNameIndication));
    if (s.certificateUsage !== undefined) resources.push(singleResource(15, 'integer', s.certificateUsage));
  }
  if (s.oscoreInstanceId !== undefined) {
    resources.push(
      singleResource(17, 'objlnk', { objectId: OSCORE_OBJECT_ID, instanceId: s.oscoreInstanceId }),
    );
  }
  return objectInstance(id, resources);
}

export function serverInstanceNode(id: number, s: ServerInstanceConfig): ObjectInstanceNode {
  const resources: ResourceNode[] = [
    singleResource(0, 'integer', s.ssid),
    singleResource(1, 'integer', s.lifetime),
  ];
  if (s.pmin !== undefined) resources.push(singleResource(2, 'integer', s.pmin));
  if (s.pmax !== undefined) resources.push(singleResource(3, 'integer', s.pmax));
  if (s.disableTimeout !== undefined) resources.push(singleResource(5, 'integer', s.disableTimeout));
  resources.push(singleResource(6, 'boolean', s.notificationStoring ?? true));
  resources.push(singleResource(7, 'string', s.binding ?? 'U'));
  return objectInstance(id, resources);
}

export function oscoreInstanceNode(id: number, o: OscoreInstanceConfig): ObjectInstanceNode {
  const resources: ResourceNode[] = [
    singleResource(0, 'opaque', o.masterSecret),
    singleResource(1, 'opaque', o.senderId),
    singleResource(2, 'opaque', o.recipientId),
  ];
  if (o.aeadAlgorithm !== undefined) resources.push(singleResource(3, 'integer', o.aeadAlgorithm));
  if (o.hmacAlgorithm !== undefined) resources.push(singleResource(4, 'integer', o.hmacAlgorithm));
  if (o.masterSalt !== undefined) resources.push(singleResource(5, 'opaque', o.masterSalt));
  if (o.idContext !== undefined) resources.push(singleResource(6, 'opaque', o.idContext));
  return objectInstance(id, resources);
}

/** Hands out instance ids: the given ones first, then the lowest ids nobody holds. */
function assignIds(
  items: readonly { readonly instanceId?: number | undefined }[],
  reserved: ReadonlySet<number>,
): number[] {
  const taken = new Set<number>(reserved);
  for (const item of items) if (item.instanceId !== undefined) taken.add(item.instanceId);
  let next = 0;
  return items.map((item) => {
    if (item.instanceId !== undefined) return item.instanceId;
    while (taken.has(next)) next++;
    taken.add(next);
    return next;
  });
}

/**
 * Security instance ids. A bootstrap account without an id goes where the client keeps its own
 * (`bootstrapInstanceId`, from Discover); no LwM2M server account is given that id, since writing
 * it would replace the client's bootstrap account.
 */
function securityIds(
  security: readonly SecurityInstanceConfig[],
  bootstrapInstanceId: number | undefined,
): number[] {
  const items = security.map((s) => ({ instanceId: s.instanceId }));
  const taken = new Set<number>();
  for (const s of security) if (s.instanceId !== undefined) taken.add(s.instanceId);
  if (bootstrapInstanceId !== undefined) {
    const account = security.findIndex((s) => s.bootstrap === true && s.instanceId === undefined);
    if (account >= 0 && !taken.has(bootstrapInstanceId)) items[account] = { instanceId: bootstrapInstanceId };
    taken.add(bootstrapInstanceId);
  }
  return assignIds(items, taken);
}

/** Whether the session must learn the client's instances first (a Security instance without an id). */
export function needsDiscover(config: BootstrapConfig): boolean {
  return config.discover === true || config.security.some((s) => s.instanceId === undefined);
}

/**
 * The Bootstrap-Writes of a config, in the order they go out: Security, Server, OSCORE, then the
 * other objects. `bootstrapInstanceId` is the client's bootstrap account as Discover showed it: a
 * bootstrap account in the config is written there, and no other Security instance takes it.
 */
export function planWrites(config: BootstrapConfig, bootstrapInstanceId: number | undefined): PlannedWrite[] {
  const writes: PlannedWrite[] = [];
  const ids = securityIds(config.security, bootstrapInstanceId);
  config.security.forEach((s, i) => {
    const id = ids[i] as number;
    writes.push({ path: [0, id], node: securityInstanceNode(id, s) });
  });
  const serverIds = assignIds(config.servers, new Set());
  config.servers.forEach((s, i) => {
    const id = serverIds[i] as number;
    writes.push({ path: [1, id], node: serverInstanceNode(id, s) });
  });
  const oscore = config.oscore ?? [];
  const oscoreIds = assignIds(
    oscore,
    new Set((config.objects ?? []).filter((o) => o.objectId === OSCORE_OBJECT_ID).map((o) => o.instance.id)),
  );
  oscore.forEach((o, i) => {
    const id = oscoreIds[i] as number;
    writes.push({ path: [OSCORE_OBJECT_ID, id], node: oscoreInstanceNode(id, o) });
  });
  for (const extra of config.objects ?? []) {
    writes.push({ path: [extra.objectId, extra.instance.id], node: extra.instance });
  }
  return writes;
}

/** The bootstrap account's DTLS credentials: what a bootstrap request must prove. */
export function bootstrapSecurityInfo(endpoint: string, config: BootstrapConfig): SecurityInfo | undefined {
  const account = config.security.find((s) => s.bootstrap === true);
  return account === undefined ? undefined : securityInfoOf(endpoint, account);
}

/**
 * The DTLS credentials of the first LwM2M server account that has any: what the LwM2M server must
 * accept from this endpoint once it registers.
 */
export function serverSecurityInfo(endpoint: string, config: BootstrapConfig): SecurityInfo | undefined {
  for (const account of config.security) {
    if (account.bootstrap === true) continue;
    const info = securityInfoOf(endpoint, account);
    if (info !== undefined) return info;
  }
  return undefined;
}

function securityInfoOf(endpoint: string, s: SecurityInstanceConfig): SecurityInfo | undefined {
  switch (s.mode) {
    case 'nosec':
      return undefined;
    case 'psk':
      return { endpoint, mode: 'psk', identity: s.identity, key: s.key };
    case 'rpk':
      return { endpoint, mode: 'rpk', publicKey: s.publicKey };
    case 'x509':
      return s.commonName === undefined
        ? { endpoint, mode: 'x509' }
        : { endpoint, mode: 'x509', commonName: s.commonName };
  }
}
