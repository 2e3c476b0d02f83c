import {
  DecodeError,
  EncodeError,
  multipleResource,
  objectInstance,
  resourceInstance,
  singleResource,
} from '@lwm2m/core';
import type { Lwm2mNode, Lwm2mPath, ResourceType, ResourceValue } from '@lwm2m/core';
import { decode as cborxDecode } from 'cbor-x';
import fc from 'fast-check';
import { cborFormat } from './cbor.js';
import {
  ALL_TYPES_OBJECT_ID,
  ALL_TYPES_RESOURCES,
  VALUE_TYPES,
  arbitraryValue,
  createTestContext,
} from './test-fixtures.js';

const context = createTestContext();
const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const pathOf = (type: Exclude<ResourceType, 'none'>): Lwm2mPath => [
  ALL_TYPES_OBJECT_ID,
  0,
  ALL_TYPES_RESOURCES[type],
];
const decodeAs = (type: Exclude<ResourceType, 'none'>, payload: string) =>
  (cborFormat.decode(hex(payload), pathOf(type), context) as { value: ResourceValue }).value;
const encodeAs = (type: Exclude<ResourceType, 'none'>, value: ResourceValue) =>
  toHex(cborFormat.encode(singleResource(ALL_TYPES_RESOURCES[type], type, value), pathOf(type), context));

function decodeError(payload: string, path: Lwm2mPath): DecodeError {
  try {
    cborFormat.decode(hex(payload), path, context);
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeError);
    expect((e as DecodeError).format).toBe(60);
    return e as DecodeError;
  }
  throw new Error('expected a DecodeError');
}

