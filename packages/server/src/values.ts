import { isLwm2mPath, resourceInstance, singleResource } from '@lwm2m/core';
import type { Lwm2mNode, Lwm2mPath, ObjectRegistry, ResourceValue } from '@lwm2m/core';
import { inferType } from '@lwm2m/codecs';
import { InvalidRequestError } from './errors.js';

/** Execute arguments: the text as sent (`0='on',1`), or values by argument number (0-9). */
export type ExecuteArguments = string | Readonly<Record<number, string | undefined>>;

const NODE_KINDS = new Set(['object', 'objectInstance', 'resource', 'multipleResource', 'resourceInstance']);

function isNode(value: unknown): value is Lwm2mNode {
  return (
    typeof value === 'object' &&
    value !== null &&
    !(value instanceof Uint8Array) &&
    !(value instanceof Date) &&
    NODE_KINDS.has((value as { kind?: unknown }).kind as string)
  );
}

/** The node a Write sends: given as is, or a plain value typed from the registry (or inferred). */
export function buildWriteNode(
  path: Lwm2mPath,
  value: Lwm2mNode | ResourceValue,
  registry: ObjectRegistry,
): Lwm2mNode {
  if (!isLwm2mPath(path) || path.length === 0)
    throw new InvalidRequestError('write needs an object, instance, resource or resource instance path');
  if (isNode(value)) {
    const expected = [undefined, 'object', 'objectInstance', 'resource', 'resourceInstance'][path.length];
    const kind = value.kind === 'multipleResource' ? 'resource' : value.kind;
    if (kind !== expected)
      throw new InvalidRequestError(`a ${value.kind} node cannot be written at a ${expected} path`);
    return value;
  }
  if (path.length < 3)
    throw new InvalidRequestError('a plain value can only be written to a resource or resource instance');
  const definition = registry.getResource(path[0] as number, path[2] as number);
  const type = definition?.type ?? inferType(value);
  if (path.length === 4) return resourceInstance(path[3], type, value);
  if (definition?.multiple === true)
    throw new InvalidRequestError('a multiple-instance resource is written with a multipleResource node');
  return singleResource(path[2] as number, type, value);
}

/** TS Core §5.4.5: `arg[,arg]`, each `digit` or `digit='value'`. */
export function formatExecuteArguments(args: ExecuteArguments): string {
  if (typeof args === 'string') return args;
  const parts: string[] = [];
  for (const [key, value] of Object.entries(args)) {
    if (!/^[0-9]$/.test(key)) throw new InvalidRequestError(`execute argument numbers are 0-9, got ${key}`);
    if (value === undefined) {
      parts.push(key);
      continue;
    }
    if (value.includes("'")) throw new InvalidRequestError("execute argument values cannot contain '");
    parts.push(`${key}='${value}'`);
  }
  return parts.join(',');
}
