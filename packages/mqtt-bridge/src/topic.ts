import { formatPath, isLwm2mError, parsePath } from '@lwm2m/core';
import type { Lwm2mPath } from '@lwm2m/core';
import { BridgeConfigError, BridgeRequestError } from './errors.js';

/** The request methods of the topic layout `{prefix}/requests/{ep}/{METHOD}{path}`. */
export const METHODS = [
  'GET',
  'PUT',
  'POST',
  'DELETE',
  'CREATE',
  'DISCOVER',
  'WRITE-ATTRIBUTES',
  'OBSERVE',
  'CANCEL-OBSERVE',
  'READ-COMPOSITE',
  'WRITE-COMPOSITE',
  'OBSERVE-COMPOSITE',
  'CANCEL-OBSERVE-COMPOSITE',
] as const;

export type BridgeMethod = (typeof METHODS)[number];

const METHOD_SET: ReadonlySet<string> = new Set(METHODS);

export interface RequestTopic {
  /** The endpoint name, decoded (see {@link encodeTopicLevel}). */
  readonly endpoint: string;
  readonly method: BridgeMethod;
  readonly path: Lwm2mPath;
}

/** Checks a topic prefix: one or more non-empty levels, no wildcards, not a `$` system topic. */
export function checkPrefix(prefix: string): string {
  if (typeof prefix !== 'string' || prefix.length === 0)
    throw new BridgeConfigError('prefix must be a non-empty string');
  if (prefix.startsWith('$'))
    throw new BridgeConfigError(
      `prefix ${JSON.stringify(prefix)} must not start with "$" (reserved for the broker)`,
    );
  for (const level of prefix.split('/')) {
    if (level.length === 0)
      throw new BridgeConfigError(`prefix ${JSON.stringify(prefix)} has an empty level`);
    if (/[+#\u0000]/.test(level))
      throw new BridgeConfigError(`prefix ${JSON.stringify(prefix)} contains a wildcard or NUL`);
  }
  return prefix;
}

/**
 * An endpoint name as one topic level: `%`, `/`, `+`, `#` (and NUL) are percent-encoded so a name
 * can neither add levels nor act as a wildcard. Names without those characters stay as they are.
 */
export function encodeTopicLevel(text: string): string {
  return /[%/+#\u0000]/.test(text)
    ? text.replace(/[%/+#\u0000]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`)
    : text;
}

const ESCAPES: Readonly<Record<string, string>> = {
  '25': '%',
  '2F': '/',
  '2B': '+',
  '23': '#',
  '00': '\u0000',
};

/** The inverse of {@link encodeTopicLevel}; only the escapes it produces are accepted. */
export function decodeTopicLevel(level: string): string {
  if (level.length === 0)
    throw new BridgeRequestError('ERR_BAD_TOPIC', '4.00', 'empty endpoint level in topic');
  if (/[+#]/.test(level))
    throw new BridgeRequestError(
      'ERR_BAD_TOPIC',
      '4.00',
      `wildcard in endpoint level ${JSON.stringify(level)}`,
    );
  if (!level.includes('%')) return level;
  return level.replace(/%(..)?/g, (match, hex: string | undefined) => {
    const decoded = hex === undefined ? undefined : ESCAPES[hex.toUpperCase()];
    if (decoded === undefined) {
      throw new BridgeRequestError(
        'ERR_BAD_TOPIC',
        '4.00',
        `bad escape ${JSON.stringify(match)} in endpoint level ${JSON.stringify(level)} (only %25 %2F %2B %23 %00)`,
      );
    }
    return decoded;
  });
}

/**
 * Parses what follows `{prefix}/requests/` in a request topic: `{ep}/{METHOD}` then zero to four
 * path levels. Every level is checked: no empty level, no wildcard, a known method, each id a
 * canonical decimal LwM2M id (so `..`, `%2F`, `01`, `-1` are refused, never reinterpreted).
 */
export function parseRequestTopic(remainder: string): RequestTopic {
  const levels = remainder.split('/');
  if (levels.length < 2) {
    throw new BridgeRequestError(
      'ERR_BAD_TOPIC',
      '4.00',
      `request topic needs {endpoint}/{METHOD}[/path], got ${JSON.stringify(remainder)}`,
    );
  }
  const endpoint = decodeTopicLevel(levels[0] as string);
  const methodText = levels[1] as string;
  if (methodText.length === 0)
    throw new BridgeRequestError('ERR_BAD_TOPIC', '4.00', 'empty method level in topic');
  if (!METHOD_SET.has(methodText)) {
    throw new BridgeRequestError(
      'ERR_UNKNOWN_METHOD',
      '4.05',
      `unknown method ${JSON.stringify(methodText)}; expected one of ${METHODS.join(', ')}`,
    );
  }
  const pathLevels = levels.slice(2);
  for (const level of pathLevels) {
    if (level.length === 0)
      throw new BridgeRequestError(
        'ERR_BAD_PATH',
        '4.00',
        `empty path level in ${JSON.stringify(remainder)}`,
      );
    if (/[+#]/.test(level))
      throw new BridgeRequestError('ERR_BAD_PATH', '4.00', `wildcard in path level ${JSON.stringify(level)}`);
  }
  return { endpoint, method: methodText as BridgeMethod, path: parseBridgePath('/' + pathLevels.join('/')) };
}

/** parsePath with the bridge's error: a path from a topic or a body that is not a canonical LwM2M path. */
export function parseBridgePath(text: string): Lwm2mPath {
  try {
    return parsePath(text);
  } catch (error) {
    if (isLwm2mError(error))
      throw new BridgeRequestError('ERR_BAD_PATH', '4.00', error.message, { cause: error });
    throw error;
  }
}

/** `{prefix}/requests/{ep}/{METHOD}{path}` for a request (what a caller publishes to). */
export function requestTopic(
  prefix: string,
  endpoint: string,
  method: BridgeMethod,
  path: Lwm2mPath = [],
): string {
  return `${prefix}/requests/${encodeTopicLevel(endpoint)}/${method}${path.length === 0 ? '' : formatPath(path)}`;
}

/** `{prefix}/{ep}/sensor{path}`. */
export function sensorTopic(prefix: string, endpoint: string, path: Lwm2mPath): string {
  return `${prefix}/${encodeTopicLevel(endpoint)}/sensor${path.length === 0 ? '' : formatPath(path)}`;
}

/** `{prefix}/{ep}/{event}` for registered, updated, deregistered, expired and presence. */
export function endpointTopic(prefix: string, endpoint: string, event: string): string {
  return `${prefix}/${encodeTopicLevel(endpoint)}/${event}`;
}

/** A topic the bridge may publish a response to: non-empty, no wildcard, no NUL. */
export function isPublishableTopic(topic: string): boolean {
  return topic.length > 0 && topic.length <= 65535 && !/[+#\u0000]/.test(topic);
}
