import {
  DecodeError,
  EncodeError,
  createObjectRegistry,
  multipleResource,
  objectInstance,
  objectNode,
  resourceInstance,
  singleResource,
} from '@lwm2m/core';
import type { Lwm2mNode, Lwm2mPath, ObjectDefinition, ResourceDefinition, ResourceNode } from '@lwm2m/core';
import fc from 'fast-check';
import { tlvFormat } from './tlv.js';
import {
  ALL_TYPES_OBJECT_ID,
  ALL_TYPES_RESOURCES,
  TEST_OBJECTS,
  VALUE_TYPES,
  arbitraryValue,
  createTestContext,
  specDeviceInstance,
} from './test-fixtures.js';
import { DEFAULT_DECODE_LIMITS } from './types.js';
import type { CodecContext } from './types.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();

// Objects 65 and 66 of the LwM2M 1.0 spec's object-link example (TS §6.4.3 / Leshan's tests).
function testObject(
  id: number,
  rows: readonly [number, ResourceDefinition['type'], boolean][],
): ObjectDefinition {
  const resources = new Map<number, ResourceDefinition>(
    rows.map(([rid, type, multiple]) => [
      rid,
      { id: rid, name: `res${rid}`, operations: 'R', type, multiple, mandatory: false },
    ]),
  );
  return {
    id,
    name: `obj${id}`,
    version: '1.0',
    lwm2mVersion: '1.0',
    multiple: true,
    mandatory: false,
    resources,
  };
}
const context: CodecContext = {
  registry: createObjectRegistry([
    ...TEST_OBJECTS,
    testObject(65, [
      [0, 'objlnk', true],
      [1, 'string', false],
      [2, 'integer', false],
    ]),
    testObject(66, [
      [0, 'string', false],
      [1, 'string', false],
      [2, 'objlnk', false],
    ]),
  ]),
  limits: DEFAULT_DECODE_LIMITS,
};

const decode = (payload: Uint8Array, path: Lwm2mPath, ctx: CodecContext = context) =>
  tlvFormat.decode(payload, path, ctx);
const encode = (node: Lwm2mNode, path: Lwm2mPath) => tlvFormat.encode(node, path, context);

function decodeError(payload: Uint8Array, path: Lwm2mPath, ctx: CodecContext = context): DecodeError {
  try {
    decode(payload, path, ctx);
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeError);
    expect((e as DecodeError).format).toBe(11542);
    return e as DecodeError;
  }
  throw new Error('expected a DecodeError');
}

// Device object instance /3/0 from the LwM2M spec's TLV example (TS Core Appendix, also Leshan's
// LwM2mNodeDecoderTest ENCODED_DEVICE_WITHOUT_INSTANCE / _WITH_INSTANCE).
const DEVICE_RESOURCES =
  'C800144F70656E204D6F62696C6520416C6C69616E6365C801164C69676874776569676874204D324D20436C69656E74' +
  'C80209333435303030313233C303312E30860641000141010588070842000ED842011388870841007D42010384C10964' +
  'C10A0F830B410000C40D5182428FC60E2B30323A3030C11055';
const DEVICE_WRAPPED = '080079' + DEVICE_RESOURCES;

const DEVICE_INSTANCE = specDeviceInstance();

// Access Control object /2 with instances 0 and 2 (spec example; Leshan ENCODED_ACL).
const ACL = '08000EC10001C101008302417F07C1037F080212C10003C101008702417F0761013601C1037F';
const ACL_OBJECT = objectNode(2, [
  objectInstance(0, [
    singleResource(0, 'integer', 1),
    singleResource(1, 'integer', 0),
    multipleResource(2, 'integer', [[127, 7]]),
    singleResource(3, 'integer', 127),
  ]),
  objectInstance(2, [
    singleResource(0, 'integer', 3),
    singleResource(1, 'integer', 0),
    multipleResource(2, 'integer', [
      [127, 7],
      [310, 1],
    ]),
    singleResource(3, 'integer', 127),
  ]),
]);

// Server object /1 with one instance (spec example; Leshan ENCODED_SERVER).
const SERVER = '08000FC10001C40100015180C10601C10755';
const SERVER_OBJECT = objectNode(1, [
  objectInstance(0, [
    singleResource(0, 'integer', 1),
    singleResource(1, 'integer', 86400),
    singleResource(6, 'boolean', true),
    singleResource(7, 'string', 'U'),
  ]),
]);

