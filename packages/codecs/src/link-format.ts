/**
 * CoRE Link Format (RFC 6690, content format 40) and the two LwM2M payloads built on it: the
 * registration payload (TS Core §6.2.1: `</>;rt="oma.lwm2m";ct=110,</1/0>,</3/0>`) and Discover
 * results (TS Core §5.4.2 / §6.3.4: `</3/0/7>;dim=2;pmin=10;gt=50`).
 *
 * The parser is a single forward scan: it never backtracks, stops at the first malformed character
 * with a {@link DecodeError} carrying that character's offset, and refuses text or link counts
 * beyond its limits before doing the work.
 */
import { ContentFormat, DecodeError, EncodeError, MAX_ID, formatPath } from '@lwm2m/core';
import type { Lwm2mPath } from '@lwm2m/core';
import { DEFAULT_DECODE_LIMITS } from './types.js';
import {
  ATTRIBUTE_ORDER,
  FLAG_ATTRIBUTES,
  INTEGER_ATTRIBUTES,
  NUMBER_ATTRIBUTES,
} from './attribute-names.js';

const FORMAT = ContentFormat.LINK;

/** Parameters of one link, by lower-cased name, in the order written; a flag (`;obs`) is `true`. */
export type LinkParams = ReadonlyMap<string, string | true>;

/** One link-value: the URI between `<` and `>` and its parameters. */
export interface Link {
  readonly uri: string;
  readonly params: LinkParams;
}

export interface LinkFormatLimits {
  /** Most links one payload may hold. */
  readonly maxLinks: number;
  /** Longest text accepted, in UTF-16 code units. */
  readonly maxLength: number;
}

export const DEFAULT_LINK_FORMAT_LIMITS: LinkFormatLimits = {
  maxLinks: DEFAULT_DECODE_LIMITS.maxEntries,
  maxLength: DEFAULT_DECODE_LIMITS.maxPayloadBytes,
};

// ---------------------------------------------------------------------------------------------
// Character classes (RFC 6690 §2, RFC 5987 attr-char for parameter names)

/** 128 flags: true where the ASCII character may appear in a parameter name. */
const NAME_CHARS = asciiSet('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$&+-.^_`|~*');
/** 128 flags: true where the ASCII character may appear in an unquoted value (`ptoken`). */
const PTOKEN_CHARS = asciiSet(
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'()*+-./:<=>?@[]^_`{|}~",
);

function asciiSet(chars: string): readonly boolean[] {
  const set = new Array<boolean>(128).fill(false);
  for (let i = 0; i < chars.length; i++) set[chars.charCodeAt(i)] = true;
  return set;
}

const isNameChar = (c: number): boolean => c < 128 && NAME_CHARS[c] === true;
const isPtokenChar = (c: number): boolean => c < 128 && PTOKEN_CHARS[c] === true;
const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

const LT = 0x3c;
const GT = 0x3e;
const COMMA = 0x2c;
const SEMICOLON = 0x3b;
const EQUALS = 0x3d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Parameters whose values are always written quoted, as RFC 6690 and LwM2M peers write them. */
// `uri` (a Bootstrap-Discover Server URI) is quoted as in the TS Core example
// (`</0/0>;ssid=101;uri="coaps://server_1.example.com"`) and as Leshan and Anjay write it.
const ALWAYS_QUOTED: ReadonlySet<string> = new Set(['rt', 'if', 'rel', 'rev', 'anchor', 'title', 'uri']);

// ---------------------------------------------------------------------------------------------
// Parsing

function fail(message: string, offset: number): never {
  throw new DecodeError(`link format: ${message} at offset ${offset}`, { format: FORMAT, offset });
}

function resolveLimits(limits: Partial<LinkFormatLimits> | undefined): LinkFormatLimits {
  return limits === undefined ? DEFAULT_LINK_FORMAT_LIMITS : { ...DEFAULT_LINK_FORMAT_LIMITS, ...limits };
}

/**
 * Parses a link-format document. Whitespace around `,`, `;` and `=` and at either end is
 * tolerated (RFC 6690 has none, some clients send it); an empty document is no links. Parameter
 * names are lower-cased; a name given twice in one link is an error.
 */
export function parseLinkFormat(text: string, limits?: Partial<LinkFormatLimits>): Link[] {
  return scanLinks(text, limits, undefined);
}

