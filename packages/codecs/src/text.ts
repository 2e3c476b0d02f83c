/**
 * text/plain (content format 0, LwM2M TS Core §7.3.1): one resource or resource-instance value as
 * UTF-8 text. The model gives the type; a resource the model does not know decodes as a string.
 */
import { ContentFormat, DecodeError } from '@lwm2m/core';
import type { Lwm2mNode, Lwm2mPath, PathLevel } from '@lwm2m/core';
import type { CodecContext, NodeFormat } from './types.js';
import {
  expectSingleValue,
  singleValueNode,
  singleValueType,
  valueFromText,
  valueToText,
} from './value-types.js';

const FORMAT = ContentFormat.TEXT;
const LEVELS: ReadonlySet<PathLevel> = new Set<PathLevel>(['resource', 'resourceInstance']);
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function encode(node: Lwm2mNode, path: Lwm2mPath): Uint8Array {
  const single = expectSingleValue(node, path, FORMAT);
  return encoder.encode(valueToText(single.type, single.value, FORMAT));
}

function decode(payload: Uint8Array, path: Lwm2mPath, context: CodecContext): Lwm2mNode {
  const type = singleValueType(path, context.registry, FORMAT) ?? 'string';
  let text: string;
  try {
    text = decoder.decode(payload);
  } catch (cause) {
    throw new DecodeError('text/plain payload is not valid UTF-8', { format: FORMAT, cause });
  }
  return singleValueNode(path, type, valueFromText(type, text, FORMAT));
}

export const textFormat: NodeFormat = { id: FORMAT, levels: LEVELS, encode, decode };
