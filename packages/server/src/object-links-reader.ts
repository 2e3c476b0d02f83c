import { objectLinksText, parseObjectLinksText } from './registration-params.js';
import type { ObjectLinks, RegistrationRefusal } from './registration-params.js';

/** Payloads longer than this are parsed every time, so the cache stays small (≤ entries × this). */
const MAX_CACHED_TEXT = 2048;

/**
 * Reads Register/Update payloads with a small cache of results by payload text: a fleet of one
 * device model sends the same few payloads over and over, and parsing (with its validation) was
 * a large part of a Register's cost. A hit returns exactly what parsing the same text returned,
 * refusals included, and its `text` is the cached string, so registrations with equal payloads
 * share one string. Oldest entry evicted first.
 */
export type ObjectLinksReader = (
  payload: Uint8Array,
  contentFormat: number | undefined,
) => ObjectLinks | RegistrationRefusal;

export function createObjectLinksReader(maxEntries = 256): ObjectLinksReader {
  const cache = new Map<string, ObjectLinks | RegistrationRefusal>();
  return (payload, contentFormat) => {
    const text = objectLinksText(payload, contentFormat);
    if (typeof text !== 'string') return text;
    const cached = cache.get(text);
    if (cached !== undefined) return cached;
    const result = parseObjectLinksText(text);
    if (text.length <= MAX_CACHED_TEXT && maxEntries > 0) {
      if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as string);
      cache.set(text, result);
    }
    return result;
  };
}