/** The parser; with `offsets`, also records where each link starts so later checks can point at it. */
function scanLinks(
  text: string,
  limits: Partial<LinkFormatLimits> | undefined,
  offsets: number[] | undefined,
): Link[] {
  const { maxLinks, maxLength } = resolveLimits(limits);
  if (text.length > maxLength)
    fail(`text of ${text.length} characters exceeds the ${maxLength} limit`, maxLength);
  const links: Link[] = [];
  const end = text.length;
  let pos = skipSpace(text, 0);
  if (pos === end) return links;

  for (;;) {
    if (links.length >= maxLinks) fail(`more than ${maxLinks} links`, pos);
    if (text.charCodeAt(pos) !== LT) fail('expected "<"', pos);
    offsets?.push(pos);
    const uriStart = pos + 1;
    pos = uriStart;
    while (pos < end) {
      const c = text.charCodeAt(pos);
      if (c === GT) break;
      if (c <= 0x20 || c === 0x7f || c === LT || c === QUOTE) fail('invalid character in URI', pos);
      pos++;
    }
    if (pos === end) fail('unterminated "<"', uriStart - 1);
    const uri = text.slice(uriStart, pos);
    pos = skipSpace(text, pos + 1);

    const params = new Map<string, string | true>();
    while (pos < end && text.charCodeAt(pos) === SEMICOLON) {
      pos = skipSpace(text, pos + 1);
      const nameStart = pos;
      while (pos < end && isNameChar(text.charCodeAt(pos))) pos++;
      if (pos === nameStart) fail('expected a parameter name', pos);
      const name = text.slice(nameStart, pos).toLowerCase();
      if (params.has(name)) fail(`parameter "${name}" given twice`, nameStart);
      pos = skipSpace(text, pos);
      if (pos < end && text.charCodeAt(pos) === EQUALS) {
        pos = skipSpace(text, pos + 1);
        if (pos < end && text.charCodeAt(pos) === QUOTE) {
          pos = readQuoted(text, pos, params, name);
        } else {
          const valueStart = pos;
          while (pos < end && isPtokenChar(text.charCodeAt(pos))) pos++;
          if (pos === valueStart) fail(`expected a value for "${name}"`, pos);
          params.set(name, text.slice(valueStart, pos));
        }
        pos = skipSpace(text, pos);
      } else {
        params.set(name, true);
      }
    }
    links.push({ uri, params });

    if (pos === end) return links;
    if (text.charCodeAt(pos) !== COMMA) fail('expected "," or ";"', pos);
    pos = skipSpace(text, pos + 1);
    // A trailing comma would leave an empty link-value, which the grammar does not have.
    if (pos === end) fail('expected a link after ","', pos);
  }
}

function skipSpace(text: string, pos: number): number {
  while (pos < text.length && isSpace(text.charCodeAt(pos))) pos++;
  return pos;
}

/** Reads `"..."` at `start` into params; returns the position after the closing quote. */
function readQuoted(text: string, start: number, params: Map<string, string | true>, name: string): number {
  let pos = start + 1;
  let chunkStart = pos;
  let value = '';
  for (;;) {
    if (pos >= text.length) fail('unterminated quoted string', start);
    const c = text.charCodeAt(pos);
    if (c === QUOTE) break;
    if (c === BACKSLASH) {
      // quoted-pair: the next character stands for itself.
      if (pos + 1 >= text.length) fail('unterminated quoted string', start);
      value += text.slice(chunkStart, pos);
      chunkStart = pos + 1;
      pos += 2;
    } else {
      pos++;
    }
  }
  params.set(name, value + text.slice(chunkStart, pos));
  return pos + 1;
}

// ---------------------------------------------------------------------------------------------
// Formatting

function encodeFail(message: string): never {
  throw new EncodeError(`link format: ${message}`, { format: FORMAT });
}

function formatValue(name: string, value: string): string {
  let plain = !ALWAYS_QUOTED.has(name) && value.length > 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) encodeFail(`control character in the value of "${name}"`);
    if (plain && !isPtokenChar(c)) plain = false;
  }
  return plain ? value : `"${value.replace(/["\\]/g, '\\$&')}"`;
}