// Object links (spec example objects 65 and 66; Leshan ENCODED_OBJ65 / ENCODED_OBJ66).
const OBJ65 = '88000C440000420000440100420001C8010D38363133383030373535353030C40212345678';
const OBJ65_INSTANCE = objectInstance(0, [
  multipleResource(0, 'objlnk', [
    [0, { objectId: 66, instanceId: 0 }],
    [1, { objectId: 66, instanceId: 1 }],
  ]),
  singleResource(1, 'string', '8613800755500'),
  singleResource(2, 'integer', 0x12345678),
]);
const OBJ66 =
  '080026C8000B6D79536572766963652031C8010F496E7465726E65742E31352E323334C40200430000' +
  '080126C8000B6D79536572766963652032C8010F496E7465726E65742E31352E323335C402FFFFFFFF';
const OBJ66_OBJECT = objectNode(66, [
  objectInstance(0, [
    singleResource(0, 'string', 'myService 1'),
    singleResource(1, 'string', 'Internet.15.234'),
    singleResource(2, 'objlnk', { objectId: 67, instanceId: 0 }),
  ]),
  objectInstance(1, [
    singleResource(0, 'string', 'myService 2'),
    singleResource(1, 'string', 'Internet.15.235'),
    singleResource(2, 'objlnk', { objectId: 65535, instanceId: 65535 }),
  ]),
]);

describe('TLV format: spec examples', () => {
  it('is content format 11542 for every level below the root', () => {
    expect(tlvFormat.id).toBe(11542);
    expect([...tlvFormat.levels].sort()).toEqual([
      'object',
      'objectInstance',
      'resource',
      'resourceInstance',
    ]);
  });

  it('decodes the Device instance sent as bare resource TLVs', () => {
    expect(decode(hex(DEVICE_RESOURCES), [3, 0])).toEqual(DEVICE_INSTANCE);
  });

  it('decodes the Device instance wrapped in one object instance TLV', () => {
    expect(decode(hex(DEVICE_WRAPPED), [3, 0])).toEqual(DEVICE_INSTANCE);
  });

  it('encodes the Device instance byte for byte, without the instance wrapper', () => {
    expect(toHex(encode(DEVICE_INSTANCE, [3, 0]))).toBe(DEVICE_RESOURCES);
  });

  it('decodes the single-instance Device object from bare resources as instance 0', () => {
    expect(decode(hex(DEVICE_RESOURCES), [3])).toEqual(objectNode(3, [DEVICE_INSTANCE]));
    expect(decode(hex(DEVICE_WRAPPED), [3])).toEqual(objectNode(3, [DEVICE_INSTANCE]));
  });

  it('reads and writes the Access Control object with two instances', () => {
    expect(decode(hex(ACL), [2])).toEqual(ACL_OBJECT);
    expect(toHex(encode(ACL_OBJECT, [2]))).toBe(ACL);
  });

  it('reads and writes the Server object with one instance', () => {
    expect(decode(hex(SERVER), [1])).toEqual(SERVER_OBJECT);
    expect(toHex(encode(SERVER_OBJECT, [1]))).toBe(SERVER);
  });

  it('reads and writes object links', () => {
    expect(decode(hex(OBJ65), [65, 0])).toEqual(OBJ65_INSTANCE);
    expect(toHex(encode(OBJ65_INSTANCE, [65, 0]))).toBe(OBJ65);
    expect(decode(hex(OBJ66), [66])).toEqual(OBJ66_OBJECT);
    expect(toHex(encode(OBJ66_OBJECT, [66]))).toBe(OBJ66);
  });

  it('reads and writes several object instances (Wakaama tlv test buffer1)', () => {
    const payload = '030AC10114' + '030BC10115' + '030CC10116';
    const typed = objectNode(ALL_TYPES_OBJECT_ID, [
      objectInstance(10, [singleResource(ALL_TYPES_RESOURCES.integer, 'integer', 0x14)]),
      objectInstance(11, [singleResource(ALL_TYPES_RESOURCES.integer, 'integer', 0x15)]),
      objectInstance(12, [singleResource(ALL_TYPES_RESOURCES.integer, 'integer', 0x16)]),
    ]);
    expect(decode(hex(payload), [ALL_TYPES_OBJECT_ID])).toEqual(typed);
    expect(toHex(encode(typed, [ALL_TYPES_OBJECT_ID]))).toBe(payload);
    const untyped = decode(hex(payload), [4242]) as ReturnType<typeof objectNode>;
    expect(untyped.instances.get(11)?.resources.get(1)).toEqual(singleResource(1, 'opaque', hex('15')));
  });

  it('reads what the earlier lwm2m-gw codec (npm lwm2m-codec) writes', () => {
    // Its README example: /3303/0 { 5700: 31, 5701: 'c' }, wrapped in an object instance TLV.
    const payload = hex('08000BE416444' + '1F80000E1164563');
    const node = objectInstance(0, [singleResource(5700, 'float', 31), singleResource(5701, 'string', 'c')]);
    expect(decode(payload, [3303, 0])).toEqual(node);
    expect(toHex(encode(node, [3303, 0]))).toBe('E4164441F80000E1164563');
  });

  it('reads a single resource /3/0/0 and writes it as one resource TLV', () => {
    const node = singleResource(0, 'string', 'Open Mobile Alliance');
    expect(decode(hex('C800144F70656E204D6F62696C6520416C6C69616E6365'), [3, 0, 0])).toEqual(node);
    expect(toHex(encode(node, [3, 0, 0]))).toBe('C800144F70656E204D6F62696C6520416C6C69616E6365');
  });
});