describe('CBOR format', () => {
  it('is content format 60 for resources and resource instances', () => {
    expect(cborFormat.id).toBe(60);
    expect([...cborFormat.levels].sort()).toEqual(['resource', 'resourceInstance']);
  });

  // RFC 8949 Appendix A examples, typed by the model.
  it.each<[Exclude<ResourceType, 'none'>, string, ResourceValue]>([
    ['integer', '00', 0],
    ['integer', '17', 23],
    ['integer', '1818', 24],
    ['integer', '1903e8', 1000],
    ['integer', '1a000f4240', 1000000],
    ['integer', '1b000000e8d4a51000', 1000000000000],
    ['integer', '20', -1],
    ['integer', '3863', -100],
    ['integer', '3903e7', -1000],
    ['integer', '3b7fffffffffffffff', -(2n ** 63n)],
    ['unsigned', '1bffffffffffffffff', 2n ** 64n - 1n],
    ['unsigned', 'c249000000000000000001', 1],
    ['integer', 'c3487fffffffffffffff', -(2n ** 63n)],
    ['float', 'f90000', 0],
    ['float', 'f98000', -0],
    ['float', 'f93c00', 1],
    ['float', 'f93e00', 1.5],
    ['float', 'f97bff', 65504],
    ['float', 'f90001', 5.960464477539063e-8],
    ['float', 'f90400', 0.00006103515625],
    ['float', 'f9c400', -4],
    ['float', 'fa47c35000', 100000],
    ['float', 'fa7f7fffff', 3.4028234663852886e38],
    ['float', 'fb3ff199999999999a', 1.1],
    ['float', 'fb7e37e43c8800759c', 1.0e300],
    ['float', 'f97c00', Infinity],
    ['float', 'f9fc00', -Infinity],
    ['float', 'f97e00', Number.NaN],
    ['float', '1864', 100],
    ['integer', 'f94500', 5],
    ['boolean', 'f4', false],
    ['boolean', 'f5', true],
    ['opaque', '40', new Uint8Array(0)],
    ['opaque', '4401020304', new Uint8Array([1, 2, 3, 4])],
    ['opaque', '5f42010243030405ff', new Uint8Array([1, 2, 3, 4, 5])],
    ['opaque', 'd74401020304', new Uint8Array([1, 2, 3, 4])],
    ['string', '60', ''],
    ['string', '6449455446', 'IETF'],
    ['string', '62c3bc', 'ü'],
    ['string', '7f657374726561646d696e67ff', 'streaming'],
    ['time', 'c11a514b67b0', new Date(1363896240000)],
    ['time', 'c1fb41d452d9ec200000', new Date(1363896240000)],
    ['time', '1a514b67b0', new Date(1363896240000)],
    ['time', 'c074323031332d30332d32315432303a30343a30305a', new Date(1363896240000)],
    ['objlnk', '63333a30', { objectId: 3, instanceId: 0 }],
    ['corelnk', '643c2f333e', '</3>'],
  ])('decodes a %s from %s', (type, payload, value) => {
    expect(decodeAs(type, payload)).toEqual(value);
  });

  it('decodes resource instances and Device resources by the model', () => {
    expect(cborFormat.decode(hex('1864'), [3, 0, 9], context)).toEqual(singleResource(9, 'integer', 100));
    expect(cborFormat.decode(hex('1864'), [3, 0, 7, 1], context)).toEqual(
      resourceInstance(1, 'integer', 100),
    );
    expect(cborFormat.decode(hex('c11a5182428f'), [3, 0, 13], context)).toEqual(
      singleResource(13, 'time', new Date(1367491215000)),
    );
  });

  it('guesses the type of a resource the model does not know (as Leshan)', () => {
    const guess = (payload: string) =>
      cborFormat.decode(hex(payload), [4242, 0, 1], context) as { type: ResourceType };
    expect(guess('01').type).toBe('integer');
    expect(guess('1bffffffffffffffff').type).toBe('unsigned');
    expect(guess('fa3fc00000').type).toBe('float');
    expect(guess('f5').type).toBe('boolean');
    expect(guess('6161').type).toBe('string');
    expect(guess('4101').type).toBe('opaque');
    expect(guess('c101').type).toBe('time');
  });

  it.each<[Exclude<ResourceType, 'none'>, ResourceValue, string]>([
    ['integer', 0, '00'],
    ['integer', 23, '17'],
    ['integer', 24, '1818'],
    ['integer', 1000, '1903e8'],
    ['integer', -1, '20'],
    ['integer', -1000, '3903e7'],
    ['integer', 2 ** 32, '1b0000000100000000'],
    ['integer', -(2n ** 63n), '3b7fffffffffffffff'],
    ['integer', -5n, '24'],
    ['unsigned', 2n ** 64n - 1n, '1bffffffffffffffff'],
    ['float', 1.5, 'fa3fc00000'],
    ['float', 25, 'fa41c80000'],
    ['float', 1.1, 'fb3ff199999999999a'],
    ['float', Number.NaN, 'f97e00'],
    ['float', -Infinity, 'f9fc00'],
    ['boolean', true, 'f5'],
    ['string', 'IETF', '6449455446'],
    ['opaque', new Uint8Array([1, 2, 3, 4]), '4401020304'],
    ['time', new Date(1367491215000), 'c11a5182428f'],
    ['time', new Date(-1000), 'c120'],
    ['objlnk', { objectId: 1, instanceId: 2 }, '63313a32'],
  ])('encodes %s %p as %s (floats stay floats, as Leshan needs)', (type, value, expected) => {
    expect(encodeAs(type, value)).toBe(expected);
  });

  it('writes what a general CBOR decoder (cbor-x) reads the same', () => {
    expect(cborxDecode(Buffer.from(hex(encodeAs('string', 'Open Mobile Alliance'))))).toBe(
      'Open Mobile Alliance',
    );
    expect(cborxDecode(Buffer.from(hex(encodeAs('integer', -123456))))).toBe(-123456);
    expect(cborxDecode(Buffer.from(hex(encodeAs('float', 0.1))))).toBe(0.1);
    expect(cborxDecode(Buffer.from(hex(encodeAs('time', new Date(1367491215000)))))).toEqual(
      new Date(1367491215000),
    );
  });

  it('refuses nodes it cannot carry', () => {
    const fails = (node: Lwm2mNode, path: Lwm2mPath) =>
      expect(() => cborFormat.encode(node, path, context)).toThrow(EncodeError);
    fails(multipleResource(6, 'integer', [[0, 1]]), [3, 0, 6]);
    fails(objectInstance(0, []), [3, 0]);
    fails(singleResource(4, 'none', ''), [3, 0, 4]);
    fails(singleResource(9, 'integer', 1.5), [3, 0, 9]);
    fails(singleResource(9, 'integer', 1), [3, 0, 10]);
  });

  it('rejects payloads that are not one scalar item of the right kind', () => {
    decodeError('', [3, 0, 9]);
    decodeError('0102', [3, 0, 9]);
    expect(decodeError('0102', [3, 0, 9]).offset).toBe(1);
    decodeError('1901', [3, 0, 9]);
    decodeError('1c', [3, 0, 9]);
    decodeError('820102', [3, 0, 9]);
    decodeError('a0', [3, 0, 9]);
    decodeError('9b7fffffffffffffff', [3, 0, 9]);
    decodeError('7b7fffffffffffffff', [3, 0, 0]);
    decodeError('62c328', [3, 0, 0]);
    decodeError('f6', [3, 0, 9]);
    decodeError('f7', [3, 0, 9]);
    decodeError('f0', [3, 0, 9]);
    decodeError('ff', [3, 0, 9]);
    decodeError('5f4101', [ALL_TYPES_OBJECT_ID, 0, ALL_TYPES_RESOURCES.opaque]);
    decodeError('5f6161ff', [ALL_TYPES_OBJECT_ID, 0, ALL_TYPES_RESOURCES.opaque]);
    decodeError('6161', [3, 0, 9]);
    decodeError('f93e00', [3, 0, 9]);
    decodeError('1bffffffffffffffff', [3, 0, 9]);
    decodeError('20', [ALL_TYPES_OBJECT_ID, 0, ALL_TYPES_RESOURCES.unsigned]);
    decodeError('01', [ALL_TYPES_OBJECT_ID, 0, ALL_TYPES_RESOURCES.boolean]);
    decodeError('6133', [ALL_TYPES_OBJECT_ID, 0, ALL_TYPES_RESOURCES.objlnk]);
    decodeError('c06131', [3, 0, 13]);
    decodeError('c16131', [3, 0, 13]);
    decodeError('c25101010101010101010101010101010101', [3, 0, 9]);
    decodeError('01', [3, 0, 6]);
    decodeError('01', [3, 0]);
    decodeError('01', [3, 0, 4]);
  });

  it('bounds tag nesting with maxDepth', () => {
    const shallow = createTestContext({ maxDepth: 2 });
    expect(cborFormat.decode(hex('d7d701'), [3, 0, 9], shallow)).toEqual(singleResource(9, 'integer', 1));
    expect(() => cborFormat.decode(hex('d7d7d701'), [3, 0, 9], shallow)).toThrow(DecodeError);
    expect(() => cborFormat.decode(hex('d7'.repeat(5000) + '01'), [3, 0, 9], context)).toThrow(DecodeError);
  });

  it('never throws anything but DecodeError on random bytes', () => {
    const paths: Lwm2mPath[] = VALUE_TYPES.map(pathOf);
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 24 }),
        fc.constantFrom(...paths, [4242, 0, 0] as Lwm2mPath),
        (bytes, path) => {
          try {
            cborFormat.decode(bytes, path, context);
          } catch (e) {
            expect(e).toBeInstanceOf(DecodeError);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('round-trips every value type at resource and resource-instance level', () => {
    for (const type of VALUE_TYPES) {
      const rid = ALL_TYPES_RESOURCES[type];
      fc.assert(
        fc.property(arbitraryValue(type), fc.nat({ max: 65534 }), (value, riid) => {
          const single = singleResource(rid, type, value);
          const path: Lwm2mPath = [ALL_TYPES_OBJECT_ID, 2, rid];
          expect(cborFormat.decode(cborFormat.encode(single, path, context), path, context)).toEqual(single);
          const inst = resourceInstance(riid, type, value);
          const ipath: Lwm2mPath = [ALL_TYPES_OBJECT_ID, 2, rid + 100, riid];
          expect(cborFormat.decode(cborFormat.encode(inst, ipath, context), ipath, context)).toEqual(inst);
        }),
        { numRuns: 60 },
      );
    }
  });
});