function formatLink(link: Link): string {
  const { uri } = link;
  for (let i = 0; i < uri.length; i++) {
    const c = uri.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === LT || c === GT || c === QUOTE)
      encodeFail(`invalid character in URI ${JSON.stringify(uri)}`);
  }
  let out = `<${uri}>`;
  for (const [name, value] of link.params) {
    if (name.length === 0) encodeFail('empty parameter name');
    for (let i = 0; i < name.length; i++) {
      if (!isNameChar(name.charCodeAt(i))) encodeFail(`invalid parameter name ${JSON.stringify(name)}`);
    }
    out += value === true ? `;${name}` : `;${name}=${formatValue(name, value)}`;
  }
  return out;
}

/**
 * Writes links as RFC 6690 text: values unquoted when they are a plain token, quoted (with `"` and
 * `\` escaped) otherwise, and always quoted for `rt`, `if`, `rel`, `rev`, `anchor`, `title` and `uri`.
 */
export function formatLinkFormat(links: readonly Link[]): string {
  return links.map(formatLink).join(',');
}

// ---------------------------------------------------------------------------------------------
// LwM2M: paths, numbers and versions inside link values

/** `/3`, `/3/0/`, `/3/0/1/2`: ids without leading zeros. */
const ID = '(0|[1-9][0-9]{0,4})';
const LWM2M_PATH = new RegExp(`^(?:/${ID}){0,4}/?$`);
const VERSION = /^[0-9]{1,4}\.[0-9]{1,4}$/;
const UNSIGNED = /^[0-9]{1,15}$/;
const DECIMAL = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?$/;

/** The LwM2M path a URI names, or undefined when it is not one (a text segment, an id > 65534). */
function uriToPath(uri: string): Lwm2mPath | undefined {
  if (uri.length > 32 || !LWM2M_PATH.test(uri)) return undefined;
  const ids: number[] = [];
  for (const part of uri.split('/')) {
    if (part === '') continue;
    const id = Number(part);
    if (id > MAX_ID) return undefined;
    ids.push(id);
  }
  return ids as unknown as Lwm2mPath;
}

/** `/lwm2m/` → `/lwm2m`, `/` → `` : the prefix that goes before `/3/0`. */
function rootPrefix(rootPath: string): string {
  return rootPath.endsWith('/') ? rootPath.slice(0, -1) : rootPath;
}

/** Normalises a root path to start and end with `/`, as Leshan reports it (`/`, `/lwm2m/`). */
function normaliseRoot(uri: string): string {
  let root = uri.startsWith('/') ? uri : `/${uri}`;
  if (!root.endsWith('/')) root += '/';
  return root;
}

function paramText(link: Link, name: string, offset: number): string | undefined {
  const value = link.params.get(name);
  if (value === true) fail(`"${name}" needs a value on <${link.uri}>`, offset);
  return value;
}

function parseVersion(link: Link, offset: number): string | undefined {
  const ver = paramText(link, 'ver', offset);
  if (ver !== undefined && !VERSION.test(ver))
    fail(`invalid ver ${JSON.stringify(ver)} on <${link.uri}>`, offset);
  return ver;
}

// ---------------------------------------------------------------------------------------------
// Registration payload (TS Core §6.2.1)

export interface RegisteredObject {
  /** The object version the client implements (`ver`), when it differs from 1.0. */
  readonly version?: string;
  /** Instance ids, ascending; empty for an object registered without instances (`</5>`). */
  readonly instances: readonly number[];
}

export interface RegistrationLinks {
  /** Where the LwM2M objects live: `/` or an alternate path such as `/lwm2m/` (always ends with `/`). */
  readonly rootPath: string;
  readonly objects: ReadonlyMap<number, RegisteredObject>;
  /** Content formats from `ct` on the root link (`ct=110` or `ct="60 110"`), when given. */
  readonly supportedFormats?: readonly number[];
}

function isLwm2mRoot(link: Link): boolean {
  const rt = link.params.get('rt');
  return typeof rt === 'string' && rt.split(' ').includes('oma.lwm2m');
}

function parseContentFormats(link: Link, offset: number): number[] | undefined {
  const ct = paramText(link, 'ct', offset);
  if (ct === undefined) return undefined;
  const formats: number[] = [];
  for (const part of ct.split(' ')) {
    if (part === '') continue;
    const n = UNSIGNED.test(part) ? Number(part) : Number.NaN;
    if (!(n <= 65535)) fail(`invalid content format ${JSON.stringify(part)} in ct`, offset);
    formats.push(n);
  }
  if (formats.length === 0) fail('empty ct', offset);
  return formats;
}

