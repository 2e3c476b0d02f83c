import { DecodeError } from '@lwm2m/core';
import type { NotificationAttributes } from './link-format.js';

import {
  ATTRIBUTE_ORDER,
  FLAG_ATTRIBUTES,
  INTEGER_ATTRIBUTES,
  NUMBER_ATTRIBUTES,
} from './attribute-names.js';
import type { AttributeName } from './attribute-names.js';

export type { AttributeName } from './attribute-names.js';

/** What one Write-Attributes request (TS Core §5.4.4: `PUT /3/0/9?pmin=10&pmax=60&gt=50&st`) changes: attributes given a value, and attributes named without one (removed, 1.1+). */
export interface AttributeChanges {
  readonly set: NotificationAttributes;
  readonly unset: readonly AttributeName[];
}

const INTEGER_NAMES = new Set<AttributeName>(INTEGER_ATTRIBUTES);
const NUMBER_NAMES = new Set<AttributeName>(NUMBER_ATTRIBUTES);
const FLAG_NAMES = new Set<AttributeName>(FLAG_ATTRIBUTES);

const UNSIGNED = /^[0-9]{1,15}$/;
const DECIMAL = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/;

function isAttributeName(name: string): name is AttributeName {
  return (
    INTEGER_NAMES.has(name as AttributeName) ||
    NUMBER_NAMES.has(name as AttributeName) ||
    FLAG_NAMES.has(name as AttributeName)
  );
}

function fail(message: string): never {
  throw new DecodeError(`write-attributes: ${message}`);
}

function parseValue(name: AttributeName, text: string): number {
  if (INTEGER_NAMES.has(name)) {
    if (!UNSIGNED.test(text)) fail(`${name} must be an unsigned integer, got ${JSON.stringify(text)}`);
    return Number(text);
  }
  if (FLAG_NAMES.has(name)) {
    if (text !== '0' && text !== '1') fail(`${name} must be 0 or 1, got ${JSON.stringify(text)}`);
    return Number(text);
  }
  const n = DECIMAL.test(text) ? Number(text) : Number.NaN;
  if (!Number.isFinite(n)) fail(`${name} must be a decimal number, got ${JSON.stringify(text)}`);
  if (name === 'st' && n < 0) fail(`st must not be negative, got ${text}`);
  return n;
}

/**
 * Parses the query segments of a Write-Attributes request. Unknown or read-only attributes
 * (`dim`, `ver`...), bad values and repeated names throw a DecodeError (the client answers 4.00).
 */
export function parseAttributeQuery(query: readonly string[]): AttributeChanges {
  const set: { -readonly [K in AttributeName]?: number } = {};
  const unset: AttributeName[] = [];
  const seen = new Set<string>();
  for (const segment of query) {
    const eq = segment.indexOf('=');
    const name = eq < 0 ? segment : segment.slice(0, eq);
    if (!isAttributeName(name)) fail(`unknown or read-only attribute ${JSON.stringify(name)}`);
    if (seen.has(name)) fail(`attribute ${name} given twice`);
    seen.add(name);
    if (eq < 0) unset.push(name);
    else set[name] = parseValue(name, segment.slice(eq + 1));
  }
  return { set: set as NotificationAttributes, unset };
}

/** Decimal text without exponent notation, which link-format values do not allow. */
function formatNumber(n: number): string {
  const text = String(n);
  if (!/e/i.test(text)) return text;
  return Math.abs(n) < 1 ? n.toFixed(20).replace(/0+$/, '') : BigInt(Math.trunc(n)).toString();
}

/** Query segments for a Write-Attributes request; validates like {@link parseAttributeQuery}. */
export function formatAttributeQuery(changes: {
  readonly set?: NotificationAttributes;
  readonly unset?: readonly AttributeName[];
}): string[] {
  const out: string[] = [];
  const set = changes.set ?? {};
  const unset = new Set(changes.unset ?? []);
  for (const name of ATTRIBUTE_ORDER) {
    const value = set[name];
    if (value !== undefined) {
      if (unset.has(name)) fail(`attribute ${name} both set and removed`);
      const text = formatNumber(value);
      parseValue(name, text);
      out.push(`${name}=${text}`);
    } else if (unset.has(name)) {
      out.push(name);
    }
  }
  for (const name of unset) if (!isAttributeName(name)) fail(`unknown attribute ${JSON.stringify(name)}`);
  for (const name of Object.keys(set))
    if (!isAttributeName(name)) fail(`unknown attribute ${JSON.stringify(name)}`);
  return out;
}

/** Applies changes to the attributes a path had; the result may still break {@link attributeRuleViolation}. */
export function applyAttributeChanges(
  current: NotificationAttributes,
  changes: AttributeChanges,
): NotificationAttributes {
  const next: { -readonly [K in AttributeName]?: number } = { ...current };
  for (const name of changes.unset) delete next[name];
  Object.assign(next, changes.set);
  return next as NotificationAttributes;
}

/**
 * The consistency rules of TS Core 1.1 §5.1.2 for numeric change conditions: `lt < gt` and
 * `lt + 2·st < gt` when both thresholds are set, `epmin ≤ epmax`. Returns what is broken, or undefined.
 */
export function attributeRuleViolation(attributes: NotificationAttributes): string | undefined {
  const { gt, lt, st, epmin, epmax } = attributes;
  if (gt !== undefined && lt !== undefined) {
    if (!(lt < gt)) return `lt (${lt}) must be less than gt (${gt})`;
    if (st !== undefined && !(lt + 2 * st < gt))
      return `lt + 2*st (${lt + 2 * st}) must be less than gt (${gt})`;
  }
  if (epmin !== undefined && epmax !== undefined && epmax < epmin)
    return `epmax (${epmax}) must not be less than epmin (${epmin})`;
  return undefined;
}