describe('TLV format: resources and resource instances', () => {
  const powerSources = multipleResource(6, 'integer', [
    [0, 1],
    [1, 5],
  ]);

  it('writes a multiple resource as one multiple-resource TLV', () => {
    expect(toHex(encode(powerSources, [3, 0, 6]))).toBe('8606410001410105');
  });

  it('reads a multiple resource wrapped or as bare resource instances (Leshan vectors)', () => {
    expect(decode(hex('8606410001410105'), [3, 0, 6])).toEqual(powerSources);
    expect(decode(hex('410001410105'), [3, 0, 6])).toEqual(powerSources);
  });

  it('reads and writes an empty multiple resource', () => {
    const empty = multipleResource(6, 'integer', []);
    expect(toHex(encode(empty, [3, 0, 6]))).toBe('8006');
    expect(decode(hex('8006'), [3, 0, 6])).toEqual(empty);
    expect(decode(new Uint8Array(0), [3, 0, 6])).toEqual(empty);
  });

  it('reads and writes one resource instance', () => {
    const node = resourceInstance(1, 'integer', 5000);
    expect(toHex(encode(node, [3, 0, 7, 1]))).toBe('42011388');
    expect(decode(hex('42011388'), [3, 0, 7, 1])).toEqual(node);
    // Peers may keep the multiple-resource and object-instance levels around it.
    expect(decode(hex('8407' + '42011388'), [3, 0, 7, 1])).toEqual(node);
    expect(decode(hex('0600' + '8407' + '42011388'), [3, 0, 7, 1])).toEqual(node);
  });

  it('tolerates a consistent object instance TLV around a resource (Leshan)', () => {
    expect(decode(hex('080009' + 'C80106636C69656E74'), [3, 0, 1])).toEqual(
      singleResource(1, 'string', 'client'),
    );
    expect(decodeError(hex('080109' + 'C80106636C69656E74'), [3, 0, 1]).message).toMatch(/does not match/);
  });

  it('reads empty objects and instances', () => {
    expect(decode(new Uint8Array(0), [2])).toEqual(objectNode(2, []));
    expect(decode(new Uint8Array(0), [2, 0])).toEqual(objectInstance(0, []));
    expect(toHex(encode(objectNode(2, []), [2]))).toBe('');
    expect(toHex(encode(objectNode(2, [objectInstance(4, [])]), [2]))).toBe('0004');
    expect(decode(hex('0004'), [2])).toEqual(objectNode(2, [objectInstance(4, [])]));
  });

  it('types unknown resources as opaque', () => {
    expect(decode(hex('C10105' + '860641000141010A'), [4242, 3])).toEqual(
      objectInstance(3, [
        singleResource(1, 'opaque', new Uint8Array([5])),
        multipleResource(6, 'opaque', [
          [0, new Uint8Array([1])],
          [1, new Uint8Array([10])],
        ]),
      ]),
    );
    expect(decode(hex('C2010663'), [4242, 0, 1])).toEqual(singleResource(1, 'opaque', hex('0663')));
  });
});

