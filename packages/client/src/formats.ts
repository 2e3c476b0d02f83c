import { ContentFormat, canonicalContentFormat, pathLevel } from '@lwm2m/core';
import type { Lwm2mNode, Lwm2mPath } from '@lwm2m/core';
import type { Lwm2mCodec } from '@lwm2m/codecs';
import { NotAcceptableError } from './errors.js';

export type Lwm2mVersion = '1.0' | '1.1' | '1.2';

/** The format for object and instance payloads when the server sends no Accept. */
export function defaultFormat(version: Lwm2mVersion): number {
  return version === '1.0' ? ContentFormat.TLV : ContentFormat.SENML_CBOR;
}

/** Formats listed in `ct` of the registration (beyond the mandatory text, opaque and link). */
export function advertisedFormats(version: Lwm2mVersion): number[] {
  if (version === '1.0') return [];
  const formats: number[] = [
    ContentFormat.CBOR,
    ContentFormat.SENML_JSON,
    ContentFormat.SENML_CBOR,
    ContentFormat.TLV,
    ContentFormat.JSON,
  ];
  if (version === '1.2') formats.push(ContentFormat.LWM2M_CBOR);
  return formats;
}

/**
 * The format of a response: the Accept when the codec can carry the node in it (else 4.06), or
 * text/plain (opaque: octet-stream) for a single value and the version's default for the rest.
 */
export function responseFormat(
  codec: Lwm2mCodec,
  version: Lwm2mVersion,
  accept: number | undefined,
  path: Lwm2mPath,
  node: Lwm2mNode,
): number {
  const level = pathLevel(path);
  if (accept !== undefined) {
    const format = canonicalContentFormat(accept);
    if (!codec.supports(format, level) || format === ContentFormat.LINK) {
      throw new NotAcceptableError(`content format ${accept} cannot carry ${level} ${path.join('/')}`);
    }
    if (
      format === ContentFormat.OPAQUE &&
      !((node.kind === 'resource' || node.kind === 'resourceInstance') && node.type === 'opaque')
    ) {
      throw new NotAcceptableError(`content format ${accept} does not fit this ${node.kind}`);
    }
    if (
      (format === ContentFormat.TEXT || format === ContentFormat.CBOR) &&
      node.kind === 'multipleResource'
    ) {
      throw new NotAcceptableError(`content format ${accept} cannot carry a multiple-instance resource`);
    }
    return format;
  }
  if (node.kind === 'resource' || node.kind === 'resourceInstance') {
    return node.type === 'opaque' ? ContentFormat.OPAQUE : ContentFormat.TEXT;
  }
  return defaultFormat(version);
}
