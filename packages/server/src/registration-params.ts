import { ContentFormat, isLwm2mError } from '@lwm2m/core';
import { parseRegistrationLinks } from '@lwm2m/codecs';
import type { Lwm2mVersion } from './registration.js';

/** The LwM2M default lifetime when a client sends none (TS Core, Register `lt`). */
export const DEFAULT_LIFETIME = 86_400;
const MAX_LIFETIME = 0xffff_ffff;
const MAX_ENDPOINT_LENGTH = 255;
/** Larger Register payloads are refused rather than parsed. */
const MAX_LINKS_LENGTH = 64 * 1024;

const VERSIONS: ReadonlySet<string> = new Set(['1.0', '1.1', '1.2']);
/** Binding letters by version: 1.0 §5.3.1.1 (U, S with Q), 1.1 adds Non-IP and TCP, 1.2 MQTT and HTTP. */
const BINDING_LETTERS: Readonly<Record<Lwm2mVersion, string>> = {
  '1.0': 'US',
  '1.1': 'USNT',
  '1.2': 'USNTMH',
};
const BINDINGS_1_0: ReadonlySet<string> = new Set(['U', 'UQ', 'S', 'SQ', 'US', 'UQS']);
const MSISDN = /^\+?[0-9]{1,15}$/;
/** Stateless (never streaming), so one decoder serves every call. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Why a Register/Update is refused: the CoAP code and a diagnostic sent back to the client. */
export interface RegistrationRefusal {
  readonly ok: false;
  /** 4.00 Bad Request, or 4.12 Precondition Failed for an LwM2M version we do not speak. */
  readonly code: 'bad-request' | 'unsupported-version';
  readonly message: string;
}

export interface RegisterParams {
  readonly ok: true;
  readonly endpoint: string;
  readonly lifetime: number;
  readonly version: Lwm2mVersion;
  readonly binding: string;
  readonly queueMode: boolean;
  readonly sms?: string;
  readonly attributes?: Readonly<Record<string, string>>;
}

export interface UpdateParams {
  readonly ok: true;
  readonly lifetime?: number;
  readonly binding?: string;
  readonly queueMode?: boolean;
  readonly sms?: string;
}

function refuse(message: string, code: RegistrationRefusal['code'] = 'bad-request'): RegistrationRefusal {
  return { ok: false, code, message };
}

/** Splits `name=value` segments; a repeated name is an error. Flags (no `=`) map to `true`. */
function queryMap(query: readonly string[]): Map<string, string | true> | RegistrationRefusal {
  const map = new Map<string, string | true>();
  for (const segment of query) {
    const eq = segment.indexOf('=');
    const name = eq < 0 ? segment : segment.slice(0, eq);
    if (name === '') return refuse('empty query parameter name');
    if (map.has(name)) return refuse(`parameter ${name} given twice`);
    map.set(name, eq < 0 ? true : segment.slice(eq + 1));
  }
  return map;
}

function parseLifetime(value: string | true): number | RegistrationRefusal {
  if (value === true || !/^[0-9]{1,10}$/.test(value))
    return refuse(`lt must be a positive integer, got ${JSON.stringify(value)}`);
  const lifetime = Number(value);
  if (lifetime <= 0 || lifetime > MAX_LIFETIME) return refuse(`lt out of range: ${value}`);
  return lifetime;
}

/** Binding and queue mode: 1.0 spells queue mode as Q inside `b`, 1.1+ as a separate `Q` flag. */
function parseBinding(
  value: string | true | undefined,
  version: Lwm2mVersion,
): { binding: string; queueFromBinding: boolean } | RegistrationRefusal | undefined {
  if (value === undefined) return undefined;
  if (value === true || value === '') return refuse('b needs a value');
  if (version === '1.0') {
    if (!BINDINGS_1_0.has(value)) return refuse(`b=${value} is not a LwM2M 1.0 binding`);
    return { binding: value.replace('Q', ''), queueFromBinding: value.includes('Q') };
  }
  const letters = BINDING_LETTERS[version];
  const seen = new Set<string>();
  for (const letter of value) {
    if (!letters.includes(letter))
      return refuse(`b=${value}: ${JSON.stringify(letter)} is not a LwM2M ${version} binding`);
    if (seen.has(letter)) return refuse(`b=${value} repeats ${letter}`);
    seen.add(letter);
  }
  return { binding: value, queueFromBinding: false };
}

function parseQueueFlag(
  value: string | true | undefined,
  version: Lwm2mVersion,
): boolean | RegistrationRefusal {
  if (value === undefined) return false;
  if (version === '1.0') return refuse('the Q parameter is LwM2M 1.1+; 1.0 clients use b=UQ');
  if (value !== true) return refuse('Q takes no value');
  return true;
}

function parseSms(value: string | true | undefined): string | RegistrationRefusal | undefined {
  if (value === undefined) return undefined;
  if (value === true || !MSISDN.test(value))
    return refuse(`sms must be an MSISDN, got ${JSON.stringify(value)}`);
  return value;
}

function isRefusal(value: unknown): value is RegistrationRefusal {
  return typeof value === 'object' && value !== null && (value as RegistrationRefusal).ok === false;
}

const KNOWN_REGISTER = new Set(['ep', 'lt', 'lwm2m', 'b', 'sms', 'Q']);

