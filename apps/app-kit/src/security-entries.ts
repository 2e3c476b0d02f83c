/**
 * The app's device security entries (LWM2M_SECURITY_FILE, and the older LWM2M_PSK_FILE/LWM2M_PSK):
 * a JSON array turned into the SecurityInfo the server checks registrations against.
 */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { SecurityInfo } from '@lwm2m/core';
import { loadPublicKey } from '@lwm2m/transport-dtls';
import { readFileSync } from 'node:fs';
import { AppConfigError } from './config-error.js';

/** A bad entry: the message names the source and the entry, for one clear line at startup. */
export class SecurityEntryError extends AppConfigError {
  override readonly name = 'SecurityEntryError';
}

const HEX_KEY = /^([0-9a-fA-F]{2}){1,64}$/;
const BASE64 = /^[A-Za-z0-9+/\s]+={0,2}$/;
/** RFC 7925 / TS Transport: PSK identities up to 128 bytes. */
const PSK_IDENTITY_MAX_BYTES = 128;

/**
 * Reads one JSON array of entries. An entry without `mode` is PSK (the LWM2M_PSK format):
 *   { endpoint, mode: 'psk', identity?, key: hex }   identity defaults to the endpoint name
 *   { endpoint, mode: 'rpk', publicKey }             PEM file path (relative to `baseDir`), PEM text or base64 SPKI DER
 *   { endpoint, mode: 'x509', commonName? }          the certificate's CN; the endpoint name when absent
 */
export function parseSecurityEntries(
  text: string,
  source: string,
  baseDir: string = process.cwd(),
): SecurityInfo[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new SecurityEntryError(`${source} is not JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new SecurityEntryError(`${source} must be a JSON array`);
  const entries: SecurityInfo[] = [];
  const endpoints = new Set<string>();
  parsed.forEach((entry: unknown, index) => {
    const info = securityEntry(entry, `${source}[${index}]`, baseDir);
    if (endpoints.has(info.endpoint))
      throw new SecurityEntryError(`${source}[${index}]: endpoint ${info.endpoint} appears twice`);
    endpoints.add(info.endpoint);
    entries.push(info);
  });
  return entries;
}

function securityEntry(entry: unknown, at: string, baseDir: string): SecurityInfo {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
    throw new SecurityEntryError(`${at} is not an object`);
  const fields = entry as Record<string, unknown>;
  const endpoint = fields['endpoint'];
  if (typeof endpoint !== 'string' || endpoint.length === 0)
    throw new SecurityEntryError(`${at}: "endpoint" must be a non-empty string`);
  const mode = fields['mode'] ?? 'psk';
  switch (mode) {
    case 'psk': {
      const key = fields['key'];
      const identity = fields['identity'] ?? endpoint;
      if (typeof key !== 'string' || !HEX_KEY.test(key))
        throw new SecurityEntryError(`${at} (${endpoint}): "key" must be hex, 1-64 bytes`);
      if (
        typeof identity !== 'string' ||
        identity.length === 0 ||
        Buffer.byteLength(identity) > PSK_IDENTITY_MAX_BYTES
      ) {
        throw new SecurityEntryError(
          `${at} (${endpoint}): "identity" must be 1-${PSK_IDENTITY_MAX_BYTES} bytes of text`,
        );
      }
      return { endpoint, mode: 'psk', identity, key: new Uint8Array(Buffer.from(key, 'hex')) };
    }
    case 'rpk': {
      const publicKey = fields['publicKey'];
      if (typeof publicKey !== 'string' || publicKey.length === 0) {
        throw new SecurityEntryError(
          `${at} (${endpoint}): "publicKey" must be a PEM file path or base64 SubjectPublicKeyInfo DER`,
        );
      }
      return { endpoint, mode: 'rpk', publicKey: readPublicKey(publicKey, `${at} (${endpoint})`, baseDir) };
    }
    case 'x509': {
      const commonName = fields['commonName'];
      if (commonName === undefined) return { endpoint, mode: 'x509' };
      if (typeof commonName !== 'string' || commonName.length === 0)
        throw new SecurityEntryError(`${at} (${endpoint}): "commonName" must be a non-empty string`);
      return { endpoint, mode: 'x509', commonName };
    }
    default:
      throw new SecurityEntryError(`${at} (${endpoint}): "mode" must be psk, rpk or x509`);
  }
}

/** A P-256 public key as SubjectPublicKeyInfo DER, from PEM text, a file (PEM or DER) or base64 DER. */
function readPublicKey(value: string, at: string, baseDir: string): Uint8Array {
  const path = isAbsolute(value) ? value : resolve(baseDir, value);
  let input: string | Uint8Array;
  if (value.includes('-----BEGIN')) input = value;
  else if (existsSync(path)) input = path;
  else if (BASE64.test(value)) input = new Uint8Array(Buffer.from(value, 'base64'));
  else throw new SecurityEntryError(`${at}: publicKey file ${path} not found (nor is it base64)`);
  try {
    return new Uint8Array(loadPublicKey(input).export({ type: 'spki', format: 'der' }));
  } catch (error) {
    const what =
      typeof input === 'string'
        ? ''
        : `publicKey is neither a file (${path}) nor base64 SPKI DER of a P-256 key: `;
    throw new SecurityEntryError(`${at}: ${what}${(error as Error).message}`);
  }
}

/** The directory relative publicKey paths of a security file are resolved against. */
export function baseDirOf(file: string): string {
  return dirname(resolve(file));
}

/**
 * Device security entries from LWM2M_SECURITY_FILE, LWM2M_PSK_FILE and LWM2M_PSK, in that order (a
 * later one replaces an earlier one of the same endpoint). Throws AppConfigError on a bad file.
 */
export function securityEntriesFromEnv(env: NodeJS.ProcessEnv): SecurityInfo[] {
  const entries: SecurityInfo[] = [];
  for (const name of ['LWM2M_SECURITY_FILE', 'LWM2M_PSK_FILE']) {
    const file = env[name];
    if (file === undefined || file === '') continue;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new AppConfigError(`cannot read ${name} ${file}: ${(error as Error).message}`);
    }
    entries.push(...parseSecurityEntries(text, `${name} ${file}`, baseDirOf(file)));
  }
  const inline = env['LWM2M_PSK'];
  if (inline !== undefined && inline !== '')
    entries.push(...parseSecurityEntries(inline, 'LWM2M_PSK', process.cwd()));
  return entries;
}