/**
 * Reads the payload of a Register or Update request. The root link is the one with
 * `rt="oma.lwm2m"` (its URI is the alternate path) or else a `</>` link; its `ct` lists the
 * content formats the client supports. Links outside the root path are not LwM2M objects and
 * are ignored (as Leshan does); inside it, every link must name an object or an object instance.
 */
export function parseRegistrationLinks(text: string, limits?: Partial<LinkFormatLimits>): RegistrationLinks {
  const offsets: number[] = [];
  const links = scanLinks(text, limits, offsets);

  let rootIndex = -1;
  for (let i = 0; i < links.length; i++) {
    if (!isLwm2mRoot(links[i] as Link)) continue;
    if (rootIndex >= 0) fail('more than one link with rt="oma.lwm2m"', offsets[i] as number);
    rootIndex = i;
  }
  if (rootIndex < 0) rootIndex = links.findIndex((l) => l.uri === '/');
  const rootLink = links[rootIndex];
  const rootPath = rootLink === undefined ? '/' : normaliseRoot(rootLink.uri);
  const prefix = rootPrefix(rootPath);

  const building = new Map<number, { version?: string; instances: Set<number> }>();
  for (let i = 0; i < links.length; i++) {
    if (i === rootIndex) continue;
    const link = links[i] as Link;
    const offset = offsets[i] as number;
    if (prefix !== '' && link.uri !== prefix && !link.uri.startsWith(`${prefix}/`)) continue;
    const path = uriToPath(link.uri.slice(prefix.length));
    if (path === undefined) fail(`<${link.uri}> is not an LwM2M path`, offset);
    // Deeper links (a resource) carry nothing a registration records; Leshan skips them too.
    if (path.length === 0 || path.length > 2) continue;
    const objectId = path[0];
    let object = building.get(objectId);
    if (!object) building.set(objectId, (object = { instances: new Set() }));
    const version = parseVersion(link, offset);
    if (version !== undefined) {
      if (object.version !== undefined && object.version !== version) {
        fail(`object ${objectId} registered with versions ${object.version} and ${version}`, offset);
      }
      object.version = version;
    }
    if (path.length === 2) object.instances.add(path[1]);
  }

  const objects = new Map<number, RegisteredObject>();
  for (const [id, { version, instances }] of building) {
    const sorted = [...instances].sort((a, b) => a - b);
    objects.set(id, version === undefined ? { instances: sorted } : { version, instances: sorted });
  }
  const supportedFormats =
    rootLink === undefined ? undefined : parseContentFormats(rootLink, offsets[rootIndex] as number);
  return supportedFormats === undefined ? { rootPath, objects } : { rootPath, objects, supportedFormats };
}

export interface RegistrationLinksInput {
  /** Alternate root path (`/lwm2m/`); `/` when absent. */
  readonly rootPath?: string;
  readonly objects: ReadonlyMap<number, RegisteredObject>;
  readonly supportedFormats?: readonly number[];
}

/**
 * Writes a registration payload the way Leshan and Anjay do:
 * `</>;rt="oma.lwm2m";ct="60 110",</1>;ver=1.1,</1/0>,</2>,</3/0>`. An object link is written when
 * the object has a version other than 1.0 or no instances; instance links follow.
 */
export function formatRegistrationLinks(input: RegistrationLinksInput): string {
  const rootPath = normaliseRoot(input.rootPath ?? '/');
  const prefix = rootPrefix(rootPath);
  const links: Link[] = [];
  const rootParams = new Map<string, string | true>([['rt', 'oma.lwm2m']]);
  if (input.supportedFormats !== undefined && input.supportedFormats.length > 0) {
    for (const f of input.supportedFormats) {
      if (!Number.isInteger(f) || f < 0 || f > 65535) encodeFail(`invalid content format ${f}`);
    }
    rootParams.set('ct', input.supportedFormats.join(' '));
  }
  links.push({ uri: prefix === '' ? '/' : prefix, params: rootParams });
  for (const [objectId, object] of input.objects) {
    checkId(objectId);
    if (object.version !== undefined && !VERSION.test(object.version))
      encodeFail(`invalid version ${object.version}`);
    const versioned = object.version !== undefined && object.version !== '1.0';
    if (versioned || object.instances.length === 0) {
      links.push({
        uri: `${prefix}/${objectId}`,
        params: versioned ? new Map([['ver', object.version as string]]) : new Map(),
      });
    }
    for (const instanceId of object.instances) {
      checkId(instanceId);
      links.push({ uri: `${prefix}/${objectId}/${instanceId}`, params: new Map() });
    }
  }
  return formatLinkFormat(links);
}

