import {
  DecodeError,
  EncodeError,
  UnsupportedFormatError,
  createObjectRegistry,
  formatPath,
  isLwm2mError,
  multipleResource,
  objectInstance,
  objectNode,
  resourceInstance,
  singleResource,
} from '@lwm2m/core';
import type { Lwm2mNode, Lwm2mPath, ObjectInstanceNode, ResourceType, ResourceValue } from '@lwm2m/core';
import { Decoder } from 'cbor-x';
import fc from 'fast-check';
import { nodeToEntries } from './flat.js';
import { lwm2mCborFormat } from './lwm2m-cbor.js';
import {
  ALL_TYPES_OBJECT_ID,
  ALL_TYPES_RESOURCES,
  VALUE_TYPES,
  arbitraryInstance,
  arbitraryResource,
  arbitraryValue,
  createTestContext,
} from './test-fixtures.js';
import { DEFAULT_DECODE_LIMITS } from './types.js';
import type { CodecContext } from './types.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();
/** CBOR text string item for ASCII text shorter than 24 bytes. */
const tstr = (s: string): string => (0x60 + s.length).toString(16) + Buffer.from(s).toString('hex');

const context = createTestContext();
/** A registry that knows nothing: Anjay's vectors use objects 1, 3 and 13 with made-up types. */
const bare: CodecContext = { registry: createObjectRegistry(), limits: DEFAULT_DECODE_LIMITS };

const { encode, decode, encodeComposite, decodeComposite } = lwm2mCborFormat;

function expectDecodeError(run: () => unknown, pattern?: RegExp): DecodeError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(DecodeError);
  if (pattern) expect((caught as Error).message).toMatch(pattern);
  return caught as DecodeError;
}

