import { DecodeError, EncodeError, multipleResource, resourceInstance, singleResource } from '@lwm2m/core';
import type { Lwm2mPath } from '@lwm2m/core';
import fc from 'fast-check';
import { opaqueFormat } from './opaque.js';
import { ALL_TYPES_OBJECT_ID, ALL_TYPES_RESOURCES, createTestContext } from './test-fixtures.js';

const context = createTestContext();
const OPAQUE: Lwm2mPath = [ALL_TYPES_OBJECT_ID, 0, ALL_TYPES_RESOURCES.opaque];
const OPAQUES = ALL_TYPES_RESOURCES.opaque + 100;

describe('opaque format', () => {
  it('is content format 42 for resources and resource instances', () => {
    expect(opaqueFormat.id).toBe(42);
    expect([...opaqueFormat.levels].sort()).toEqual(['resource', 'resourceInstance']);
  });

  it('carries the raw bytes both ways', () => {
    const bytes = new Uint8Array([0, 1, 0xfe, 0xff]);
    const node = singleResource(ALL_TYPES_RESOURCES.opaque, 'opaque', bytes);
    expect([...opaqueFormat.encode(node, OPAQUE, context)]).toEqual([0, 1, 0xfe, 0xff]);
    expect(opaqueFormat.decode(Buffer.from([0, 1, 0xfe, 0xff]), OPAQUE, context)).toEqual(node);
    expect(opaqueFormat.decode(new Uint8Array(0), [ALL_TYPES_OBJECT_ID, 0, OPAQUES, 3], context)).toEqual(
      resourceInstance(3, 'opaque', new Uint8Array(0)),
    );
  });

  it('decodes a plain Uint8Array view even from a Buffer slice', () => {
    const backing = Buffer.from([9, 9, 1, 2, 3, 9]);
    const node = opaqueFormat.decode(backing.subarray(2, 5), OPAQUE, context);
    expect(node.kind).toBe('resource');
    const value = (node as { value: Uint8Array }).value;
    expect(Object.getPrototypeOf(value)).toBe(Uint8Array.prototype);
    expect([...value]).toEqual([1, 2, 3]);
  });

  it('treats an unknown resource as opaque', () => {
    expect(opaqueFormat.decode(new Uint8Array([7]), [4242, 0, 0], context)).toEqual(
      singleResource(0, 'opaque', new Uint8Array([7])),
    );
  });

  it('refuses resources that are not opaque', () => {
    expect(() => opaqueFormat.decode(new Uint8Array([1]), [3, 0, 9], context)).toThrow(DecodeError);
    expect(() =>
      opaqueFormat.decode(new Uint8Array([1]), [ALL_TYPES_OBJECT_ID, 0, OPAQUES], context),
    ).toThrow(DecodeError);
    expect(() => opaqueFormat.decode(new Uint8Array([1]), [ALL_TYPES_OBJECT_ID, 0], context)).toThrow(
      DecodeError,
    );
    expect(() => opaqueFormat.encode(singleResource(9, 'integer', 1), [3, 0, 9], context)).toThrow(
      EncodeError,
    );
    expect(() =>
      opaqueFormat.encode(singleResource(5, 'opaque', 'x' as unknown as Uint8Array), OPAQUE, context),
    ).toThrow(EncodeError);
    expect(() =>
      opaqueFormat.encode(
        multipleResource(OPAQUES, 'opaque', []),
        [ALL_TYPES_OBJECT_ID, 0, OPAQUES],
        context,
      ),
    ).toThrow(EncodeError);
  });

  it('round-trips arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat({ max: 65534 }), (bytes, riid) => {
        const path: Lwm2mPath = [ALL_TYPES_OBJECT_ID, 0, OPAQUES, riid];
        const node = resourceInstance(riid, 'opaque', bytes);
        expect(opaqueFormat.decode(opaqueFormat.encode(node, path, context), path, context)).toEqual(node);
      }),
      { numRuns: 200 },
    );
  });
});