function checkId(id: number): void {
  if (!Number.isInteger(id) || id < 0 || id > MAX_ID) encodeFail(`id ${id} out of range`);
}

// ---------------------------------------------------------------------------------------------
// Discover results (TS Core §5.4.2 Discover, §5.2.7.1 Bootstrap-Discover)

/** Notification attributes (TS Core §5.1.2). Periods are seconds; gt/lt/st are numbers. */
export interface NotificationAttributes {
  readonly pmin?: number;
  readonly pmax?: number;
  readonly gt?: number;
  readonly lt?: number;
  readonly st?: number;
  readonly epmin?: number;
  readonly epmax?: number;
  /** 1.2: 1 notifies on a rising edge of a boolean, 0 on a falling one. */
  readonly edge?: 0 | 1;
  /** 1.2: 1 asks for confirmable notifications. */
  readonly con?: 0 | 1;
  /** 1.2: most historical notifications queued. */
  readonly hqmax?: number;
}

export interface DiscoverLink {
  /** Relative to the root path: `/3/0/7` even when the client serves it at `/lwm2m/3/0/7`. */
  readonly path: Lwm2mPath;
  /** `ver` on an object link. */
  readonly version?: string;
  /** `dim`: instance count of a multiple-instance resource. */
  readonly dim?: number;
  readonly attributes: NotificationAttributes;
  /** Bootstrap-Discover: `lwm2m` on the root link (the client's LwM2M version). */
  readonly lwm2m?: string;
  /** Bootstrap-Discover: Short Server ID of a Security or Server instance. */
  readonly ssid?: number;
  /** Bootstrap-Discover: Server URI of a Security instance. */
  readonly uri?: string;
}

function parseUnsigned(link: Link, name: string, offset: number, max: number): number | undefined {
  const text = paramText(link, name, offset);
  if (text === undefined) return undefined;
  const n = UNSIGNED.test(text) ? Number(text) : Number.NaN;
  if (!(n <= max)) fail(`invalid ${name} ${JSON.stringify(text)} on <${link.uri}>`, offset);
  return n;
}

function parseAttributes(link: Link, offset: number): NotificationAttributes {
  const out: { -readonly [K in keyof NotificationAttributes]: NotificationAttributes[K] } = {};
  for (const name of INTEGER_ATTRIBUTES) {
    const n = parseUnsigned(link, name, offset, Number.MAX_SAFE_INTEGER);
    if (n !== undefined) out[name] = n;
  }
  for (const name of NUMBER_ATTRIBUTES) {
    const text = paramText(link, name, offset);
    if (text === undefined) continue;
    const n = DECIMAL.test(text) ? Number(text) : Number.NaN;
    if (!Number.isFinite(n)) fail(`invalid ${name} ${JSON.stringify(text)} on <${link.uri}>`, offset);
    out[name] = n;
  }
  for (const name of FLAG_ATTRIBUTES) {
    const text = paramText(link, name, offset);
    if (text === undefined) continue;
    if (text !== '0' && text !== '1')
      fail(`invalid ${name} ${JSON.stringify(text)} on <${link.uri}>`, offset);
    out[name] = text === '1' ? 1 : 0;
  }
  return out;
}

/**
 * Reads a Discover or Bootstrap-Discover result into typed entries. With `rootPath` (an alternate
 * path from the registration), links are read relative to it and links outside it are skipped.
 * Unknown parameters are ignored; a known attribute with a bad value is a {@link DecodeError}.
 */