describe('LwM2M CBOR golden vectors', () => {
  // Anjay Lite tests/anj/io/lwm2m_cbor_in.c: one payload, every way of writing its path.
  it.each([
    ['array key', 'A1 83 0D 18 1A 01 18 2A'],
    ['indefinite map and array', 'BF 9F 0D 18 1A 01 FF 18 2A FF'],
    ['nested maps', 'A1 0D A1 18 1A A1 01 18 2A'],
    ['nested indefinite maps', 'BF 0D BF 18 1A BF 01 18 2A FF FF FF'],
    ['nested one-id arrays', 'A1 81 0D A1 81 18 1A A1 81 01 18 2A'],
  ])('reads {[13, 26, 1]: 42} written with %s (Anjay)', (_name, payload) => {
    expect(decode(hex(payload), [13, 26, 1], bare)).toEqual(singleResource(1, 'integer', 42));
  });

  it.each([
    ['{[13, 26]: {1: 42, 2: 21}}', 'A1 82 0D 18 1A A2 01 18 2A 02 15'],
    ['{[13, 26, 1]: 42, [13, 26, 2]: 21}', 'A2 83 0D 18 1A 01 18 2A 83 0D 18 1A 02 15'],
    ['{[13, 26]: {1: 42}, [13, 26, 2]: 21}', 'A2 82 0D 18 1A A1 01 18 2A 83 0D 18 1A 02 15'],
    ['{[13, 26, 1]: 42, [13, 26]: {[2]: 21}}', 'A2 83 0D 18 1A 01 18 2A 82 0D 18 1A A1 81 02 15'],
  ])('merges %s into one instance (Anjay)', (_name, payload) => {
    expect(decode(hex(payload), [13, 26], bare)).toEqual(
      objectInstance(26, [singleResource(1, 'integer', 42), singleResource(2, 'integer', 21)]),
    );
  });

  it('reads a decimal fraction 4([-1, 45]) four maps deep (Anjay max_possible_nesting)', () => {
    const payload = hex('A1 81 0D A1 81 18 1A A1 81 01 A1 81 02 C4 82 20 18 2D');
    expect(decode(payload, [13, 26, 1, 2], bare)).toEqual(resourceInstance(2, 'float', 4.5));
  });

  it('reads byte and text strings, definite and chunked (Anjay)', () => {
    const bytes = '00112233445566778899AABBCCDDEEFF';
    expect(decode(hex(`A1 83 0D 18 1A 01 50 ${bytes}`), [13, 26, 1], bare)).toEqual(
      singleResource(1, 'opaque', hex(bytes)),
    );
    expect(
      decode(hex('A1 83 0D 18 1A 01 5F 48 0011223344556677 48 8899AABBCCDDEEFF FF'), [13, 26, 1], bare),
    ).toEqual(singleResource(1, 'opaque', hex(bytes)));
    const text = 'c--cossiezepsulo';
    expect(
      decode(hex(`A1 83 0D 18 1A 01 70 ${Buffer.from(text).toString('hex')}`), [13, 26, 1], bare),
    ).toEqual(singleResource(1, 'string', text));
  });

  // Anjay Lite tests/anj/io/lwm2m_cbor_encoder.c: Anjay writes one nested indefinite map per level.
  it.each<[string, string, Record<string, Lwm2mNode>]>([
    ['{3: {3: {3: 25}}}', 'BF 03 BF 03 BF 03 18 19 FF FF FF', { '/3/3/3': singleResource(3, 'integer', 25) }],
    [
      '{3: {3: {3: 25}}, 1: {1: {1: 11}}}',
      'BF 03 BF 03 BF 03 18 19 FF FF 01 BF 01 BF 01 0B FF FF FF',
      { '/3/3/3': singleResource(3, 'integer', 25), '/1/1/1': singleResource(1, 'integer', 11) },
    ],
    [
      '{3: {3: {3: 25}, 1: {1: 11}}}',
      'BF 03 BF 03 BF 03 18 19 FF 01 BF 01 0B FF FF FF',
      { '/3/3/3': singleResource(3, 'integer', 25), '/3/1/1': singleResource(1, 'integer', 11) },
    ],
    [
      '{3: {3: {3: {0: 25, 1: 11}}}}',
      'BF 03 BF 03 BF 03 BF 00 18 19 01 0B FF FF FF FF',
      { '/3/3/3/0': resourceInstance(0, 'integer', 25), '/3/3/3/1': resourceInstance(1, 'integer', 11) },
    ],
    [
      '{3: {3: {3: {0: 25}}}, 1: {0: {0: {0: 11}}}}',
      'BF 03 BF 03 BF 03 BF 00 18 19 FF FF FF 01 BF 00 BF 00 BF 00 0B FF FF FF FF',
      { '/3/3/3/0': resourceInstance(0, 'integer', 25), '/1/0/0/0': resourceInstance(0, 'integer', 11) },
    ],
  ])('reads Anjay Send payload %s as one node per value', (_name, payload, expected) => {
    expect(decodeComposite(hex(payload), bare)).toEqual(new Map(Object.entries(expected)));
  });

  it('writes a Device instance with one array key for /3/0 (TS Core 1.2 §7.4.6 example)', () => {
    const device = objectInstance(0, [
      singleResource(0, 'string', 'Open Mobile Alliance'),
      multipleResource(6, 'integer', [
        [0, 1],
        [1, 5],
      ]),
    ]);
    // {[3, 0]: {0: "Open Mobile Alliance", 6: {0: 1, 1: 5}}}
    const expected = `A1 82 03 00 A2 00 74 ${Buffer.from('Open Mobile Alliance').toString('hex')} 06 A2 00 01 01 05`;
    const payload = encode(device, [3, 0], context);
    expect(toHex(payload)).toBe(toHex(hex(expected)));
    expect(decode(payload, [3, 0], context)).toEqual(device);
  });

  it.each<[string, Lwm2mNode, Lwm2mPath, string]>([
    ['{[3, 0, 0]: "x"}', singleResource(0, 'string', 'x'), [3, 0, 0], `A1 83 03 00 00 ${tstr('x')}`],
    ['{[3, 0, 6, 1]: 5}', resourceInstance(1, 'integer', 5), [3, 0, 6, 1], 'A1 84 03 00 06 01 05'],
    [
      '{[3, 0, 6]: {0: 1, 1: 5}}',
      multipleResource(6, 'integer', [
        [0, 1],
        [1, 5],
      ]),
      [3, 0, 6],
      'A1 83 03 00 06 A2 00 01 01 05',
    ],
    ['{[3, 0, 6, 0]: 1}', multipleResource(6, 'integer', [[0, 1]]), [3, 0, 6], 'A1 84 03 00 06 00 01'],
    ['{[3, 0, 6]: {}}', multipleResource(6, 'integer', []), [3, 0, 6], 'A1 83 03 00 06 A0'],
    ['{[3, 0]: {}}', objectInstance(0, []), [3, 0], 'A1 82 03 00 A0'],
    ['{} for an empty object (as Anjay answers)', objectNode(3, []), [3], 'A0'],
    [
      '{[3, 0, 13]: 1(1367491215)}',
      singleResource(13, 'time', new Date(1367491215000)),
      [3, 0, 13],
      'A1 83 03 00 0D C1 1A 5182428F',
    ],
    [
      '{[10241, 0, 7]: "3:0"}',
      singleResource(7, 'objlnk', { objectId: 3, instanceId: 0 }),
      [ALL_TYPES_OBJECT_ID, 0, 7],
      `A1 83 19 2801 00 07 ${tstr('3:0')}`,
    ],
  ])('writes %s', (_name, node, path, expected) => {
    const payload = encode(node, path, context);
    expect(toHex(payload)).toBe(toHex(hex(expected)));
    expect(decode(payload, path, context)).toEqual(node);
  });

  it('writes an object with two instances as one array-free level', () => {
    const node = objectNode(1, [
      objectInstance(0, [singleResource(0, 'integer', 101)]),
      objectInstance(1, [singleResource(0, 'integer', 102)]),
    ]);
    // {1: {[0, 0]: 101, [1, 0]: 102}}: one level stays, the two single chains below fold.
    expect(toHex(encode(node, [1], context))).toBe(toHex(hex('A1 01 A2 82 00 00 18 65 82 01 00 18 66')));
  });

  it('writes what a general CBOR decoder (cbor-x) reads as maps with array keys', () => {
    const payload = encodeComposite(
      new Map<string, Lwm2mNode>([
        ['/3/0/0', singleResource(0, 'string', 'ACME')],
        ['/1/0', objectInstance(0, [singleResource(1, 'integer', 300), singleResource(6, 'boolean', true)])],
      ]),
      context,
    );
    const read = new Decoder({ useRecords: false, mapsAsObjects: false }).decode(payload) as Map<
      unknown,
      unknown
    >;
    expect([...read.entries()]).toEqual([
      [[3, 0, 0], 'ACME'],
      [
        [1, 0],
        new Map<number, unknown>([
          [1, 300],
          [6, true],
        ]),
      ],
    ]);
  });
});