/** Validates the query of `POST /rd` (TS Core §6.2.1 / Transport §6.4). */
export function parseRegisterQuery(query: readonly string[]): RegisterParams | RegistrationRefusal {
  const map = queryMap(query);
  if (isRefusal(map)) return map;
  const ep = map.get('ep');
  if (ep === undefined || ep === true || ep === '') return refuse('ep (endpoint client name) is required');
  if (ep.length > MAX_ENDPOINT_LENGTH) return refuse(`ep longer than ${MAX_ENDPOINT_LENGTH} characters`);
  if (/[\u0000-\u001f\u007f]/.test(ep)) return refuse('ep contains control characters');

  const versionText = map.get('lwm2m') ?? '1.0';
  if (versionText === true || !/^[0-9]+\.[0-9]+$/.test(versionText))
    return refuse(`lwm2m must be a version like 1.1, got ${JSON.stringify(versionText)}`);
  if (!VERSIONS.has(versionText))
    return refuse(`LwM2M version ${versionText} is not supported (1.0, 1.1, 1.2)`, 'unsupported-version');
  const version = versionText as Lwm2mVersion;

  const lt = map.get('lt');
  const lifetime = lt === undefined ? DEFAULT_LIFETIME : parseLifetime(lt);
  if (isRefusal(lifetime)) return lifetime;
  const binding = parseBinding(map.get('b'), version);
  if (isRefusal(binding)) return binding;
  const queueFlag = parseQueueFlag(map.get('Q'), version);
  if (isRefusal(queueFlag)) return queueFlag;
  const sms = parseSms(map.get('sms'));
  if (isRefusal(sms)) return sms;

  let attributes: Record<string, string> | undefined;
  for (const [name, value] of map) {
    if (KNOWN_REGISTER.has(name)) continue;
    (attributes ??= {})[name] = value === true ? '' : value;
  }
  return {
    ok: true,
    endpoint: ep,
    lifetime,
    version,
    binding: binding?.binding ?? 'U',
    queueMode: queueFlag || (binding?.queueFromBinding ?? false),
    ...(sms === undefined ? {} : { sms }),
    ...(attributes === undefined ? {} : { attributes }),
  };
}

/** Validates the query of `POST /rd/{id}` for a client of `version`. */
export function parseUpdateQuery(
  query: readonly string[],
  version: Lwm2mVersion,
): UpdateParams | RegistrationRefusal {
  const map = queryMap(query);
  if (isRefusal(map)) return map;
  for (const name of map.keys()) {
    if (name !== 'lt' && name !== 'b' && name !== 'sms' && name !== 'Q')
      return refuse(`unknown Update parameter ${name}`);
  }
  const lt = map.get('lt');
  const lifetime = lt === undefined ? undefined : parseLifetime(lt);
  if (isRefusal(lifetime)) return lifetime;
  const binding = parseBinding(map.get('b'), version);
  if (isRefusal(binding)) return binding;
  const queueFlag = map.has('Q') ? parseQueueFlag(map.get('Q'), version) : undefined;
  if (isRefusal(queueFlag)) return queueFlag;
  const sms = parseSms(map.get('sms'));
  if (isRefusal(sms)) return sms;
  // A 1.0 binding change carries queue mode with it; a 1.1+ Update without Q leaves it as it was.
  const queueMode = version === '1.0' ? binding?.queueFromBinding : queueFlag;
  return {
    ok: true,
    ...(lifetime === undefined ? {} : { lifetime }),
    ...(binding === undefined ? {} : { binding: binding.binding }),
    ...(queueMode === undefined ? {} : { queueMode }),
    ...(sms === undefined ? {} : { sms }),
  };
}

/** What a registration keeps of its object links: the text as received, the root path and `ct`. */
export interface ObjectLinks {
  readonly ok: true;
  readonly text: string;
  readonly rootPath: string;
  readonly supportedFormats: readonly number[] | undefined;
}

/** Checks a Register/Update payload's Content-Format and size and decodes it; a refusal is a 4.00. */
export function objectLinksText(
  payload: Uint8Array,
  contentFormat: number | undefined,
): string | RegistrationRefusal {
  if (contentFormat !== undefined && contentFormat !== ContentFormat.LINK) {
    return refuse(`payload must be application/link-format (40), got content format ${contentFormat}`);
  }
  if (payload.byteLength > MAX_LINKS_LENGTH) return refuse('object links too long');
  try {
    return UTF8.decode(payload);
  } catch {
    return refuse('object links are not UTF-8');
  }
}

/** Parses (and so validates) object links; bad links are a 4.00. */
export function parseObjectLinksText(text: string): ObjectLinks | RegistrationRefusal {
  try {
    const links = parseRegistrationLinks(text);
    return { ok: true, text, rootPath: links.rootPath, supportedFormats: links.supportedFormats };
  } catch (error) {
    if (isLwm2mError(error)) return refuse(`bad object links: ${error.message}`);
    throw error;
  }
}

/** Reads a Register/Update payload; a wrong Content-Format or bad links is a 4.00. */
export function parseObjectLinks(
  payload: Uint8Array,
  contentFormat: number | undefined,
): ObjectLinks | RegistrationRefusal {
  const text = objectLinksText(payload, contentFormat);
  return typeof text === 'string' ? parseObjectLinksText(text) : text;
}
