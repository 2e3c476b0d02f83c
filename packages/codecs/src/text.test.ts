import {
  DecodeError,
  EncodeError,
  multipleResource,
  objectInstance,
  resourceInstance,
  singleResource,
} from '@lwm2m/core';
import type { Lwm2mPath } from '@lwm2m/core';
import fc from 'fast-check';
import { textFormat } from './text.js';
import {
  ALL_TYPES_OBJECT_ID,
  ALL_TYPES_RESOURCES,
  VALUE_TYPES,
  arbitraryValue,
  createTestContext,
} from './test-fixtures.js';

const context = createTestContext();
const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('text/plain format', () => {
  it('is content format 0 for resources and resource instances', () => {
    expect(textFormat.id).toBe(0);
    expect([...textFormat.levels].sort()).toEqual(['resource', 'resourceInstance']);
  });

  it('decodes typed values using the model (Leshan text vectors)', () => {
    expect(textFormat.decode(utf8('MyManufacturer'), [3, 0, 0], context)).toEqual(
      singleResource(0, 'string', 'MyManufacturer'),
    );
    expect(textFormat.decode(utf8('100'), [3, 0, 9], context)).toEqual(singleResource(9, 'integer', 100));
    expect(textFormat.decode(utf8('1367491215'), [3, 0, 13], context)).toEqual(
      singleResource(13, 'time', new Date(1367491215000)),
    );
    expect(textFormat.decode(utf8('-23.5'), [3303, 0, 5700], context)).toEqual(
      singleResource(5700, 'float', -23.5),
    );
    expect(textFormat.decode(utf8('1'), [1, 0, 6], context)).toEqual(singleResource(6, 'boolean', true));
    expect(textFormat.decode(utf8('3:0'), [3, 0, 22, 1], context)).toEqual(
      resourceInstance(1, 'objlnk', { objectId: 3, instanceId: 0 }),
    );
    expect(
      textFormat.decode(utf8('AQIDBAU='), [ALL_TYPES_OBJECT_ID, 0, ALL_TYPES_RESOURCES.opaque], context),
    ).toEqual(singleResource(ALL_TYPES_RESOURCES.opaque, 'opaque', new Uint8Array([1, 2, 3, 4, 5])));
  });

  it('decodes an unknown resource as a string', () => {
    expect(textFormat.decode(utf8('42'), [4242, 0, 1], context)).toEqual(singleResource(1, 'string', '42'));
    expect(textFormat.decode(utf8('é'), [4242, 0, 1, 7], context)).toEqual(
      resourceInstance(7, 'string', 'é'),
    );
  });

  it('encodes single values', () => {
    expect(text(textFormat.encode(singleResource(9, 'integer', 100), [3, 0, 9], context))).toBe('100');
    expect(
      text(textFormat.encode(singleResource(13, 'time', new Date(1367491215000)), [3, 0, 13], context)),
    ).toBe('1367491215');
    expect(
      text(
        textFormat.encode(
          resourceInstance(0, 'objlnk', { objectId: 1, instanceId: 2 }),
          [3, 0, 22, 0],
          context,
        ),
      ),
    ).toBe('1:2');
    expect([...textFormat.encode(singleResource(0, 'string', 'é'), [3, 0, 0], context)]).toEqual([
      0xc3, 0xa9,
    ]);
  });

  it('refuses what text cannot carry', () => {
    const encodeFails = (node: Parameters<typeof textFormat.encode>[0], path: Lwm2mPath) =>
      expect(() => textFormat.encode(node, path, context)).toThrow(EncodeError);
    encodeFails(multipleResource(6, 'integer', [[0, 1]]), [3, 0, 6]);
    encodeFails(objectInstance(0, []), [3, 0]);
    encodeFails(singleResource(4, 'none', ''), [3, 0, 4]);
    encodeFails(singleResource(1, 'string', 'x'), [3, 0, 2]);
    encodeFails(singleResource(1, 'string', 'x'), [3, 0, 1, 0]);
    encodeFails(singleResource(9, 'integer', 'x'), [3, 0, 9]);
  });

  it('refuses bad payloads with DecodeError', () => {
    const decodeFails = (payload: Uint8Array, path: Lwm2mPath) => {
      expect(() => textFormat.decode(payload, path, context)).toThrow(DecodeError);
    };
    decodeFails(utf8('abc'), [3, 0, 9]);
    decodeFails(utf8('1'), [3, 0]);
    decodeFails(utf8('1'), [3, 0, 6]);
    decodeFails(utf8('1'), [3, 0, 4]);
    decodeFails(new Uint8Array([0xc3, 0x28]), [3, 0, 0]);
    decodeFails(utf8('not base64!'), [ALL_TYPES_OBJECT_ID, 0, ALL_TYPES_RESOURCES.opaque]);
  });

  it('round-trips every value type at resource and resource-instance level', () => {
    for (const type of VALUE_TYPES) {
      const rid = ALL_TYPES_RESOURCES[type];
      fc.assert(
        fc.property(arbitraryValue(type, { finite: true }), fc.nat({ max: 65534 }), (value, riid) => {
          const single = singleResource(rid, type, value);
          const path: Lwm2mPath = [ALL_TYPES_OBJECT_ID, 1, rid];
          expect(textFormat.decode(textFormat.encode(single, path, context), path, context)).toEqual(single);
          const inst = resourceInstance(riid, type, value);
          const ipath: Lwm2mPath = [ALL_TYPES_OBJECT_ID, 1, rid + 100, riid];
          expect(textFormat.decode(textFormat.encode(inst, ipath, context), ipath, context)).toEqual(inst);
        }),
        { numRuns: 60 },
      );
    }
  });
});
