import { decodeUtf8, encodeUtf8 } from './utf8.js';

describe('utf8', () => {
  it.each(['', 'rd', '3303', 'ep=node-1&lt=60', 'é', 'päth', '€uro', '😀', 'x'.repeat(33), 'é'.repeat(40)])(
    'round-trips %j like TextEncoder/TextDecoder',
    (text) => {
      const bytes = encodeUtf8(text);
      expect(bytes).toEqual(new TextEncoder().encode(text));
      expect(decodeUtf8(bytes)).toBe(text);
    },
  );

  it('decodes invalid UTF-8 with replacement characters, short or long', () => {
    expect(decodeUtf8(Uint8Array.of(0x61, 0xff))).toBe('a\ufffd');
    expect(decodeUtf8(new Uint8Array(40).fill(0xc3))).toBe(
      new TextDecoder().decode(new Uint8Array(40).fill(0xc3)),
    );
  });
});
