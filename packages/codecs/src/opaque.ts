/**
 * application/octet-stream (content format 42, LwM2M TS Core §7.3.2): the raw bytes of one opaque
 * resource or resource instance. Only for resources the model types as opaque (or does not know).
 */
import { ContentFormat, DecodeError, EncodeError, formatPath } from '@lwm2m/core';
import type { Lwm2mNode, Lwm2mPath, PathLevel } from '@lwm2m/core';
import type { CodecContext, NodeFormat } from './types.js';
import { expectSingleValue, singleValueNode, singleValueType } from './value-types.js';

const FORMAT = ContentFormat.OPAQUE;
const LEVELS: ReadonlySet<PathLevel> = new Set<PathLevel>(['resource', 'resourceInstance']);

/** The payload is the value's own bytes, not a copy: firmware images can be large. */
function encode(node: Lwm2mNode, path: Lwm2mPath): Uint8Array {
  const single = expectSingleValue(node, path, FORMAT);
  if (single.type !== 'opaque') {
    throw new EncodeError(
      `content format 42 carries opaque values only; ${formatPath(path)} is ${single.type}`,
      {
        format: FORMAT,
      },
    );
  }
  const value = single.value;
  if (!(value instanceof Uint8Array)) {
    throw new EncodeError(`opaque value of ${formatPath(path)} must be a Uint8Array`, { format: FORMAT });
  }
  return value;
}

/** The value is a view on the payload (no copy), as a plain Uint8Array even when given a Buffer. */
function decode(payload: Uint8Array, path: Lwm2mPath, context: CodecContext): Lwm2mNode {
  const type = singleValueType(path, context.registry, FORMAT) ?? 'opaque';
  if (type !== 'opaque') {
    throw new DecodeError(`content format 42 carries opaque values only; ${formatPath(path)} is ${type}`, {
      format: FORMAT,
    });
  }
  return singleValueNode(
    path,
    'opaque',
    new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength),
  );
}

export const opaqueFormat: NodeFormat = { id: FORMAT, levels: LEVELS, encode, decode };
