import { DecodeError } from '@lwm2m/core';
import { parseJson } from './json-reader.js';
import { DEFAULT_DECODE_LIMITS } from './types.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const parse = (s: string, limits = DEFAULT_DECODE_LIMITS): unknown => parseJson(utf8(s), limits, 110);

describe('parseJson', () => {
  test('values, objects as Maps, exact integers beyond 2^53', () => {
    expect(parse(' [1, -0.5, 2e3, true, false, null, "a\\"b\\u00e9"] ')).toEqual([
      1,
      -0.5,
      2000,
      true,
      false,
      null,
      'a"bé',
    ]);
    expect(parse('{"bn":"/3/0/","e":[{}]}')).toEqual(
      new Map<string, unknown>([
        ['bn', '/3/0/'],
        ['e', [new Map()]],
      ]),
    );
    expect(
      parse('[9223372036854775807, -9223372036854775808, 18446744073709551615, 123456789012345678]'),
    ).toEqual([9223372036854775807n, -9223372036854775808n, 18446744073709551615n, 123456789012345678n]);
    // A key named like an Object.prototype member is just a key.
    expect((parse('{"__proto__":1}') as Map<string, unknown>).get('__proto__')).toBe(1);
  });

  test.each([
    ['duplicate keys', '{"a":1,"a":2}', /duplicate key/],
    ['trailing characters', '[] x', /trailing/],
    ['a leading zero', '[01]', /expected/],
    ['a bare fraction', '[1.]', /bad fraction/],
    ['a bad escape', '["\\x"]', /bad escape/],
    ['a control character', '["a\nb"]', /control character/],
    ['an unterminated string', '["abc', /unterminated/],
    ['an unexpected end', '[1,', /unexpected end/],
    ['a number out of range', '[1e999]', /out of range/],
    ['a bad literal', '[tru]', /unexpected token/],
  ])('refuses %s', (_name, text, message) => {
    expect(() => parse(text)).toThrow(DecodeError);
    expect(() => parse(text)).toThrow(message);
  });

  test('invalid UTF-8, depth and value budget', () => {
    expect(() =>
      parseJson(new Uint8Array([0x5b, 0x22, 0xc3, 0x28, 0x22, 0x5d]), DEFAULT_DECODE_LIMITS, 110),
    ).toThrow(/UTF-8/);
    expect(() => parse('['.repeat(17) + ']'.repeat(17))).toThrow(/nesting deeper than 16/);
    expect(parse('['.repeat(16) + ']'.repeat(16))).toBeDefined();
    expect(() => parse('[' + '1,'.repeat(100) + '1]', { ...DEFAULT_DECODE_LIMITS, maxEntries: 2 })).toThrow(
      /too many values/,
    );
  });
});