describe('LwM2M CBOR values', () => {
  it.each<[ResourceType, string, ResourceValue]>([
    ['integer', '3B 7FFFFFFFFFFFFFFF', -(2n ** 63n)],
    ['unsigned', '1B FFFFFFFFFFFFFFFF', 2n ** 64n - 1n],
    ['unsigned', 'C2 49 000000000000000001', 1],
    ['float', 'F9 3E00', 1.5],
    ['float', 'FB 3FF199999999999A', 1.1],
    ['float', '18 64', 100],
    ['integer', 'F9 4500', 5],
    ['boolean', 'F4', false],
    ['time', '1A 514B67B0', new Date(1363896240000)],
    ['time', `C0 74 ${Buffer.from('2013-03-21T20:04:00Z').toString('hex')}`, new Date(1363896240000)],
    ['corelnk', `64 ${Buffer.from('</3>').toString('hex')}`, '</3>'],
  ])('reads a %s from %s', (type, item, value) => {
    const rid = ALL_TYPES_RESOURCES[type as Exclude<ResourceType, 'none'>];
    const payload = hex(`A1 83 19 2801 00 ${rid.toString(16).padStart(2, '0')} ${item}`);
    expect(decode(payload, [ALL_TYPES_OBJECT_ID, 0, rid], context)).toEqual(singleResource(rid, type, value));
  });

  it('guesses the types of resources the model does not know', () => {
    const types = (payload: string) =>
      [...(decode(hex(payload), [4242, 0], context) as ObjectInstanceNode).resources.values()].map(
        (r) => r.type,
      );
    // {[4242, 0]: {0: 1, 1: 1.5, 2: true, 3: "a", 4: h'01', 5: 1(1), 6: 2^64-1}}
    expect(
      types(
        'A1 82 19 1092 00 A7 00 01 01 FA 3FC00000 02 F5 03 61 61 04 41 01 05 C1 01 06 1B FFFFFFFFFFFFFFFF',
      ),
    ).toEqual(['integer', 'float', 'boolean', 'string', 'opaque', 'time', 'unsigned']);
  });

  it('keeps the type the model gives a multiple resource', () => {
    expect(decode(hex('A1 83 03 00 07 A1 00 19 0FA0'), [3, 0, 7], context)).toEqual(
      multipleResource(7, 'integer', [[0, 4000]]),
    );
  });
});