describe('TLV format: lengths, identifiers and value widths', () => {
  const OPAQUE: Lwm2mPath = [ALL_TYPES_OBJECT_ID, 0, ALL_TYPES_RESOURCES.opaque];
  const opaqueOf = (length: number) =>
    singleResource(ALL_TYPES_RESOURCES.opaque, 'opaque', new Uint8Array(length).fill(0xab));

  it.each([
    [0, 'C005'],
    [7, 'C705'],
    [8, 'C80508'],
    [255, 'C805FF'],
    [256, 'D0050100'],
    [65535, 'D005FFFF'],
    [65536, 'D805010000'],
    [70000, 'D805011170'],
  ])('writes a %i-byte value with header %s and reads it back', (length, header) => {
    const node = opaqueOf(length);
    const bytes = encode(node, OPAQUE);
    expect(toHex(bytes.subarray(0, header.length / 2))).toBe(header);
    expect(bytes.length).toBe(header.length / 2 + length);
    const decoded = decode(bytes, OPAQUE) as typeof node;
    expect(decoded.id).toBe(node.id);
    // Buffer.equals: jest's toEqual walks large arrays element by element.
    expect(Buffer.from(decoded.value as Uint8Array).equals(node.value as Uint8Array)).toBe(true);
  });

  it('reads a value whose length field is wider than needed', () => {
    expect(decode(hex('C8050201AB'), OPAQUE)).toEqual(singleResource(5, 'opaque', hex('01AB')));
    expect(decode(hex('D8050000020102'), OPAQUE)).toEqual(singleResource(5, 'opaque', hex('0102')));
  });

  it('uses 16-bit identifiers above 255', () => {
    const temperature = singleResource(5700, 'float', 23.5);
    expect(toHex(encode(temperature, [3303, 0, 5700]))).toBe('E41644' + '41BC0000');
    expect(decode(hex('E4164441BC0000'), [3303, 0, 5700])).toEqual(temperature);
    const acl = multipleResource(2, 'integer', [[310, 1]]);
    expect(toHex(encode(acl, [2, 0, 2]))).toBe('8402' + '61013601');
    expect(toHex(encode(objectNode(2, [objectInstance(300, [])]), [2]))).toBe('20012C');
  });

  it.each<[number | bigint, string]>([
    [0, '00'],
    [127, '7F'],
    [-1, 'FF'],
    [-128, '80'],
    [128, '0080'],
    [-129, 'FF7F'],
    [32767, '7FFF'],
    [32768, '00008000'],
    [-32769, 'FFFF7FFF'],
    [2147483647, '7FFFFFFF'],
    [2147483648, '0000000080000000'],
    [-2147483649, 'FFFFFFFF7FFFFFFF'],
    [9007199254740993n, '0020000000000001'],
    [-(2n ** 63n), '8000000000000000'],
    [2n ** 63n - 1n, '7FFFFFFFFFFFFFFF'],
  ])('writes integer %p in the shortest width (%s)', (value, valueHex) => {
    const path: Lwm2mPath = [ALL_TYPES_OBJECT_ID, 0, ALL_TYPES_RESOURCES.integer];
    const node = singleResource(ALL_TYPES_RESOURCES.integer, 'integer', value);
    const bytes = encode(node, path);
    const width = valueHex.length / 2;
    // Lengths below 8 sit in the type byte; 8 needs the 8-bit length field.
    expect(toHex(bytes.subarray(0, width < 8 ? 2 : 3))).toBe(width < 8 ? `C${width}01` : 'C80108');
    expect(toHex(bytes.subarray(width < 8 ? 2 : 3))).toBe(valueHex);
    expect(decode(bytes, path)).toEqual(node);
  });

  it('reads unsigned integers as unsigned, writes them in a width signed readers agree with', () => {
    const rid = ALL_TYPES_RESOURCES.unsigned;
    const path: Lwm2mPath = [ALL_TYPES_OBJECT_ID, 0, rid];
    expect(decode(hex('C102C8'), path)).toEqual(singleResource(rid, 'unsigned', 200));
    expect(decode(hex('C202FFFF'), path)).toEqual(singleResource(rid, 'unsigned', 65535));
    expect(decode(hex('C402FFFFFFFF'), path)).toEqual(singleResource(rid, 'unsigned', 4294967295));
    expect(decode(hex('C802' + '08' + 'FFFFFFFFFFFFFFFF'), path)).toEqual(
      singleResource(rid, 'unsigned', 2n ** 64n - 1n),
    );
    expect(toHex(encode(singleResource(rid, 'unsigned', 200), path))).toBe('C20200C8');
    expect(toHex(encode(singleResource(rid, 'unsigned', 2n ** 64n - 1n), path))).toBe(
      'C80208FFFFFFFFFFFFFFFF',
    );
  });

  it('writes floats in 4 bytes when exact, else 8, and reads both', () => {
    const rid = ALL_TYPES_RESOURCES.float;
    const path: Lwm2mPath = [ALL_TYPES_OBJECT_ID, 0, rid];
    expect(toHex(encode(singleResource(rid, 'float', -1.5), path))).toBe('C403BFC00000');
    expect(toHex(encode(singleResource(rid, 'float', 0.1), path))).toBe('C803083FB999999999999A');
    expect(decode(hex('C403BFC00000'), path)).toEqual(singleResource(rid, 'float', -1.5));
    expect(decode(hex('C803083FB999999999999A'), path)).toEqual(singleResource(rid, 'float', 0.1));
  });

  it('reads and writes booleans, time, object links and strings', () => {
    const o = ALL_TYPES_OBJECT_ID;
    const r = ALL_TYPES_RESOURCES;
    expect(toHex(encode(singleResource(r.boolean, 'boolean', false), [o, 0, r.boolean]))).toBe('C10400');
    expect(toHex(encode(singleResource(r.time, 'time', new Date(0x5182428f * 1000)), [o, 0, r.time]))).toBe(
      'C4065182428F',
    );
    expect(decode(hex('C106FF'), [o, 0, r.time])).toEqual(singleResource(r.time, 'time', new Date(-1000)));
    expect(
      toHex(
        encode(singleResource(r.objlnk, 'objlnk', { objectId: 0x1234, instanceId: 0x5678 }), [
          o,
          0,
          r.objlnk,
        ]),
      ),
    ).toBe('C40712345678');
    expect(toHex(encode(singleResource(r.string, 'string', 'é'), [o, 0, r.string]))).toBe('C200C3A9');
    expect(decode(hex('C000'), [o, 0, r.string])).toEqual(singleResource(r.string, 'string', ''));
  });
});

