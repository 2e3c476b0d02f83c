import {
  MAX_ID,
  createCoreObjectRegistry,
  formatObjectLink,
  isObjectLink,
  multipleResource,
  objectInstance,
  parseObjectLink,
  singleResource,
} from '@lwm2m/core';
import type {
  ObjectInstanceNode,
  ObjectRegistry,
  ResourceNode,
  ResourceType,
  ResourceValue,
} from '@lwm2m/core';
import type {
  BootstrapConfig,
  ExtraInstanceConfig,
  OscoreInstanceConfig,
  SecurityInstanceConfig,
  ServerInstanceConfig,
} from './config.js';
import { bootstrapConfigProblems } from './config-validation.js';
import { BootstrapConfigError } from './errors.js';

/** JSON as `JSON.parse` gives it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
type JsonObject = { [key: string]: JsonValue };

export interface ParseConfigOptions {
  /** Types bare resource values of `objects`; the core objects by default. */
  readonly registry?: ObjectRegistry;
  /** Named in error messages, e.g. the endpoint or the file. */
  readonly context?: string;
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;
const RESOURCE_TYPES: ReadonlySet<string> = new Set([
  'string',
  'integer',
  'unsigned',
  'float',
  'boolean',
  'opaque',
  'time',
  'objlnk',
  'corelnk',
]);

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Reads one JSON config; every problem is collected, then thrown together. */
class ConfigReader {
  readonly problems: string[] = [];
  readonly #registry: ObjectRegistry;

  constructor(registry: ObjectRegistry) {
    this.#registry = registry;
  }

  bytes(value: JsonValue | undefined, at: string): Uint8Array {
    if (typeof value === 'string' && HEX.test(value)) return new Uint8Array(Buffer.from(value, 'hex'));
    this.problems.push(`${at} must be a hex string`);
    return new Uint8Array(0);
  }

  optionalBytes(value: JsonValue | undefined, at: string): Uint8Array | undefined {
    return value === undefined ? undefined : this.bytes(value, at);
  }

  copy<T extends object>(target: T, source: JsonObject, names: readonly string[]): T {
    for (const name of names)
      if (source[name] !== undefined) (target as Record<string, unknown>)[name] = source[name];
    return target;
  }

  security(json: JsonValue, at: string): SecurityInstanceConfig {
    if (!isObject(json)) {
      this.problems.push(`${at} is not an object`);
      return { uri: '', mode: 'nosec' };
    }
    const base = this.copy({} as Record<string, unknown>, json, [
      'instanceId',
      'uri',
      'bootstrap',
      'ssid',
      'holdOffTime',
      'accountTimeout',
      'oscoreInstanceId',
      'mode',
    ]);
    switch (json['mode']) {
      case 'psk':
        return {
          ...base,
          identity: json['identity'],
          key: this.bytes(json['key'], `${at}.key`),
        } as SecurityInstanceConfig;
      case 'rpk':
        return {
          ...base,
          publicKey: this.bytes(json['publicKey'], `${at}.publicKey`),
          privateKey: this.bytes(json['privateKey'], `${at}.privateKey`),
          serverPublicKey: this.bytes(json['serverPublicKey'], `${at}.serverPublicKey`),
        } as SecurityInstanceConfig;
      case 'x509':
        return this.copy(
          {
            ...base,
            certificate: this.bytes(json['certificate'], `${at}.certificate`),
            privateKey: this.bytes(json['privateKey'], `${at}.privateKey`),
            serverCertificate: this.bytes(json['serverCertificate'], `${at}.serverCertificate`),
          },
          json,
          ['commonName', 'certificateUsage', 'serverNameIndication'],
        ) as SecurityInstanceConfig;
      default:
        // nosec, or a bad mode the validation names.
        return base as unknown as SecurityInstanceConfig;
    }
  }

  oscore(json: JsonValue, at: string): OscoreInstanceConfig {
    if (!isObject(json)) {
      this.problems.push(`${at} is not an object`);
      return { masterSecret: new Uint8Array(0), senderId: new Uint8Array(0), recipientId: new Uint8Array(0) };
    }
    const out: Record<string, unknown> = this.copy({}, json, [
      'instanceId',
      'aeadAlgorithm',
      'hmacAlgorithm',
    ]);
    out['masterSecret'] = this.bytes(json['masterSecret'], `${at}.masterSecret`);
    out['senderId'] = this.bytes(json['senderId'], `${at}.senderId`);
    out['recipientId'] = this.bytes(json['recipientId'], `${at}.recipientId`);
    const salt = this.optionalBytes(json['masterSalt'], `${at}.masterSalt`);
    if (salt !== undefined) out['masterSalt'] = salt;
    const idContext = this.optionalBytes(json['idContext'], `${at}.idContext`);
    if (idContext !== undefined) out['idContext'] = idContext;
    return out as unknown as OscoreInstanceConfig;
  }