describe('LwM2M CBOR rejects bad input with DecodeError', () => {
  it.each<[string, string, Lwm2mPath, RegExp]>([
    ['an empty payload', '', [3, 0], /empty payload/],
    ['a root that is not a map', '83 03 00 00', [3, 0], /must be a map/],
    ['trailing bytes', 'A0 00', [3, 0], /after the root map/],
    ['a truncated map', 'A2 83 03 00 00 61 78', [3, 0], /truncated|overruns/],
    ['a truncated string', 'A1 83 03 00 00 65 61', [3, 0, 0], /overruns/],
    ['a text key', `A1 61 33 A0`, [3], /id or an array of ids/],
    ['a negative key', 'A1 20 A0', [3], /id or an array of ids/],
    ['an id above 65534', 'A1 19 FFFF A0', [3], /out of range/],
    ['a 64-bit id', 'A1 1B 0000000100000000 A0', [3], /out of range/],
    ['an empty array key', 'A1 80 A0', [3], /empty array key/],
    ['an array key holding text', 'A1 82 03 61 30 A0', [3], /ids only/],
    ['a path deeper than four ids', 'A1 85 03 00 06 00 01 05', [3, 0], /deeper than a resource instance/],
    [
      'nesting deeper than four ids',
      'A1 03 A1 00 A1 06 A1 00 A1 01 05',
      [3],
      /map at \/3\/0\/6\/0, which is a resource instance/,
    ],
    ['a value at an object path', 'A1 03 05', [3], /not a resource/],
    ['a value at an instance path', 'A1 82 03 00 05', [3, 0], /not a resource/],
    ['a map at a resource-instance path', 'A1 84 03 00 06 00 A0', [3, 0, 6], /resource instance/],
    ['a duplicate value', `A2 83 03 00 00 ${tstr('a')} 83 03 00 00 ${tstr('b')}`, [3, 0], /given twice/],
    [
      'a duplicate through two key shapes',
      `A2 83 03 00 00 ${tstr('a')} 03 A1 00 A1 00 ${tstr('b')}`,
      [3, 0],
      /given twice/,
    ],
    [
      'a value with nested entries',
      'A2 83 03 00 06 01 84 03 00 06 00 02',
      [3, 0],
      /value and nested entries/,
    ],
    ['nested entries then a value', 'A2 84 03 00 06 00 02 83 03 00 06 01', [3, 0], /given twice/],
    ['a value outside the path', `A1 83 03 01 00 ${tstr('x')}`, [3, 0], /outside \/3\/0/],
    ['another object', `A2 83 03 00 00 ${tstr('x')} 83 04 00 00 01`, [3], /outside \/3/],
    ['no value for a single resource', 'A0', [3, 0, 0], /no value/],
    ['no value for a resource instance', 'A0', [3, 0, 6, 1], /no value/],
    ['a single value for a multiple resource', 'A1 83 03 00 06 01', [3, 0, 6], /multiple-instance resource/],
    [
      'text for an integer resource',
      `A1 83 03 00 09 ${tstr('9')}`,
      [3, 0, 9],
      /cannot be the value of a integer/,
    ],
    ['a value for an executable', 'A1 83 03 00 04 01', [3, 0], /executable/],
    ['null (Write-Composite removal)', 'A1 84 03 00 06 00 F6', [3, 0, 6], /null/],
    ['undefined', 'A1 83 03 00 09 F7', [3, 0, 9], /simple value 23/],
    ['invalid UTF-8', 'A1 83 03 00 00 62 C3 28', [3, 0, 0], /UTF-8/],
    ['an array value', 'A1 83 03 00 09 81 01', [3, 0, 9], /array cannot be a resource value/],
    ['a break outside an indefinite map', 'A1 83 03 00 09 FF', [3, 0, 9], /unexpected break/],
    ['a bad string chunk', 'A1 83 03 00 00 7F 41 61 FF', [3, 0, 0], /bad chunk/],
    ['an out-of-range integer', 'A1 83 03 00 09 1B FFFFFFFFFFFFFFFF', [3, 0, 9], /out of range/],
    ['a map length the payload cannot hold', 'BB 00000000FFFFFFFF', [3], /overruns/],
  ])('%s', (_name, payload, path, pattern) => {
    const error = expectDecodeError(() => decode(hex(payload), path, context), pattern);
    expect(error.format).toBe(11544);
  });

  it('points at the offending byte', () => {
    const error = expectDecodeError(() => decode(hex('A1 82 03 19 FFFF A0'), [3], context));
    expect(error.offset).toBe(3);
  });

  it('honours maxEntries and maxDepth', () => {
    const many = encode(
      objectInstance(0, [
        singleResource(0, 'string', 'a'),
        singleResource(1, 'string', 'b'),
        singleResource(2, 'string', 'c'),
      ]),
      [3, 0],
      context,
    );
    expect(decode(many, [3, 0], createTestContext({ maxEntries: 4 }))).toBeDefined();
    expectDecodeError(
      () => decode(many, [3, 0], createTestContext({ maxEntries: 3 })),
      /more than 3 map entries/,
    );
    const deep = hex('A1 03 A1 00 A1 00 61 78');
    expect(decode(deep, [3, 0, 0], createTestContext({ maxDepth: 4 }))).toEqual(
      singleResource(0, 'string', 'x'),
    );
    expectDecodeError(
      () => decode(deep, [3, 0, 0], createTestContext({ maxDepth: 3 })),
      /nesting deeper than 3/,
    );
    // Tags nest without a map; the depth bound stops them too.
    const tags = hex(`A1 83 03 00 0D ${'C6'.repeat(40)} 01`);
    expectDecodeError(() => decode(tags, [3, 0, 13], context), /nesting deeper than 16/);
  });

  it('throws only typed errors for random and mutated payloads', () => {
    const seed = encode(
      objectInstance(0, [
        singleResource(0, 'string', 'Open Mobile Alliance'),
        multipleResource(6, 'integer', [
          [0, 1],
          [1, 5],
        ]),
      ]),
      [3, 0],
      context,
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 40 }),
          fc
            .tuple(fc.nat({ max: seed.length - 1 }), fc.nat({ max: 255 }), fc.nat({ max: seed.length }))
            .map(([at, byte, cut]) => {
              const copy = seed.slice(0, Math.max(cut, at + 1));
              copy[at] = byte;
              return copy;
            }),
        ),
        fc.constantFrom<Lwm2mPath>([3], [3, 0], [3, 0, 6], [3, 0, 6, 1]),
        (payload, path) => {
          for (const run of [
            () => decode(payload, path, context),
            () => decodeComposite(payload, context),
            () => decodeComposite(payload, context, [path]),
          ]) {
            try {
              run();
            } catch (error) {
              if (!isLwm2mError(error)) throw error;
            }
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('LwM2M CBOR encoder errors', () => {
  it.each<[string, Lwm2mNode, Lwm2mPath, RegExp]>([
    ['a node at the wrong level', singleResource(0, 'string', 'x'), [3, 0], /does not fit/],
    ['a node id that is not the path id', singleResource(1, 'string', 'x'), [3, 0, 0], /does not fit/],
    ['a value of the wrong type', singleResource(9, 'integer', 'x'), [3, 0, 9], /not a valid integer/],
    ['an executable value', singleResource(4, 'none', 1), [3, 0, 4], /executable/],
    ['an instance id out of range', objectNode(3, [objectInstance(70000, [])]), [3], /out of range/],
  ])('rejects %s', (_name, node, path, pattern) => {
    expect(() => encode(node, path, context)).toThrow(EncodeError);
    expect(() => encode(node, path, context)).toThrow(pattern);
  });

  it('rejects overlapping or malformed composite paths', () => {
    const value = singleResource(0, 'string', 'x');
    const overlap = new Map<string, Lwm2mNode>([
      ['/3/0', objectInstance(0, [value])],
      ['/3/0/0', value],
    ]);
    expect(() => encodeComposite(overlap, context)).toThrow(/given twice/);
    expect(() => encodeComposite(new Map([['3/0/0', value]]), context)).toThrow(EncodeError);
    expect(() => encodeComposite(new Map([['/', value]]), context)).toThrow(EncodeError);
  });

  it('has no path-list form (Read-Composite requests are SenML)', () => {
    expect(() => lwm2mCborFormat.encodePaths([[3, 0]])).toThrow(UnsupportedFormatError);
    expect(() => lwm2mCborFormat.decodePaths(hex('A0'), context)).toThrow(UnsupportedFormatError);
  });
});

describe('LwM2M CBOR composite', () => {
  const manufacturer = singleResource(0, 'string', 'ACME');
  const lifetime = singleResource(1, 'integer', 300);
  const server = objectInstance(0, [lifetime, singleResource(6, 'boolean', false)]);

  it('groups values under the requested paths of a Read-Composite', () => {
    const payload = encodeComposite(
      new Map<string, Lwm2mNode>([
        ['/3/0/0', manufacturer],
        ['/1/0', server],
      ]),
      context,
    );
    expect(decodeComposite(payload, context, [[3, 0, 0], [1, 0], [3303]])).toEqual(
      new Map<string, Lwm2mNode>([
        ['/3/0/0', manufacturer],
        ['/1/0', server],
      ]),
    );
    expect(decodeComposite(payload, context, [[]])).toEqual(
      new Map<string, Lwm2mNode>([
        ['/3', objectNode(3, [objectInstance(0, [manufacturer])])],
        ['/1', objectNode(1, [server])],
      ]),
    );
    expectDecodeError(() => decodeComposite(payload, context, [[3, 0, 0]]), /\/1\/0\/1 was not requested/);
  });

  it('gives one node per value without requested paths, keeping empty multiple resources', () => {
    const payload = hex('A2 83 03 00 07 A0 83 01 00 01 19 012C');
    expect(decodeComposite(payload, context)).toEqual(
      new Map<string, Lwm2mNode>([
        ['/3/0/7', multipleResource(7, 'integer', [])],
        ['/1/0/1', lifetime],
      ]),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Round trips over every type at every level

const arbitraryObject = fc
  .uniqueArray(arbitraryInstance, { selector: (i) => i.id, maxLength: 3 })
  .map((instances) => objectNode(ALL_TYPES_OBJECT_ID, instances));

describe('LwM2M CBOR round trips', () => {
  it('at every level, for every type', () => {
    const nodeAndPath: fc.Arbitrary<[Lwm2mNode, Lwm2mPath]> = fc.oneof(
      arbitraryObject.map((o): [Lwm2mNode, Lwm2mPath] => [o, [o.id]]),
      arbitraryInstance.map((i): [Lwm2mNode, Lwm2mPath] => [i, [ALL_TYPES_OBJECT_ID, i.id]]),
      fc
        .tuple(fc.nat({ max: 65534 }), fc.constantFrom(...VALUE_TYPES).chain(arbitraryResource))
        .map(([iid, r]): [Lwm2mNode, Lwm2mPath] => [r, [ALL_TYPES_OBJECT_ID, iid, r.id]]),
      fc
        .tuple(fc.nat({ max: 65534 }), fc.nat({ max: 65534 }), fc.constantFrom(...VALUE_TYPES))
        .chain(([iid, riid, type]) =>
          arbitraryValue(type).map((value): [Lwm2mNode, Lwm2mPath] => [
            resourceInstance(riid, type, value),
            [ALL_TYPES_OBJECT_ID, iid, ALL_TYPES_RESOURCES[type] + 100, riid],
          ]),
        ),
    );
    fc.assert(
      fc.property(nodeAndPath, ([node, path]) => {
        const payload = encode(node, path, context);
        expect(decode(payload, path, context)).toEqual(node);
        // A single node is written straight from it; a composite of that one node goes through
        // the path tree. Both must fold keys alike, byte for byte.
        expect(Buffer.from(payload).toString('hex')).toBe(
          Buffer.from(encodeComposite(new Map([[formatPath(path), node]]), context)).toString('hex'),
        );
      }),
      { numRuns: 400 },
    );
  });

  it('as composites, with and without requested paths', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(arbitraryInstance, { selector: (i) => i.id, minLength: 1, maxLength: 3 }),
        (instances) => {
          const nodes = new Map<string, Lwm2mNode>(
            instances.map((i) => [formatPath([ALL_TYPES_OBJECT_ID, i.id]), i]),
          );
          const payload = encodeComposite(nodes, context);
          const paths = instances.map((i): Lwm2mPath => [ALL_TYPES_OBJECT_ID, i.id]);
          expect(decodeComposite(payload, context, paths)).toEqual(nodes);

          // Without paths every value stands alone; only empty multiple resources survive as aggregates.
          const expected = new Map<string, Lwm2mNode>();
          for (const instance of instances) {
            for (const r of instance.resources.values()) {
              if (r.kind === 'multipleResource' && r.instances.size === 0) {
                expected.set(formatPath([ALL_TYPES_OBJECT_ID, instance.id, r.id]), r);
              }
            }
            for (const e of nodeToEntries(instance, [ALL_TYPES_OBJECT_ID, instance.id])) {
              const id = e.path[e.path.length - 1] as number;
              expected.set(
                formatPath(e.path),
                e.path.length === 4
                  ? resourceInstance(id, e.type, e.value)
                  : singleResource(id, e.type, e.value),
              );
            }
          }
          const flat = decodeComposite(payload, context);
          expect(new Map([...flat].sort())).toEqual(new Map([...expected].sort()));
        },
      ),
      { numRuns: 200 },
    );
  });
});
