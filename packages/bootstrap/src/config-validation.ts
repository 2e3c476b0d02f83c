import { ContentFormat, MAX_ID, canonicalContentFormat, parsePath } from '@lwm2m/core';
import type { BootstrapConfig, SecurityInstanceConfig } from './config.js';
import { BootstrapConfigError } from './errors.js';

/** Content formats a Bootstrap-Write can use: they carry object instances. */
export const WRITE_FORMATS: ReadonlySet<number> = new Set([
  ContentFormat.TLV,
  ContentFormat.SENML_JSON,
  ContentFormat.SENML_CBOR,
  ContentFormat.JSON,
  ContentFormat.LWM2M_CBOR,
]);

const SCHEMES: ReadonlyMap<string, boolean> = new Map([
  ['coap', false],
  ['coaps', true],
  ['coap+tcp', false],
  ['coaps+tcp', true],
]);

/** TS Core 1.1 binding letters (U UDP, T TCP, S SMS, N Non-IP, Q queue mode of 1.0). */
const BINDING = /^[UTSNQ]{1,6}$/;
const PSK_IDENTITY_MAX_BYTES = 128;
const PSK_KEY_MAX_BYTES = 64;

function isId(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_ID;
}

function isSeconds(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isBytes(value: unknown, max = Number.POSITIVE_INFINITY): value is Uint8Array {
  return value instanceof Uint8Array && value.byteLength > 0 && value.byteLength <= max;
}

/** An SSID of a server: 0 and 65535 are reserved (TS Core §E.1, resource 0/x/10). */
function isSsid(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65534;
}

function checkSecurity(s: SecurityInstanceConfig, at: string, problems: string[]): void {
  if (typeof s !== 'object' || s === null) {
    problems.push(`${at} is not an object`);
    return;
  }
  if (s.instanceId !== undefined && !isId(s.instanceId))
    problems.push(`${at}.instanceId must be 0..${MAX_ID}`);
  const scheme =
    typeof s.uri === 'string' ? /^([a-z+]+):\/\/[^/]/i.exec(s.uri)?.[1]?.toLowerCase() : undefined;
  const secure = scheme === undefined ? undefined : SCHEMES.get(scheme);
  if (secure === undefined)
    problems.push(`${at}.uri must be a coap://, coaps://, coap+tcp:// or coaps+tcp:// URI`);
  const bootstrap = s.bootstrap ?? false;
  if (typeof bootstrap !== 'boolean') problems.push(`${at}.bootstrap must be a boolean`);
  if (bootstrap) {
    if (s.ssid !== undefined) problems.push(`${at}.ssid is not used on a bootstrap account`);
  } else {
    if (!isSsid(s.ssid)) problems.push(`${at}.ssid must be 1..65534 for an LwM2M server account`);
    if (s.accountTimeout !== undefined) problems.push(`${at}.accountTimeout is only for a bootstrap account`);
  }
  if (s.holdOffTime !== undefined && !isSeconds(s.holdOffTime))
    problems.push(`${at}.holdOffTime must be whole seconds`);
  if (s.accountTimeout !== undefined && !isSeconds(s.accountTimeout))
    problems.push(`${at}.accountTimeout must be whole seconds`);
  if (s.oscoreInstanceId !== undefined && !isId(s.oscoreInstanceId))
    problems.push(`${at}.oscoreInstanceId must be 0..${MAX_ID}`);
  switch (s.mode) {
    case 'nosec':
      if (secure === true) problems.push(`${at}: a ${scheme}:// URI needs a DTLS/TLS mode, not nosec`);
      break;
    case 'psk':
      if (
        typeof s.identity !== 'string' ||
        s.identity.length === 0 ||
        Buffer.byteLength(s.identity) > PSK_IDENTITY_MAX_BYTES
      ) {
        problems.push(`${at}.identity must be 1..${PSK_IDENTITY_MAX_BYTES} bytes of UTF-8`);
      }
      if (!isBytes(s.key, PSK_KEY_MAX_BYTES))
        problems.push(`${at}.key must be 1..${PSK_KEY_MAX_BYTES} bytes`);
      break;
    case 'rpk':
      if (!isBytes(s.publicKey)) problems.push(`${at}.publicKey must be bytes`);
      if (!isBytes(s.privateKey)) problems.push(`${at}.privateKey must be bytes`);
      if (!isBytes(s.serverPublicKey)) problems.push(`${at}.serverPublicKey must be bytes`);
      break;
    case 'x509':
      if (!isBytes(s.certificate)) problems.push(`${at}.certificate must be bytes`);
      if (!isBytes(s.privateKey)) problems.push(`${at}.privateKey must be bytes`);
      if (!isBytes(s.serverCertificate)) problems.push(`${at}.serverCertificate must be bytes`);
      if (s.commonName !== undefined && (typeof s.commonName !== 'string' || s.commonName.length === 0)) {
        problems.push(`${at}.commonName must be a non-empty string`);
      }
      if (s.certificateUsage !== undefined && ![0, 1, 2, 3].includes(s.certificateUsage))
        problems.push(`${at}.certificateUsage must be 0, 1, 2 or 3`);
      if (
        s.serverNameIndication !== undefined &&
        (typeof s.serverNameIndication !== 'string' || s.serverNameIndication.length === 0)
      ) {
        problems.push(`${at}.serverNameIndication must be a non-empty string`);
      }
      break;
    default:
      problems.push(`${at}.mode must be psk, rpk, x509 or nosec`);
      return;
  }
  if (s.mode !== 'nosec' && secure === false) problems.push(`${at}: mode ${s.mode} needs a coaps:// URI`);
}

function checkUniqueIds(ids: readonly (number | undefined)[], at: string, problems: string[]): void {
  const seen = new Set<number>();
  for (const id of ids) {
    if (id === undefined) continue;
    if (seen.has(id)) problems.push(`${at}: instance id ${id} is used twice`);
    seen.add(id);
  }
}

function checkPaths(
  paths: unknown,
  at: string,
  problems: string[],
  accept: (path: readonly number[]) => string | undefined,
): void {
  if (!Array.isArray(paths)) {
    problems.push(`${at} must be a list of paths`);
    return;
  }
  paths.forEach((text: unknown, i) => {
    try {
      if (typeof text !== 'string') throw new Error('not a string');
      const complaint = accept(parsePath(text));
      if (complaint !== undefined) problems.push(`${at}[${i}] ${JSON.stringify(text)}: ${complaint}`);
    } catch {
      problems.push(`${at}[${i}] is not an LwM2M path`);
    }
  });
}

/** Every problem of a configuration, worded for people; empty when it is usable. */
export function bootstrapConfigProblems(config: BootstrapConfig): string[] {
  const problems: string[] = [];
  if (typeof config !== 'object' || config === null) return ['the configuration is not an object'];
  if (config.delete !== undefined) {
    checkPaths(config.delete, 'delete', problems, (p) =>
      p.length > 2 ? 'Bootstrap-Delete targets /, an object or an instance' : undefined,
    );
  }
  if (config.read !== undefined) {
    checkPaths(config.read, 'read', problems, (p) =>
      p.length < 1 || p.length > 2 || (p[0] !== 1 && p[0] !== 2)
        ? 'Bootstrap-Read targets the Server (1) or Access Control (2) object or their instances'
        : undefined,
    );
  }
  if (config.discover !== undefined && typeof config.discover !== 'boolean')
    problems.push('discover must be a boolean');
  if (
    config.contentFormat !== undefined &&
    !WRITE_FORMATS.has(canonicalContentFormat(config.contentFormat))
  ) {
    problems.push(
      `contentFormat ${String(config.contentFormat)} cannot carry object instances (use 11542, 110, 112, 11543 or 11544)`,
    );
  }

  const security = Array.isArray(config.security) ? config.security : undefined;
  const servers = Array.isArray(config.servers) ? config.servers : undefined;
  if (security === undefined) problems.push('security must be a list');
  if (servers === undefined) problems.push('servers must be a list');
  const oscore = config.oscore ?? [];
  const objects = config.objects ?? [];
  if (!Array.isArray(oscore)) problems.push('oscore must be a list');
  if (!Array.isArray(objects)) problems.push('objects must be a list');
  if (security === undefined || servers === undefined || !Array.isArray(oscore) || !Array.isArray(objects))
    return problems;

  security.forEach((s, i) => checkSecurity(s, `security[${i}]`, problems));
  checkUniqueIds(
    security.map((s) => s?.instanceId),
    'security',
    problems,
  );
  if (security.filter((s) => s?.bootstrap === true).length > 1)
    problems.push('security: at most one bootstrap account');
  const securitySsids = new Set<number>();
  for (const s of security) {
    if (s?.bootstrap === true || s?.ssid === undefined) continue;
    if (securitySsids.has(s.ssid)) problems.push(`security: ssid ${s.ssid} is used by two accounts`);
    securitySsids.add(s.ssid);
  }

  const serverSsids = new Set<number>();
  servers.forEach((s, i) => {
    const at = `servers[${i}]`;
    if (typeof s !== 'object' || s === null) {
      problems.push(`${at} is not an object`);
      return;
    }
    if (s.instanceId !== undefined && !isId(s.instanceId))
      problems.push(`${at}.instanceId must be 0..${MAX_ID}`);
    if (!isSsid(s.ssid)) problems.push(`${at}.ssid must be 1..65534`);
    else {
      if (serverSsids.has(s.ssid)) problems.push(`${at}: ssid ${s.ssid} is used twice`);
      if (!securitySsids.has(s.ssid)) problems.push(`${at}: no security account has ssid ${s.ssid}`);
      serverSsids.add(s.ssid);
    }
    if (!isSeconds(s.lifetime) || s.lifetime === 0)
      problems.push(`${at}.lifetime must be whole seconds above 0`);
    if (s.pmin !== undefined && !isSeconds(s.pmin)) problems.push(`${at}.pmin must be whole seconds`);
    if (s.pmax !== undefined && !isSeconds(s.pmax)) problems.push(`${at}.pmax must be whole seconds`);
    if (isSeconds(s.pmin) && isSeconds(s.pmax) && s.pmax < s.pmin)
      problems.push(`${at}.pmax must not be below pmin`);
    if (s.disableTimeout !== undefined && !isSeconds(s.disableTimeout))
      problems.push(`${at}.disableTimeout must be whole seconds`);
    if (s.notificationStoring !== undefined && typeof s.notificationStoring !== 'boolean') {
      problems.push(`${at}.notificationStoring must be a boolean`);
    }
    if (s.binding !== undefined && (typeof s.binding !== 'string' || !BINDING.test(s.binding))) {
      problems.push(`${at}.binding must be letters of U, T, S, N, Q`);
    }
  });
  checkUniqueIds(
    servers.map((s) => s?.instanceId),
    'servers',
    problems,
  );

  const oscoreIds = new Set<number>();
  oscore.forEach((o, i) => {
    const at = `oscore[${i}]`;
    if (typeof o !== 'object' || o === null) {
      problems.push(`${at} is not an object`);
      return;
    }
    if (o.instanceId !== undefined) {
      if (!isId(o.instanceId)) problems.push(`${at}.instanceId must be 0..${MAX_ID}`);
      else oscoreIds.add(o.instanceId);
    }
    if (!isBytes(o.masterSecret)) problems.push(`${at}.masterSecret must be bytes`);
    if (!(o.senderId instanceof Uint8Array)) problems.push(`${at}.senderId must be bytes`);
    if (!(o.recipientId instanceof Uint8Array)) problems.push(`${at}.recipientId must be bytes`);
    for (const name of ['aeadAlgorithm', 'hmacAlgorithm'] as const) {
      const v = o[name];
      if (v !== undefined && !Number.isSafeInteger(v)) problems.push(`${at}.${name} must be an integer`);
    }
    for (const name of ['masterSalt', 'idContext'] as const) {
      if (o[name] !== undefined && !(o[name] instanceof Uint8Array))
        problems.push(`${at}.${name} must be bytes`);
    }
  });
  checkUniqueIds(
    oscore.map((o) => o?.instanceId),
    'oscore',
    problems,
  );
  security.forEach((s, i) => {
    if (s?.oscoreInstanceId !== undefined && !oscoreIds.has(s.oscoreInstanceId)) {
      problems.push(
        `security[${i}].oscoreInstanceId ${s.oscoreInstanceId} names no oscore instance with that instanceId`,
      );
    }
  });

  const extraKeys = new Set<string>([...oscoreIds].map((id) => `21/${id}`));
  objects.forEach((o, i) => {
    const at = `objects[${i}]`;
    if (typeof o !== 'object' || o === null) {
      problems.push(`${at} is not an object`);
      return;
    }
    if (!isId(o.objectId)) problems.push(`${at}.objectId must be 0..${MAX_ID}`);
    else if (o.objectId === 0 || o.objectId === 1)
      problems.push(`${at}: objects 0 and 1 go in security and servers`);
    if (
      o.instance?.kind !== 'objectInstance' ||
      !isId(o.instance.id) ||
      !(o.instance.resources instanceof Map)
    ) {
      problems.push(`${at}.instance must be an object instance node`);
      return;
    }
    const key = `${o.objectId}/${o.instance.id}`;
    if (extraKeys.has(key)) problems.push(`${at}: /${key} is written twice`);
    extraKeys.add(key);
  });
  return problems;
}

/** Throws a {@link BootstrapConfigError} naming every problem; returns the config otherwise. */
export function validateBootstrapConfig(config: BootstrapConfig, context?: string): BootstrapConfig {
  const problems = bootstrapConfigProblems(config);
  if (problems.length > 0) throw new BootstrapConfigError(problems, context);
  return config;
}