describe('TLV format: malformed payloads', () => {
  it('rejects broken TLVs (Leshan TlvDecoderTest)', () => {
    decodeError(hex('0011223344556677889900'), [3]);
    const truncated = decodeError(hex('C800C8'), [3, 0]);
    expect(truncated.offset).toBe(0);
  });

  it('points at the offending TLV', () => {
    expect(decodeError(hex('C10964' + 'C10A'), [3, 0]).offset).toBe(3);
    expect(decodeError(hex('C10964' + 'D80A00'), [3, 0]).offset).toBe(3);
    expect(decodeError(hex('C10964' + 'E8'), [3, 0]).offset).toBe(3);
    // A value running past its multiple-resource container.
    expect(decodeError(hex('8506' + '410001' + '4101' + 'C10964'), [3, 0]).offset).toBe(5);
  });

  it('rejects bad value widths', () => {
    decodeError(hex('C309000064'), [3, 0, 9]);
    decodeError(hex('C009'), [3, 0, 9]);
    decodeError(hex('E216440000'), [3303, 0, 5700]);
    decodeError(hex('C2060001'), [1, 0, 6]);
    decodeError(hex('C10602'), [1, 0, 6]);
    decodeError(hex('4300000000'), [3, 0, 22, 0]);
    decodeError(hex('C202C328'), [3, 0, 2]);
  });

  it('rejects duplicate identifiers', () => {
    decodeError(hex('0000' + '0000'), [2]);
    decodeError(hex('C10001' + 'C10002'), [3, 0]);
    decodeError(hex('8606' + '410001' + '410005'), [3, 0, 6]);
  });

  it('rejects identifiers that do not match the path', () => {
    expect(decodeError(hex(DEVICE_WRAPPED.replace(/^080079/, '080179')), [3, 0]).message).toMatch(
      /does not match/,
    );
    decodeError(hex('C10101'), [3, 0, 0]);
    decodeError(hex('410105'), [3, 0, 6, 0]);
    decodeError(hex('8307' + '410005'), [3, 0, 6, 0]);
  });

  it('rejects TLVs at the wrong nesting level', () => {
    decodeError(hex('410001'), [2]);
    decodeError(hex('8303' + 'C10001'), [3, 0]);
    decodeError(hex('0200' + '0001'), [3, 0]);
    decodeError(hex('0300C10001' + '0301C10001'), [3, 0]);
    decodeError(hex('C10001' + 'C10101'), [2]);
    decodeError(hex('C10064'), [3, 0, 9, 0]);
    decodeError(hex('410001' + '410105'), [3, 0, 6, 0]);
    decodeError(new Uint8Array(0), [3, 0, 6, 0]);
    decodeError(new Uint8Array(0), [3, 0, 9]);
    decodeError(new Uint8Array(0), []);
  });

  it('enforces maxEntries and maxDepth', () => {
    const small = createTestContext({ maxEntries: 3 });
    expect(decode(hex('C10001C10101C10301'), [2, 0], small)).toBeDefined();
    expect(decodeError(hex('C10001C10101C10301C10401'), [2, 0], small).message).toMatch(/more than 3/);
    const shallow = createTestContext({ maxDepth: 1 });
    expect(decode(hex('C10001'), [2, 0], shallow)).toBeDefined();
    expect(decodeError(hex('8302417F07'), [2, 0], shallow).message).toMatch(/deeper/);
  });

  it('never throws anything but DecodeError on random bytes', () => {
    const paths: Lwm2mPath[] = [[3], [3, 0], [3, 0, 6], [3, 0, 6, 0], [2], [ALL_TYPES_OBJECT_ID, 0]];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.constantFrom(...paths), (bytes, path) => {
        try {
          decode(bytes, path);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('TLV format: encoding errors', () => {
  it('refuses nodes that do not fit the path or carry invalid values', () => {
    const fails = (node: Lwm2mNode, path: Lwm2mPath) => expect(() => encode(node, path)).toThrow(EncodeError);
    fails(singleResource(1, 'string', 'x'), [3, 0, 2]);
    fails(singleResource(1, 'string', 'x'), [3, 0]);
    fails(objectInstance(1, []), [3, 0]);
    fails(objectNode(3, []), [3, 0]);
    fails(resourceInstance(1, 'integer', 1), [3, 0, 6]);
    fails(singleResource(9, 'integer', '100' as unknown as number), [3, 0, 9]);
    fails(singleResource(4, 'none', ''), [3, 0, 4]);
    fails(multipleResource(6, 'integer', [[65535, 1]]), [3, 0, 6]);
    fails(singleResource(5, 'opaque', new Uint8Array(0x1000000)), [ALL_TYPES_OBJECT_ID, 0, 5]);
  });
});

describe('TLV format: round trips', () => {
  const OBJ = ALL_TYPES_OBJECT_ID;
  const singleArb = fc.oneof(
    ...VALUE_TYPES.map((type) =>
      arbitraryValue(type).map((v): ResourceNode => singleResource(ALL_TYPES_RESOURCES[type], type, v)),
    ),
  );
  const multipleArb = fc.oneof(
    ...VALUE_TYPES.map((type) =>
      fc
        .array(fc.tuple(fc.nat({ max: 65534 }), arbitraryValue(type)), { maxLength: 4 })
        .map((entries): ResourceNode => multipleResource(ALL_TYPES_RESOURCES[type] + 100, type, entries)),
    ),
  );
  const resourceArb = fc.oneof(singleArb, multipleArb);
  const instanceArb = fc
    .tuple(fc.nat({ max: 65534 }), fc.uniqueArray(resourceArb, { selector: (r) => r.id, maxLength: 8 }))
    .map(([id, resources]) => objectInstance(id, resources));
  const objectArb = fc
    .uniqueArray(instanceArb, { selector: (i) => i.id, maxLength: 3 })
    .map((instances) => objectNode(OBJ, instances));

  const roundTrip = (node: Lwm2mNode, path: Lwm2mPath) =>
    expect(decode(encode(node, path), path)).toEqual(node);

  it('objects', () => {
    fc.assert(
      fc.property(objectArb, (node) => roundTrip(node, [OBJ])),
      { numRuns: 150 },
    );
  });

  it('object instances', () => {
    fc.assert(
      fc.property(instanceArb, (node) => roundTrip(node, [OBJ, node.id])),
      { numRuns: 150 },
    );
  });

  it('resources', () => {
    fc.assert(
      fc.property(resourceArb, fc.nat({ max: 65534 }), (node, iid) => roundTrip(node, [OBJ, iid, node.id])),
      {
        numRuns: 300,
      },
    );
  });

  it('resource instances', () => {
    const arb = fc.oneof(
      ...VALUE_TYPES.map((type) =>
        fc
          .tuple(fc.nat({ max: 65534 }), arbitraryValue(type))
          .map(([riid, v]) => [ALL_TYPES_RESOURCES[type] + 100, resourceInstance(riid, type, v)] as const),
      ),
    );
    fc.assert(
      fc.property(arb, ([rid, node]) => roundTrip(node, [OBJ, 0, rid, node.id])),
      { numRuns: 300 },
    );
  });
});
