import { DecodeError, EncodeError } from '@lwm2m/core';
import type { ResourceType, ResourceValue } from '@lwm2m/core';
import fc from 'fast-check';
import {
  INT64_MAX,
  INT64_MIN,
  UINT64_MAX,
  checkValue,
  inferType,
  normalizeInteger,
  numberToTyped,
  timeToSeconds,
  valueFromText,
  valueToText,
} from './value-types.js';

describe('valueToText / valueFromText (LwM2M TS Core text/plain rules)', () => {
  const cases: [ResourceType, ResourceValue, string][] = [
    ['string', 'Open Mobile Alliance', 'Open Mobile Alliance'],
    ['integer', 100, '100'],
    ['integer', -42, '-42'],
    ['integer', INT64_MIN, '-9223372036854775808'],
    ['unsigned', UINT64_MAX, '18446744073709551615'],
    ['float', -12.34, '-12.34'],
    ['float', 3.5, '3.5'],
    ['float', -0, '-0'],
    ['float', 1e21, '1e+21'],
    ['boolean', true, '1'],
    ['boolean', false, '0'],
    ['time', new Date(1367491215000), '1367491215'],
    ['objlnk', { objectId: 3, instanceId: 0 }, '3:0'],
    ['objlnk', { objectId: 65535, instanceId: 65535 }, '65535:65535'],
    ['opaque', new Uint8Array([1, 2, 3, 4, 5]), 'AQIDBAU='],
    ['corelnk', '</3/0>;ct=11543', '</3/0>;ct=11543'],
  ];
  it.each(cases)('%s %p <-> %s', (type, value, text) => {
    expect(valueToText(type, value)).toBe(text);
    expect(valueFromText(type, text)).toEqual(value);
  });

  it('reads the lenient forms peers send', () => {
    expect(valueFromText('integer', '+7')).toBe(7);
    expect(valueFromText('float', '1e3')).toBe(1000);
    expect(valueFromText('float', '-.5')).toBe(-0.5);
    expect(valueFromText('float', '12')).toBe(12);
    expect(valueFromText('boolean', 'true')).toBe(true);
    expect(valueFromText('boolean', 'false')).toBe(false);
    expect(valueFromText('unsigned', '9007199254740993')).toBe(9007199254740993n);
  });

  it.each<[ResourceType, string]>([
    ['integer', '9223372036854775808'],
    ['integer', '1.5'],
    ['integer', ''],
    ['integer', '12a'],
    ['unsigned', '-1'],
    ['unsigned', '18446744073709551616'],
    ['float', 'NaN'],
    ['float', '1,5'],
    ['float', ''],
    ['boolean', '2'],
    ['boolean', ''],
    ['time', '1.5'],
    ['time', '99999999999999999'],
    ['objlnk', '3'],
    ['objlnk', '3:65536'],
    ['opaque', "!,-INVALID$_'"],
    ['opaque', 'A'],
    ['none', ''],
  ])('rejects %s %p with DecodeError', (type, text) => {
    expect(() => valueFromText(type, text, 0)).toThrow(DecodeError);
    try {
      valueFromText(type, text, 0);
    } catch (e) {
      expect((e as DecodeError).format).toBe(0);
    }
  });

  it('rejects long hostile numbers quickly', () => {
    const digits = '1'.repeat(200_000);
    const start = Date.now();
    expect(() => valueFromText('float', digits + 'x')).toThrow(DecodeError);
    expect(() => valueFromText('integer', digits)).toThrow(DecodeError);
    expect(() => valueFromText('time', digits)).toThrow(DecodeError);
    expect(Date.now() - start).toBeLessThan(500);
  });

  it('refuses values without a text form', () => {
    expect(() => valueToText('float', Number.NaN)).toThrow(EncodeError);
    expect(() => valueToText('float', Number.POSITIVE_INFINITY)).toThrow(EncodeError);
    expect(() => valueToText('none', '')).toThrow(EncodeError);
  });

  it('round-trips integers, unsigned and floats through text', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: INT64_MIN, max: INT64_MAX }), (n) => {
        const v = normalizeInteger(n);
        expect(valueFromText('integer', valueToText('integer', v))).toEqual(v);
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: UINT64_MAX }), (n) => {
        const v = normalizeInteger(n);
        expect(valueFromText('unsigned', valueToText('unsigned', v))).toEqual(v);
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (n) => {
        expect(valueFromText('float', valueToText('float', n))).toBe(n);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        expect(valueFromText('opaque', valueToText('opaque', bytes))).toEqual(bytes);
      }),
      { numRuns: 200 },
    );
  });
});