  value(type: ResourceType, json: JsonValue | undefined, at: string): ResourceValue | undefined {
    switch (type) {
      case 'string':
      case 'corelnk':
        if (typeof json === 'string') return json;
        break;
      case 'integer':
      case 'unsigned':
        if (typeof json === 'number' && Number.isSafeInteger(json) && (type === 'integer' || json >= 0))
          return json;
        if (typeof json === 'string' && (type === 'integer' ? /^-?[0-9]+$/ : /^[0-9]+$/).test(json))
          return BigInt(json);
        break;
      case 'float':
        if (typeof json === 'number') return json;
        break;
      case 'boolean':
        if (typeof json === 'boolean') return json;
        break;
      case 'opaque':
        if (typeof json === 'string' && HEX.test(json)) return new Uint8Array(Buffer.from(json, 'hex'));
        break;
      case 'time':
        if (typeof json === 'number' && Number.isSafeInteger(json)) return new Date(json * 1000);
        if (typeof json === 'string' && !Number.isNaN(Date.parse(json)))
          return new Date(Math.floor(Date.parse(json) / 1000) * 1000);
        break;
      case 'objlnk': {
        const link = typeof json === 'string' ? parseObjectLink(json) : undefined;
        if (link !== undefined) return link;
        break;
      }
      case 'none':
        break;
    }
    const expected =
      type === 'opaque'
        ? 'a hex string'
        : type === 'objlnk'
          ? 'an object link such as "3:0"'
          : `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type} value`;
    this.problems.push(`${at} must be ${expected}`);
    return undefined;
  }

  inferredType(json: JsonValue): ResourceType {
    if (typeof json === 'boolean') return 'boolean';
    if (typeof json === 'number') return Number.isInteger(json) ? 'integer' : 'float';
    return 'string';
  }

  resource(objectId: number, id: number, json: JsonValue, at: string): ResourceNode | undefined {
    const definition = this.#registry.getResource(objectId, id);
    let type: ResourceType | undefined = definition?.type;
    let body: JsonValue = json;
    let multiple = definition?.multiple ?? Array.isArray(json);
    if (isObject(json) && typeof json['type'] === 'string') {
      if (!RESOURCE_TYPES.has(json['type'])) {
        this.problems.push(`${at}.type must be one of ${[...RESOURCE_TYPES].join(', ')}`);
        return undefined;
      }
      type = json['type'] as ResourceType;
      multiple = json['instances'] !== undefined;
      body = (multiple ? json['instances'] : json['value']) ?? null;
    }
    if (multiple) {
      const entries: [number, JsonValue][] = Array.isArray(body)
        ? body.map((v, i) => [i, v])
        : isObject(body)
          ? Object.entries(body).map(([k, v]) => [/^(0|[1-9][0-9]*)$/.test(k) ? Number(k) : -1, v])
          : [];
      if (!Array.isArray(body) && !isObject(body)) {
        this.problems.push(`${at} must list the instances of a multiple resource`);
        return undefined;
      }
      const instances = new Map<number, ResourceValue>();
      const first = entries[0]?.[1];
      const instanceType = type ?? (first === undefined ? 'string' : this.inferredType(first));
      for (const [key, v] of entries) {
        if (key < 0 || key > MAX_ID) {
          this.problems.push(`${at}: resource instance ids must be 0..${MAX_ID}`);
          continue;
        }
        const value = this.value(instanceType, v, `${at}[${key}]`);
        if (value !== undefined) instances.set(key, value);
      }
      return multipleResource(id, instanceType, instances);
    }
    const resolved = type ?? this.inferredType(body);
    const value = this.value(resolved, body, at);
    return value === undefined ? undefined : singleResource(id, resolved, value);
  }

  extra(json: JsonValue, at: string): ExtraInstanceConfig | undefined {
    if (!isObject(json)) {
      this.problems.push(`${at} is not an object`);
      return undefined;
    }
    const objectId = json['objectId'];
    const instanceId = json['instanceId'];
    const resources = json['resources'];
    if (typeof objectId !== 'number' || !Number.isInteger(objectId) || objectId < 0 || objectId > MAX_ID) {
      this.problems.push(`${at}.objectId must be 0..${MAX_ID}`);
      return undefined;
    }
    if (
      typeof instanceId !== 'number' ||
      !Number.isInteger(instanceId) ||
      instanceId < 0 ||
      instanceId > MAX_ID
    ) {
      this.problems.push(`${at}.instanceId must be 0..${MAX_ID}`);
      return undefined;
    }
    if (!isObject(resources)) {
      this.problems.push(`${at}.resources must map resource ids to values`);
      return undefined;
    }
    const nodes: ResourceNode[] = [];
    for (const [key, value] of Object.entries(resources)) {
      const id = /^(0|[1-9][0-9]*)$/.test(key) ? Number(key) : -1;
      if (id < 0 || id > MAX_ID) {
        this.problems.push(`${at}.resources: ${JSON.stringify(key)} is not a resource id`);
        continue;
      }
      const node = this.resource(objectId, id, value, `${at}.resources.${key}`);
      if (node !== undefined) nodes.push(node);
    }
    return { objectId, instance: objectInstance(instanceId, nodes) };
  }

