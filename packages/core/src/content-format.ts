/** IANA CoAP Content-Format numbers used by LwM2M. */
export const ContentFormat = {
  TEXT: 0,
  LINK: 40,
  OPAQUE: 42,
  CBOR: 60,
  SENML_JSON: 110,
  SENML_CBOR: 112,
  TLV: 11542,
  JSON: 11543,
  LWM2M_CBOR: 11544,
  /** Pre-registration numbers some LwM2M 1.0 clients still send. */
  LEGACY_TLV: 1542,
  LEGACY_JSON: 1543,
} as const;

export type ContentFormatId = (typeof ContentFormat)[keyof typeof ContentFormat];

const NAMES: ReadonlyMap<number, string> = new Map<number, string>([
  [0, 'text/plain'],
  [40, 'application/link-format'],
  [42, 'application/octet-stream'],
  [60, 'application/cbor'],
  [110, 'application/senml+json'],
  [112, 'application/senml+cbor'],
  [11542, 'application/vnd.oma.lwm2m+tlv'],
  [11543, 'application/vnd.oma.lwm2m+json'],
  [11544, 'application/vnd.oma.lwm2m+cbor'],
  [1542, 'application/vnd.oma.lwm2m+tlv'],
  [1543, 'application/vnd.oma.lwm2m+json'],
]);

/** The media type of a content format, or undefined for one we do not know. */
export function contentFormatName(id: number): string | undefined {
  return NAMES.get(id);
}

/** Maps the legacy 1542/1543 numbers to the registered ones; other ids pass through. */
export function canonicalContentFormat(id: number): number {
  if (id === ContentFormat.LEGACY_TLV) return ContentFormat.TLV;
  if (id === ContentFormat.LEGACY_JSON) return ContentFormat.JSON;
  return id;
}
