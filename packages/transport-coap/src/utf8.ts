const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Up to this length a JS loop beats a TextEncoder/TextDecoder call (measured: ~55 ns vs 90–520 ns for 5 bytes). */
const SHORT = 32;

/** UTF-8 bytes of `text`. Short ASCII text (paths, queries) is copied by hand. */
export function encodeUtf8(text: string): Uint8Array {
  const length = text.length;
  if (length > SHORT) return encoder.encode(text);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const unit = text.charCodeAt(i);
    if (unit > 0x7f) return encoder.encode(text);
    out[i] = unit;
  }
  return out;
}

/** Text of UTF-8 `bytes` (invalid sequences become U+FFFD). Short ASCII values are read by hand. */
export function decodeUtf8(bytes: Uint8Array): string {
  const length = bytes.length;
  if (length > SHORT) return decoder.decode(bytes);
  let text = '';
  for (let i = 0; i < length; i++) {
    const byte = bytes[i]!;
    if (byte > 0x7f) return decoder.decode(bytes);
    text += String.fromCharCode(byte);
  }
  return text;
}
