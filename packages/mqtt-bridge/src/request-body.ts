import { ContentFormat, formatPath } from '@lwm2m/core';
import type { Lwm2mNode, Lwm2mPath, ObjectInstanceNode, ObjectRegistry } from '@lwm2m/core';
import type { AttributeName, NotificationAttributes } from '@lwm2m/codecs';
import type { ExecuteArguments } from '@lwm2m/server';
import { BridgeRequestError } from './errors.js';
import { instanceFromJson, jsonToNode } from './json-values.js';
import { parseBridgePath } from './topic.js';
import type { BridgeMethod, RequestTopic } from './topic.js';

/** A correlation id: a string of up to 256 characters or a finite number, echoed as given. */
export type RequestId = string | number;

interface Common {
  readonly endpoint: string;
  readonly id: RequestId | undefined;
  /** Milliseconds; the bridge's default when absent. */
  readonly timeout: number | undefined;
}

/** A request checked and converted: what the bridge hands to the server. */
export type BridgeRequest = Common &
  (
    | { readonly method: 'GET'; readonly path: Lwm2mPath; readonly format: number | undefined }
    | {
        readonly method: 'PUT';
        readonly path: Lwm2mPath;
        readonly node: Lwm2mNode;
        readonly format: number | undefined;
      }
    | {
        readonly method: 'POST';
        readonly path: Lwm2mPath;
        readonly action: 'execute';
        readonly args: ExecuteArguments | undefined;
      }
    | {
        readonly method: 'POST';
        readonly path: Lwm2mPath;
        readonly action: 'update';
        readonly node: Lwm2mNode;
        readonly format: number | undefined;
      }
    | { readonly method: 'DELETE'; readonly path: Lwm2mPath }
    | {
        readonly method: 'CREATE';
        readonly path: Lwm2mPath;
        /** Undefined: the bridge picks the lowest free instance id. */
        readonly instance: number | undefined;
        /** Resources of the new instance (the instance id is filled in later). */
        readonly value: unknown;
        readonly format: number | undefined;
      }
    | { readonly method: 'DISCOVER'; readonly path: Lwm2mPath }
    | {
        readonly method: 'WRITE-ATTRIBUTES';
        readonly path: Lwm2mPath;
        readonly set: NotificationAttributes;
        readonly unset: readonly AttributeName[];
      }
    | { readonly method: 'OBSERVE'; readonly path: Lwm2mPath; readonly format: number | undefined }
    | { readonly method: 'CANCEL-OBSERVE'; readonly path: Lwm2mPath }
    | {
        readonly method: 'READ-COMPOSITE';
        readonly paths: readonly Lwm2mPath[];
        readonly format: number | undefined;
      }
    | {
        readonly method: 'WRITE-COMPOSITE';
        readonly nodes: ReadonlyMap<string, Lwm2mNode>;
        readonly format: number | undefined;
      }
    | {
        readonly method: 'OBSERVE-COMPOSITE';
        readonly paths: readonly Lwm2mPath[];
        readonly format: number | undefined;
      }
    | { readonly method: 'CANCEL-OBSERVE-COMPOSITE'; readonly paths: readonly Lwm2mPath[] }
  );

export interface BodyLimits {
  /** Largest `timeout` a request may ask for, ms. */
  readonly maxTimeout: number;
  /** Most paths in a composite request. */
  readonly maxPaths: number;
}

/** Content formats by the names a request may use instead of numbers. */
export const FORMAT_NAMES: Readonly<Record<string, number>> = {
  text: ContentFormat.TEXT,
  link: ContentFormat.LINK,
  opaque: ContentFormat.OPAQUE,
  cbor: ContentFormat.CBOR,
  'senml-json': ContentFormat.SENML_JSON,
  'senml-cbor': ContentFormat.SENML_CBOR,
  tlv: ContentFormat.TLV,
  json: ContentFormat.JSON,
  'lwm2m-json': ContentFormat.JSON,
  'lwm2m-cbor': ContentFormat.LWM2M_CBOR,
};

const KNOWN_FORMATS: ReadonlySet<number> = new Set(Object.values(FORMAT_NAMES));