export function parseDiscoverLinks(
  text: string,
  options: { readonly rootPath?: string; readonly limits?: Partial<LinkFormatLimits> } = {},
): DiscoverLink[] {
  const offsets: number[] = [];
  const links = scanLinks(text, options.limits, offsets);
  const prefix = rootPrefix(normaliseRoot(options.rootPath ?? '/'));
  const out: DiscoverLink[] = [];
  for (let i = 0; i < links.length; i++) {
    const link = links[i] as Link;
    const offset = offsets[i] as number;
    if (prefix !== '' && link.uri !== prefix && !link.uri.startsWith(`${prefix}/`)) continue;
    const path = uriToPath(link.uri.slice(prefix.length) || '/');
    if (path === undefined) fail(`<${link.uri}> is not an LwM2M path`, offset);
    const entry: {
      -readonly [K in keyof DiscoverLink]: DiscoverLink[K];
    } = { path, attributes: parseAttributes(link, offset) };
    const version = parseVersion(link, offset);
    if (version !== undefined) entry.version = version;
    const dim = parseUnsigned(link, 'dim', offset, 65535);
    if (dim !== undefined) {
      if (path.length !== 3) fail(`dim on <${link.uri}>, which is not a resource`, offset);
      entry.dim = dim;
    }
    const lwm2m = paramText(link, 'lwm2m', offset);
    if (lwm2m !== undefined) {
      if (!VERSION.test(lwm2m)) fail(`invalid lwm2m ${JSON.stringify(lwm2m)}`, offset);
      entry.lwm2m = lwm2m;
    }
    const ssid = parseUnsigned(link, 'ssid', offset, 65535);
    if (ssid !== undefined) entry.ssid = ssid;
    const uri = paramText(link, 'uri', offset);
    if (uri !== undefined) entry.uri = uri;
    out.push(entry);
  }
  return out;
}

function formatNumber(name: string, n: number): string {
  if (!Number.isFinite(n)) encodeFail(`${name} must be a finite number, got ${n}`);
  // String(n) gives `42.2`, `50` and `4.2e+21`, which the DECIMAL grammar above reads back.
  return Object.is(n, -0) ? '0' : String(n);
}

/**
 * Writes Discover results: `</3/0/7>;dim=2;pmin=10;pmax=60;gt=50;lt=42.2`. Parameters come in a
 * fixed order (dim, ver, lwm2m, ssid, uri, then the attributes in TS Core table order).
 */
export function formatDiscoverLinks(
  entries: readonly DiscoverLink[],
  options: { readonly rootPath?: string } = {},
): string {
  const prefix = rootPrefix(normaliseRoot(options.rootPath ?? '/'));
  const links: Link[] = [];
  for (const entry of entries) {
    const params = new Map<string, string | true>();
    if (entry.dim !== undefined) {
      if (entry.path.length !== 3) encodeFail(`dim on ${formatPath(entry.path)}, which is not a resource`);
      if (!Number.isInteger(entry.dim) || entry.dim < 0 || entry.dim > 65535)
        encodeFail(`invalid dim ${entry.dim}`);
      params.set('dim', String(entry.dim));
    }
    if (entry.version !== undefined) {
      if (!VERSION.test(entry.version)) encodeFail(`invalid version ${entry.version}`);
      params.set('ver', entry.version);
    }
    if (entry.lwm2m !== undefined) {
      if (!VERSION.test(entry.lwm2m)) encodeFail(`invalid lwm2m version ${entry.lwm2m}`);
      params.set('lwm2m', entry.lwm2m);
    }
    if (entry.ssid !== undefined) {
      if (!Number.isInteger(entry.ssid) || entry.ssid < 0 || entry.ssid > 65535)
        encodeFail(`invalid ssid ${entry.ssid}`);
      params.set('ssid', String(entry.ssid));
    }
    if (entry.uri !== undefined) params.set('uri', entry.uri);
    const attributes = entry.attributes;
    for (const name of ATTRIBUTE_ORDER) {
      const value = attributes[name];
      if (value === undefined) continue;
      if ((INTEGER_ATTRIBUTES as readonly string[]).includes(name)) {
        if (!Number.isSafeInteger(value) || value < 0)
          encodeFail(`${name} must be a whole number of seconds, got ${value}`);
        params.set(name, String(value));
      } else if ((FLAG_ATTRIBUTES as readonly string[]).includes(name)) {
        if (value !== 0 && value !== 1) encodeFail(`${name} must be 0 or 1, got ${value}`);
        params.set(name, String(value));
      } else {
        params.set(name, formatNumber(name, value));
      }
    }
    const path = formatPath(entry.path);
    links.push({ uri: prefix === '' ? path : path === '/' ? prefix : prefix + path, params });
  }
  return formatLinkFormat(links);
}