describe('checkValue', () => {
  it.each<[ResourceType, unknown]>([
    ['string', 'x'],
    ['corelnk', '</1>'],
    ['integer', -1],
    ['integer', INT64_MIN],
    ['integer', INT64_MAX],
    ['unsigned', 0],
    ['unsigned', UINT64_MAX],
    ['float', 1.5],
    ['float', 2],
    ['boolean', false],
    ['opaque', new Uint8Array(0)],
    ['time', new Date(0)],
    ['objlnk', { objectId: 0, instanceId: 65535 }],
  ])('accepts %s %p', (type, value) => {
    expect(() => checkValue(type, value)).not.toThrow();
  });

  it.each<[ResourceType, unknown]>([
    ['string', 1],
    ['integer', 1.5],
    ['integer', 2 ** 60],
    ['integer', INT64_MAX + 1n],
    ['integer', '1'],
    ['unsigned', -1],
    ['unsigned', UINT64_MAX + 1n],
    ['unsigned', -1n],
    ['float', 1n],
    ['boolean', 1],
    ['opaque', [1, 2]],
    ['time', new Date(Number.NaN)],
    ['time', 0],
    ['objlnk', { objectId: 65536, instanceId: 0 }],
    ['objlnk', { objectId: 1.5, instanceId: 0 }],
    ['objlnk', '3:0'],
    ['none', ''],
  ])('rejects %s %p with EncodeError', (type, value) => {
    expect(() => checkValue(type, value, 42)).toThrow(EncodeError);
  });
});

describe('numberToTyped', () => {
  it('converts decoded numbers to the resource type', () => {
    expect(numberToTyped('integer', 5)).toBe(5);
    expect(numberToTyped('integer', 5n)).toBe(5);
    expect(numberToTyped('integer', -(2n ** 60n))).toBe(-(2n ** 60n));
    expect(numberToTyped('integer', 2 ** 60)).toBe(2n ** 60n);
    expect(numberToTyped('unsigned', UINT64_MAX)).toBe(UINT64_MAX);
    expect(numberToTyped('float', 7)).toBe(7);
    expect(numberToTyped('float', 2n ** 70n)).toBe(2 ** 70);
    expect(numberToTyped('time', 1367491215)).toEqual(new Date(1367491215000));
    expect(numberToTyped('time', 1367491215.7)).toEqual(new Date(1367491215000));
    expect(numberToTyped('time', -1n)).toEqual(new Date(-1000));
  });

  it.each<[ResourceType, number | bigint]>([
    ['integer', 1.5],
    ['integer', INT64_MAX + 1n],
    ['integer', 2 ** 64],
    ['unsigned', -1],
    ['unsigned', UINT64_MAX + 1n],
    ['time', 1e15],
    ['time', Number.NaN],
    ['string', 1],
    ['boolean', 1],
    ['opaque', 1],
  ])('rejects %s %p with DecodeError', (type, n) => {
    expect(() => numberToTyped(type, n)).toThrow(DecodeError);
  });
});

describe('inferType', () => {
  it.each<[ResourceValue, ResourceType]>([
    ['a', 'string'],
    [1, 'integer'],
    [1.5, 'float'],
    [-(2n ** 63n), 'integer'],
    [2n ** 63n, 'unsigned'],
    [true, 'boolean'],
    [new Uint8Array(1), 'opaque'],
    [new Date(0), 'time'],
    [{ objectId: 1, instanceId: 2 }, 'objlnk'],
  ])('%p is %s', (value, type) => {
    expect(inferType(value)).toBe(type);
  });

  it('refuses what is not a resource value', () => {
    expect(() => inferType(null as unknown as ResourceValue)).toThrow(EncodeError);
    expect(() => inferType({} as unknown as ResourceValue)).toThrow(EncodeError);
  });
});

describe('timeToSeconds', () => {
  it('rounds down to whole seconds, also before 1970', () => {
    expect(timeToSeconds(new Date(1500))).toBe(1);
    expect(timeToSeconds(new Date(-1500))).toBe(-2);
  });
});
