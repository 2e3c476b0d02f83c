import {
  CoapOptionNumber,
  decodeUint,
  encodeUint,
  firstUnknownCriticalOption,
  getStringOptions,
  getUintOption,
  isCriticalOption,
  isNoCacheKeyOption,
  isUnsafeOption,
  splitPath,
  splitQuery,
  stringOption,
  uintOption,
} from './options.js';

describe('options', () => {
  it('encodes uints in the fewest bytes, 0 as empty (RFC 7252 §3.2)', () => {
    expect([...encodeUint(0)]).toEqual([]);
    expect([...encodeUint(60)]).toEqual([60]);
    expect([...encodeUint(11542)]).toEqual([0x2d, 0x16]);
    expect([...encodeUint(0xffffff)]).toEqual([0xff, 0xff, 0xff]);
    expect([...encodeUint(0xffffffff)]).toEqual([0xff, 0xff, 0xff, 0xff]);
    for (const value of [0, 1, 255, 256, 65535, 65536, 2 ** 24, 2 ** 32 - 1])
      expect(decodeUint(encodeUint(value))).toBe(value);
  });

  it('classifies option numbers by their bits (RFC 7252 §5.4.6, Table 4)', () => {
    // Table 4: Uri-Host 3 C U; ETag 4 elective safe; Uri-Path 11 C U; Max-Age 14 U; Size1 60 NoCacheKey
    expect(isCriticalOption(CoapOptionNumber.URI_HOST)).toBe(true);
    expect(isUnsafeOption(CoapOptionNumber.URI_HOST)).toBe(true);
    expect(isCriticalOption(CoapOptionNumber.ETAG)).toBe(false);
    expect(isUnsafeOption(CoapOptionNumber.ETAG)).toBe(false);
    expect(isCriticalOption(CoapOptionNumber.MAX_AGE)).toBe(false);
    expect(isUnsafeOption(CoapOptionNumber.MAX_AGE)).toBe(true);
    expect(isNoCacheKeyOption(CoapOptionNumber.SIZE1)).toBe(true);
    expect(isNoCacheKeyOption(CoapOptionNumber.URI_PATH)).toBe(false);
  });

  it('finds unknown critical options and ignores unknown elective ones', () => {
    expect(firstUnknownCriticalOption([uintOption(11, 1), uintOption(2048, 1)])).toBeUndefined();
    expect(firstUnknownCriticalOption([uintOption(11, 1), uintOption(2049, 1)])).toBe(2049);
    expect(firstUnknownCriticalOption([uintOption(CoapOptionNumber.BLOCK1, 1)])).toBeUndefined();
  });

  it('reads repeated string options and uints', () => {
    const options = [
      stringOption(11, 'rd'),
      stringOption(11, 'abc'),
      uintOption(12, 40),
      { number: 17, value: new Uint8Array(5) },
    ];
    expect(getStringOptions(options, 11)).toEqual(['rd', 'abc']);
    expect(getUintOption(options, 12)).toBe(40);
    expect(getUintOption(options, 17)).toBeUndefined();
    expect(getUintOption(options, 6)).toBeUndefined();
  });

  it('splits paths and queries', () => {
    expect(splitPath('/rd/5a3f')).toEqual(['rd', '5a3f']);
    expect(splitPath('/')).toEqual([]);
    expect(splitPath('')).toEqual([]);
    expect(splitPath(['3', '0'])).toEqual(['3', '0']);
    expect(splitQuery('?ep=a&lt=60&b')).toEqual(['ep=a', 'lt=60', 'b']);
    expect(splitQuery('')).toEqual([]);
  });
});
