import { ContentFormat } from '@lwm2m/core';
import type { Lwm2mPath, ObjectRegistry, ResourceType } from '@lwm2m/core';
import type { Registration } from './registration.js';

/**
 * Which content format to use with a client when the caller does not say, decided from its
 * registration (TS Core §7.4 / Leshan):
 * - one value (a single resource or a resource instance): text/plain, or opaque for an opaque
 *   resource. Every version makes both mandatory (1.0 in practice, 1.1+ in the text), where TLV
 *   is only mandatory in 1.0 and SHOULD NOT be used by 1.1+ clients; Leshan moved its demo off
 *   TLV for single values for that reason (leshan#1727).
 * - several values: LwM2M 1.0 → TLV (the one mandatory format). 1.1+ → the best format the client
 *   advertised with `ct`: SenML CBOR, then SenML JSON, then LwM2M CBOR (1.2), then TLV. A 1.1+
 *   client that advertised nothing gets TLV, as Leshan does: it is what such clients still speak.
 * - composite (Read/Write/Observe-Composite): SenML CBOR unless the client advertised only SenML JSON.
 */
export function multiValueFormat(registration: Registration): number {
  if (registration.version === '1.0') return ContentFormat.TLV;
  const formats = registration.supportedFormats;
  if (formats === undefined) return ContentFormat.TLV;
  if (formats.includes(ContentFormat.SENML_CBOR)) return ContentFormat.SENML_CBOR;
  if (formats.includes(ContentFormat.SENML_JSON)) return ContentFormat.SENML_JSON;
  if (registration.version === '1.2' && formats.includes(ContentFormat.LWM2M_CBOR))
    return ContentFormat.LWM2M_CBOR;
  return ContentFormat.TLV;
}

export function compositeFormat(registration: Registration): number {
  const formats = registration.supportedFormats;
  if (
    formats !== undefined &&
    !formats.includes(ContentFormat.SENML_CBOR) &&
    formats.includes(ContentFormat.SENML_JSON)
  ) {
    return ContentFormat.SENML_JSON;
  }
  return ContentFormat.SENML_CBOR;
}

/** True when the path holds one value: a resource instance, or a resource the model says is single. */
export function isSingleValuePath(path: Lwm2mPath, registry: ObjectRegistry): boolean {
  if (path.length === 4) return true;
  if (path.length !== 3) return false;
  const resource = registry.getResource(path[0], path[2]);
  // Unknown resources are taken as single: that is what a path to a resource usually means.
  return resource === undefined || !resource.multiple;
}

export function resourceTypeAt(path: Lwm2mPath, registry: ObjectRegistry): ResourceType | undefined {
  if (path.length < 3) return undefined;
  return registry.getResource(path[0] as number, path[2] as number)?.type;
}

/** The format to write `path` in, or to ask for when reading it, when the caller did not choose. */
export function defaultFormat(registration: Registration, path: Lwm2mPath, registry: ObjectRegistry): number {
  if (isSingleValuePath(path, registry)) {
    return resourceTypeAt(path, registry) === 'opaque' ? ContentFormat.OPAQUE : ContentFormat.TEXT;
  }
  return multiValueFormat(registration);
}