  list<T>(
    json: JsonValue | undefined,
    at: string,
    read: (item: JsonValue, at: string) => T | undefined,
  ): T[] | undefined {
    if (json === undefined) return undefined;
    if (!Array.isArray(json)) {
      this.problems.push(`${at} must be a list`);
      return undefined;
    }
    const out: T[] = [];
    json.forEach((item, i) => {
      const value = read(item, `${at}[${i}]`);
      if (value !== undefined) out.push(value);
    });
    return out;
  }
}

/**
 * Reads a configuration from its JSON form (binary fields as hex strings, `objects` as resource
 * maps) and validates it. Throws a {@link BootstrapConfigError} listing every problem.
 */
export function parseBootstrapConfig(json: unknown, options: ParseConfigOptions = {}): BootstrapConfig {
  if (!isObject(json))
    throw new BootstrapConfigError(['the configuration is not a JSON object'], options.context);
  const reader = new ConfigReader(options.registry ?? createCoreObjectRegistry());
  const config: Record<string, unknown> = reader.copy({}, json, [
    'delete',
    'discover',
    'read',
    'contentFormat',
  ]);
  config['security'] =
    reader.list(json['security'], 'security', (item, at) => reader.security(item, at)) ?? [];
  config['servers'] =
    reader.list(json['servers'], 'servers', (item) => item as unknown as ServerInstanceConfig) ?? [];
  if (json['security'] === undefined) reader.problems.push('security must be a list');
  if (json['servers'] === undefined) reader.problems.push('servers must be a list');
  const oscore = reader.list(json['oscore'], 'oscore', (item, at) => reader.oscore(item, at));
  if (oscore !== undefined) config['oscore'] = oscore;
  const objects = reader.list(json['objects'], 'objects', (item, at) => reader.extra(item, at));
  if (objects !== undefined) config['objects'] = objects;
  const typed = config as unknown as BootstrapConfig;
  const problems = [
    ...reader.problems,
    ...(reader.problems.length === 0 ? bootstrapConfigProblems(typed) : []),
  ];
  if (problems.length > 0) throw new BootstrapConfigError(problems, options.context);
  return typed;
}

function valueToJson(type: ResourceType, value: ResourceValue): JsonValue {
  if (value instanceof Uint8Array) return toHex(value);
  if (value instanceof Date) return Math.floor(value.getTime() / 1000);
  if (typeof value === 'bigint') return value.toString();
  if (isObjectLink(value)) return formatObjectLink(value);
  return type === 'none' ? null : value;
}

function instanceToJson(objectId: number, node: ObjectInstanceNode): JsonObject {
  const resources: JsonObject = {};
  for (const resource of node.resources.values()) {
    if (resource.kind === 'resource') {
      resources[String(resource.id)] = {
        type: resource.type,
        value: valueToJson(resource.type, resource.value),
      };
    } else {
      const instances: JsonObject = {};
      for (const [id, v] of resource.instances) instances[String(id)] = valueToJson(resource.type, v);
      resources[String(resource.id)] = { type: resource.type, instances };
    }
  }
  return { objectId, instanceId: node.id, resources };
}

/** The JSON form {@link parseBootstrapConfig} reads back: what JSON files and Redis hold. */
export function bootstrapConfigToJson(config: BootstrapConfig): JsonObject {
  const encode = (value: unknown): JsonValue => {
    if (value instanceof Uint8Array) return toHex(value);
    if (Array.isArray(value)) return value.map(encode);
    if (isObject(value)) {
      const out: JsonObject = {};
      for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = encode(v);
      return out;
    }
    return value as JsonValue;
  };
  const out: JsonObject = {};
  if (config.delete !== undefined) out['delete'] = [...config.delete];
  if (config.discover !== undefined) out['discover'] = config.discover;
  if (config.read !== undefined) out['read'] = [...config.read];
  if (config.contentFormat !== undefined) out['contentFormat'] = config.contentFormat;
  out['security'] = config.security.map(encode);
  out['servers'] = config.servers.map(encode);
  if (config.oscore !== undefined) out['oscore'] = config.oscore.map(encode);
  if (config.objects !== undefined)
    out['objects'] = config.objects.map((o) => instanceToJson(o.objectId, o.instance));
  return out;
}
