/** JSON that keeps Uint8Array values (DTLS public keys, certificates, PSKs) as `{ "$bytes": base64 }`. */
export function stringifyWithBytes(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v instanceof Uint8Array
      ? { $bytes: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') }
      : v,
  );
}

export function parseWithBytes(text: string): unknown {
  return JSON.parse(text, (_key, v: unknown) => {
    if (
      typeof v === 'object' &&
      v !== null &&
      typeof (v as { $bytes?: unknown }).$bytes === 'string' &&
      Object.keys(v).length === 1
    ) {
      return new Uint8Array(Buffer.from((v as { $bytes: string }).$bytes, 'base64'));
    }
    return v;
  });
}
