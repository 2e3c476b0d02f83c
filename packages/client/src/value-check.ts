import type { ResourceDefinition, ResourceValue } from '@lwm2m/core';
import { checkValue } from '@lwm2m/codecs';
import { BadRequestError } from './errors.js';

const RANGE = /^\s*(-?[0-9]+(?:\.[0-9]+)?)\s*\.\.\s*(-?[0-9]+(?:\.[0-9]+)?)\s*(bytes?)?\s*$/i;

function byteLength(value: ResourceValue): number | undefined {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (value instanceof Uint8Array) return value.byteLength;
  return undefined;
}

/**
 * Throws a 4.00 {@link BadRequestError} unless `value` fits the resource: its DDF type, and a
 * `RangeEnumeration` of the form `a..b` (a numeric range, or a length range for strings and
 * opaque values). Other range texts (lists, prose) are not enforced.
 */
export function checkResourceValue(definition: ResourceDefinition, value: ResourceValue): void {
  try {
    checkValue(definition.type, value);
  } catch (error) {
    throw new BadRequestError(`resource ${definition.id} (${definition.name}): ${(error as Error).message}`, {
      cause: error,
    });
  }
  const range = definition.rangeEnumeration === undefined ? null : RANGE.exec(definition.rangeEnumeration);
  if (range === null) return;
  const min = Number(range[1]);
  const max = Number(range[2]);
  const length = byteLength(value);
  let measured: number | undefined;
  if (length !== undefined) measured = length;
  else if (typeof value === 'number' || typeof value === 'bigint') measured = Number(value);
  if (measured === undefined) return;
  if (measured < min || measured > max) {
    const what = length !== undefined ? `length ${measured}` : `value ${String(value)}`;
    throw new BadRequestError(
      `resource ${definition.id} (${definition.name}): ${what} outside ${definition.rangeEnumeration}`,
    );
  }
}