function badBody(message: string): BridgeRequestError {
  return new BridgeRequestError('ERR_BAD_BODY', '4.00', message);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** The body as a JSON object; an empty payload is `{}`. */
export function parseJsonBody(payload: Uint8Array): Record<string, unknown> {
  if (payload.byteLength === 0) return {};
  let text: string;
  try {
    text = decoder.decode(payload);
  } catch {
    throw badBody('body is not valid UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw badBody(`body is not JSON: ${(error as Error).message}`);
  }
  if (!isPlainObject(parsed)) throw badBody('body must be a JSON object');
  return parsed;
}

/** The correlation id of a body when it has a valid one (read before anything else can fail). */
export function readRequestId(body: Record<string, unknown> | undefined): RequestId | undefined {
  const id = body?.['id'];
  if (typeof id === 'string' && id.length <= 256) return id;
  if (typeof id === 'number' && Number.isFinite(id)) return id;
  return undefined;
}

const COMMON_FIELDS = ['id', 'timeout'];
const FIELDS: Readonly<Record<BridgeMethod, readonly string[]>> = {
  GET: ['format', 'options'],
  PUT: ['value', 'payload', 'format', 'options'],
  POST: ['value', 'args', 'payload', 'format', 'options'],
  DELETE: [],
  CREATE: ['value', 'payload', 'instance', 'format', 'options'],
  DISCOVER: [],
  'WRITE-ATTRIBUTES': ['attributes'],
  OBSERVE: ['format', 'options'],
  'CANCEL-OBSERVE': [],
  'READ-COMPOSITE': ['paths', 'format', 'options'],
  'WRITE-COMPOSITE': ['values', 'format', 'options'],
  'OBSERVE-COMPOSITE': ['paths', 'format', 'options'],
  'CANCEL-OBSERVE-COMPOSITE': ['paths'],
};

/** Path depth each method accepts in its topic: [min, max]. */
const DEPTHS: Readonly<Record<BridgeMethod, readonly [number, number]>> = {
  GET: [1, 4],
  PUT: [2, 4],
  POST: [2, 4],
  DELETE: [1, 2],
  CREATE: [1, 1],
  DISCOVER: [0, 3],
  'WRITE-ATTRIBUTES': [1, 4],
  OBSERVE: [1, 4],
  'CANCEL-OBSERVE': [1, 4],
  'READ-COMPOSITE': [0, 0],
  'WRITE-COMPOSITE': [0, 0],
  'OBSERVE-COMPOSITE': [0, 0],
  'CANCEL-OBSERVE-COMPOSITE': [0, 0],
};

const DEPTH_NAMES = ['the root', 'an object', 'an object instance', 'a resource', 'a resource instance'];

function checkDepth(method: BridgeMethod, path: Lwm2mPath): void {
  const [min, max] = DEPTHS[method];
  if (path.length >= min && path.length <= max) return;
  if (max === 0)
    throw new BridgeRequestError(
      'ERR_BAD_PATH',
      '4.00',
      `${method} takes its paths in the body, not in the topic (got ${formatPath(path)})`,
    );
  const allowed = DEPTH_NAMES.slice(min, max + 1).join(' or ');
  throw new BridgeRequestError(
    'ERR_BAD_PATH',
    '4.00',
    `${method} needs ${allowed} path, got ${path.length === 0 ? 'none' : formatPath(path)}`,
  );
}

function readFormat(body: Record<string, unknown>): number | undefined {
  const options = body['options'];
  if (
    options !== undefined &&
    (!isPlainObject(options) || Object.keys(options).some((k) => k !== 'format'))
  ) {
    throw badBody('"options" may only hold "format"');
  }
  const given = body['format'] ?? (options as Record<string, unknown> | undefined)?.['format'];
  if (given === undefined) return undefined;
  if (typeof given === 'string') {
    const id = FORMAT_NAMES[given];
    if (id === undefined)
      throw badBody(
        `unknown format ${JSON.stringify(given)}; use a number or one of ${Object.keys(FORMAT_NAMES).join(', ')}`,
      );
    return id;
  }
  if (typeof given === 'number' && KNOWN_FORMATS.has(given)) return given;
  throw badBody(`unsupported format ${JSON.stringify(given)}`);
}

function readTimeout(body: Record<string, unknown>, limits: BodyLimits): number | undefined {
  const timeout = body['timeout'];
  if (timeout === undefined) return undefined;
  if (
    typeof timeout !== 'number' ||
    !Number.isInteger(timeout) ||
    timeout <= 0 ||
    timeout > limits.maxTimeout
  ) {
    throw badBody(`"timeout" must be a whole number of milliseconds from 1 to ${limits.maxTimeout}`);
  }
  return timeout;
}

function readPaths(body: Record<string, unknown>, limits: BodyLimits): Lwm2mPath[] {
  const paths = body['paths'];
  if (!Array.isArray(paths) || paths.length === 0)
    throw badBody('"paths" must be a non-empty array of paths such as "/3/0/9"');
  if (paths.length > limits.maxPaths) throw badBody(`"paths" holds more than ${limits.maxPaths} paths`);
  return paths.map((p) => {
    if (typeof p !== 'string') throw badBody(`"paths" entries must be strings, got ${JSON.stringify(p)}`);
    return parseBridgePath(p);
  });
}

const EXECUTE_ARGS = /^$|^[0-9](='[^']*')?(,[0-9](='[^']*')?)*$/;

function readExecuteArgs(body: Record<string, unknown>): ExecuteArguments | undefined {
  const args = body['args'] ?? body['payload'];
  if (args === undefined) return undefined;
  if (typeof args === 'string') {
    if (!EXECUTE_ARGS.test(args))
      throw badBody(
        `execute arguments must look like 0='text',1 (TS Core 5.4.5), got ${JSON.stringify(args)}`,
      );
    return args;
  }
  if (!isPlainObject(args))
    throw badBody('"args" must be a string or an object of argument number → text or null');
  const out: Record<number, string | undefined> = {};
  for (const [key, value] of Object.entries(args)) {
    if (!/^[0-9]$/.test(key)) throw badBody(`execute argument numbers are 0-9, got ${JSON.stringify(key)}`);
    if (value === null) out[Number(key)] = undefined;
    else if (typeof value === 'string' && !value.includes("'")) out[Number(key)] = value;
    else throw badBody(`execute argument ${key} must be text without quotes, or null`);
  }
  return out;
}

const ATTRIBUTE_KINDS: Readonly<Record<AttributeName, 'integer' | 'number' | 'flag'>> = {
  pmin: 'integer',
  pmax: 'integer',
  epmin: 'integer',
  epmax: 'integer',
  hqmax: 'integer',
  gt: 'number',
  lt: 'number',
  st: 'number',
  edge: 'flag',
  con: 'flag',
};

function readAttributes(body: Record<string, unknown>): {
  set: NotificationAttributes;
  unset: AttributeName[];
} {
  const attributes = body['attributes'];
  if (!isPlainObject(attributes) || Object.keys(attributes).length === 0) {
    throw badBody(
      '"attributes" must be an object such as {"pmin": 10, "pmax": 60, "st": null} (null removes one)',
    );
  }
  const set: Record<string, number> = {};
  const unset: AttributeName[] = [];
  for (const [name, value] of Object.entries(attributes)) {
    const kind = (ATTRIBUTE_KINDS as Record<string, string | undefined>)[name];
    if (kind === undefined)
      throw badBody(
        `unknown attribute ${JSON.stringify(name)}; known: ${Object.keys(ATTRIBUTE_KINDS).join(', ')}`,
      );
    if (value === null) {
      unset.push(name as AttributeName);
      continue;
    }
    const ok =
      typeof value === 'number' &&
      Number.isFinite(value) &&
      (kind === 'number' ||
        (kind === 'integer' ? Number.isSafeInteger(value) && value >= 0 : value === 0 || value === 1));
    if (!ok)
      throw badBody(
        `attribute ${name} must be ${kind === 'flag' ? '0 or 1' : kind === 'integer' ? 'a non-negative integer' : 'a number'} or null`,
      );
    set[name] = value as number;
  }
  return { set: set as NotificationAttributes, unset };
}

function readValue(body: Record<string, unknown>): unknown {
  return body['value'] !== undefined ? body['value'] : body['payload'];
}

/**
 * Checks a request body against its method and converts values to nodes (typed from the object
 * registry). Unknown fields are refused, so a misspelt `vaule` fails instead of writing nothing.
 */
export function parseRequest(
  topic: RequestTopic,
  body: Record<string, unknown>,
  registry: ObjectRegistry,
  limits: BodyLimits,
): BridgeRequest {
  const { method, path, endpoint } = topic;
  const allowed = FIELDS[method];
  for (const key of Object.keys(body)) {
    if (!COMMON_FIELDS.includes(key) && !allowed.includes(key)) {
      throw badBody(
        `unexpected field ${JSON.stringify(key)} for ${method}; allowed: ${[...COMMON_FIELDS, ...allowed].join(', ')}`,
      );
    }
  }
  const id = body['id'];
  if (id !== undefined && readRequestId(body) === undefined)
    throw badBody('"id" must be a string of up to 256 characters or a number');
  if (body['value'] !== undefined && body['payload'] !== undefined)
    throw badBody('give "value" or "payload", not both');
  checkDepth(method, path);
  const common: Common = { endpoint, id: readRequestId(body), timeout: readTimeout(body, limits) };
  switch (method) {
    case 'GET':
    case 'OBSERVE':
      return { ...common, method, path, format: readFormat(body) };
    case 'PUT':
      return {
        ...common,
        method,
        path,
        node: jsonToNode(path, readValue(body), registry),
        format: readFormat(body),
      };
    case 'POST': {
      if (path.length === 3 && body['value'] === undefined) {
        if (body['format'] !== undefined || body['options'] !== undefined)
          throw badBody('execute takes no format');
        return { ...common, method, path, action: 'execute', args: readExecuteArgs(body) };
      }
      if (body['args'] !== undefined)
        throw badBody('"args" is for execute (POST on a resource without a value)');
      return {
        ...common,
        method,
        path,
        action: 'update',
        node: jsonToNode(path, readValue(body), registry),
        format: readFormat(body),
      };
    }
    case 'DELETE':
    case 'DISCOVER':
    case 'CANCEL-OBSERVE':
      return { ...common, method, path };
    case 'CREATE': {
      const instance = body['instance'];
      if (
        instance !== undefined &&
        (typeof instance !== 'number' || !Number.isInteger(instance) || instance < 0 || instance > 65534)
      ) {
        throw badBody('"instance" must be an instance id from 0 to 65534');
      }
      const value = readValue(body) ?? {};
      // Checked now with a stand-in id, so a bad value fails before the device is asked anything.
      instanceFromJson(path[0] as number, 0, value, registry, formatPath(path));
      return { ...common, method, path, instance, value, format: readFormat(body) };
    }
    case 'WRITE-ATTRIBUTES':
      return { ...common, method, path, ...readAttributes(body) };
    case 'READ-COMPOSITE':
    case 'OBSERVE-COMPOSITE':
      return { ...common, method, paths: readPaths(body, limits), format: readFormat(body) };
    case 'CANCEL-OBSERVE-COMPOSITE':
      return { ...common, method, paths: readPaths(body, limits) };
    case 'WRITE-COMPOSITE': {
      const values = body['values'];
      if (!isPlainObject(values) || Object.keys(values).length === 0)
        throw badBody('"values" must be a non-empty object of path → value');
      if (Object.keys(values).length > limits.maxPaths)
        throw badBody(`"values" holds more than ${limits.maxPaths} paths`);
      const nodes = new Map<string, Lwm2mNode>();
      for (const [text, json] of Object.entries(values)) {
        const target = parseBridgePath(text);
        if (target.length < 2)
          throw new BridgeRequestError(
            'ERR_BAD_PATH',
            '4.00',
            `WRITE-COMPOSITE writes instances, resources or resource instances, not ${text}`,
          );
        nodes.set(formatPath(target), jsonToNode(target, json, registry));
      }
      return { ...common, method, nodes, format: readFormat(body) };
    }
  }
}

/** The instance node of a CREATE once its id is known. */
export function createInstance(
  request: Extract<BridgeRequest, { method: 'CREATE' }>,
  instanceId: number,
  registry: ObjectRegistry,
): ObjectInstanceNode {
  return instanceFromJson(
    request.path[0] as number,
    instanceId,
    request.value,
    registry,
    formatPath(request.path),
  );
}
