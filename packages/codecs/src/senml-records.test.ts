/**
 * Round-trip properties of the record-based formats (SenML JSON, SenML CBOR, LwM2M JSON) at every
 * level, plus the record model's resolution rules, exercised through SenML JSON.
 */
import {
  DecodeError,
  EncodeError,
  formatPath,
  multipleResource,
  objectInstance,
  objectNode,
  parsePath,
  resourceInstance,
  singleResource,
} from '@lwm2m/core';
import type { Lwm2mNode, Lwm2mPath, ResourceNode, ResourceType, ResourceValue } from '@lwm2m/core';
import fc from 'fast-check';
import { jsonFormat } from './lwm2m-json.js';
import { senmlCborFormat } from './senml-cbor.js';
import { senmlJsonFormat } from './senml-json.js';
import {
  ALL_TYPES_OBJECT_ID,
  ALL_TYPES_RESOURCES,
  VALUE_TYPES,
  arbitraryValue,
  createTestContext,
} from './test-fixtures.js';
import type { NodeFormat, TimestampedFormat, TimestampedNodes } from './types.js';

const context = createTestContext();
const OBJ = ALL_TYPES_OBJECT_ID;
const RUNS = { numRuns: 200 };

type ValueType = (typeof VALUE_TYPES)[number];

interface FormatCase {
  readonly name: string;
  readonly format: NodeFormat & TimestampedFormat;
  /** What a value becomes after a round trip when the format cannot carry it exactly. */
  readonly finite: boolean;
  readonly normalize: (type: ResourceType, value: ResourceValue) => ResourceValue;
}

const identity = (_type: ResourceType, value: ResourceValue): ResourceValue => value;

const FORMATS: readonly FormatCase[] = [
  { name: 'SenML JSON', format: senmlJsonFormat, finite: true, normalize: identity },
  {
    name: 'SenML CBOR',
    format: senmlCborFormat,
    finite: false,
    // cbor-x writes integral numbers as integers, so a float -0 comes back as 0 (documented).
    normalize: (type, value) => (type === 'float' && Object.is(value, -0) ? 0 : value),
  },
  { name: 'LwM2M JSON', format: jsonFormat, finite: true, normalize: identity },
];

function valueArb(type: ValueType, c: FormatCase): fc.Arbitrary<ResourceValue> {
  return arbitraryValue(type, { finite: c.finite }).map((v) => c.normalize(type, v));
}

const typeArb = fc.constantFrom(...VALUE_TYPES);
const idArb = fc.nat({ max: 65534 });

function singleArb(c: FormatCase): fc.Arbitrary<ResourceNode> {
  return typeArb.chain((type) =>
    valueArb(type, c).map((v) => singleResource(ALL_TYPES_RESOURCES[type], type, v)),
  );
}

function multipleArb(c: FormatCase, minLength: number): fc.Arbitrary<ResourceNode> {
  return typeArb.chain((type) =>
    fc
      .uniqueArray(fc.tuple(idArb, valueArb(type, c)), { selector: ([id]) => id, minLength, maxLength: 4 })
      .map((instances) => multipleResource(ALL_TYPES_RESOURCES[type] + 100, type, instances)),
  );
}

function resourceArb(c: FormatCase): fc.Arbitrary<ResourceNode> {
  return fc.oneof(singleArb(c), multipleArb(c, 1));
}

function instanceArb(c: FormatCase, id: fc.Arbitrary<number>, minLength: number): fc.Arbitrary<Lwm2mNode> {
  return fc
    .tuple(id, fc.uniqueArray(resourceArb(c), { selector: (r) => r.id, minLength, maxLength: 6 }))
    .map(([iid, resources]) => objectInstance(iid, resources));
}

/** A node and its path at every level the formats carry. */
function nodeAtPathArb(c: FormatCase): fc.Arbitrary<{ node: Lwm2mNode; path: Lwm2mPath }> {
  const object = fc
    .uniqueArray(instanceArb(c, idArb, 1), { selector: (i) => i.id, maxLength: 3 })
    .map((instances) => ({ node: objectNode(OBJ, instances as never), path: [OBJ] as Lwm2mPath }));
  const instance = instanceArb(c, idArb, 0).map((node) => ({ node, path: [OBJ, node.id] as Lwm2mPath }));
  const resource = fc
    .tuple(idArb, fc.oneof(singleArb(c), multipleArb(c, 0)))
    .map(([iid, node]) => ({ node: node as Lwm2mNode, path: [OBJ, iid, node.id] as Lwm2mPath }));
  const instanceValue = fc.tuple(idArb, idArb, typeArb).chain(([iid, riid, type]) =>
    valueArb(type, c).map((v) => ({
      node: resourceInstance(riid, type, v) as Lwm2mNode,
      path: [OBJ, iid, ALL_TYPES_RESOURCES[type] + 100, riid] as Lwm2mPath,
    })),
  );
  return fc.oneof(object, instance, resource, instanceValue);
}

describe.each(FORMATS)('$name round trips', (c) => {
  test('a node at every level', () => {
    fc.assert(
      fc.property(nodeAtPathArb(c), ({ node, path }) => {
        const payload = c.format.encode(node, path, context);
        expect(c.format.decode(payload, path, context)).toEqual(node);
      }),
      RUNS,
    );
  });

  test('timestamped values of an instance', () => {
    const timesArb = fc.uniqueArray(fc.integer({ min: 2 ** 28, max: 2 ** 33 }), {
      minLength: 1,
      maxLength: 4,
    });
    fc.assert(
      fc.property(
        timesArb,
        fc.array(instanceArb(c, fc.constant(3), 1), { minLength: 4, maxLength: 4 }),
        (times, nodes) => {
          const path: Lwm2mPath = [OBJ, 3];
          const data: TimestampedNodes[] = times.map((time, i) => ({
            time,
            nodes: new Map([[formatPath(path), nodes[i] as Lwm2mNode]]),
          }));
          const payload = c.format.encodeTimestamped(data, path, context);
          expect(c.format.decodeTimestamped(payload, path, context)).toEqual(data);
        },
      ),
      RUNS,
    );
  });
});

describe.each([
  { name: 'SenML JSON', format: senmlJsonFormat, c: FORMATS[0] as FormatCase },
  { name: 'SenML CBOR', format: senmlCborFormat, c: FORMATS[1] as FormatCase },
])('$name composite round trips', ({ format, c }) => {
  const compositeArb = fc
    .uniqueArray(fc.tuple(fc.nat({ max: 5 }), resourceArb(c)), {
      selector: ([iid, r]) => `${iid}/${r.id}`,
      minLength: 1,
      maxLength: 6,
    })
    .map((list) => new Map(list.map(([iid, r]) => [formatPath([OBJ, iid, r.id]), r as Lwm2mNode] as const)));

  test('Read-Composite answers decode under the requested paths', () => {
    fc.assert(
      fc.property(compositeArb, (nodes) => {
        const payload = format.encodeComposite(nodes, context);
        const paths = [...nodes.keys()].map(parsePath);
        expect(format.decodeComposite(payload, context, paths)).toEqual(nodes);
      }),
      RUNS,
    );
  });

  test('without requested paths every value is its own node', () => {
    fc.assert(
      fc.property(compositeArb, (nodes) => {
        const decoded = format.decodeComposite(format.encodeComposite(nodes, context), context);
        const expected = new Map<string, Lwm2mNode>();
        for (const [key, node] of nodes) {
          if (node.kind === 'resource') expected.set(key, node);
          else if (node.kind === 'multipleResource') {
            for (const [riid, v] of node.instances)
              expected.set(`${key}/${riid}`, resourceInstance(riid, node.type, v));
          }
        }
        expect(decoded).toEqual(expected);
      }),
      RUNS,
    );
  });

  test('path lists', () => {
    const pathArb = fc.array(idArb, { maxLength: 4 }).map((ids) => ids as unknown as Lwm2mPath);
    fc.assert(
      fc.property(fc.array(pathArb, { maxLength: 8 }), (paths) => {
        expect(format.decodePaths(format.encodePaths(paths), context)).toEqual(paths);
      }),
      RUNS,
    );
  });

  test('Send: timestamped values at the root path', () => {
    const timesArb = fc.uniqueArray(fc.integer({ min: 2 ** 28, max: 2 ** 33 }), {
      minLength: 1,
      maxLength: 3,
    });
    fc.assert(
      fc.property(timesArb, compositeArb, (times, nodes) => {
        // Each instant carries single resources only, as one node per value.
        const singles = new Map([...nodes].filter(([, n]) => n.kind === 'resource'));
        const data: TimestampedNodes[] = times.map((time) => ({ time, nodes: singles }));
        const decoded = format.decodeTimestamped(format.encodeTimestamped(data, [], context), [], context);
        expect(decoded).toEqual(singles.size === 0 ? [{ nodes: new Map() }] : data);
      }),
      RUNS,
    );
  });
});

describe('record resolution (through SenML JSON)', () => {
  const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
  const decode = (json: string, path: Lwm2mPath): Lwm2mNode =>
    senmlJsonFormat.decode(utf8(json), path, context);

  test('bn set once with relative names, repeated, or absent', () => {
    const expected = objectInstance(0, [singleResource(0, 'string', 'a'), singleResource(9, 'integer', 5)]);
    expect(decode('[{"bn":"/3/0/","n":"0","vs":"a"},{"n":"9","v":5}]', [3, 0])).toEqual(expected);
    expect(decode('[{"bn":"/3/0/","n":"0","vs":"a"},{"bn":"/3/0/","n":"9","v":5}]', [3, 0])).toEqual(
      expected,
    );
    expect(decode('[{"n":"/3/0/0","vs":"a"},{"n":"/3/0/9","v":5}]', [3, 0])).toEqual(expected);
    expect(decode('[{"bn":"/3/0/0","vs":"a"},{"bn":"/3/0/9","v":5}]', [3, 0])).toEqual(expected);
    // No leading slash and a base name without a trailing one.
    expect(decode('[{"bn":"3/0","n":"/0","vs":"a"},{"n":"/9","v":5}]', [3, 0])).toEqual(expected);
  });

  test('the model decides the type; without a model the field does', () => {
    expect(decode('[{"bn":"/3/0/9","v":5}]', [3, 0, 9])).toEqual(singleResource(9, 'integer', 5));
    expect(decode('[{"bn":"/3/0/13","v":1367491215}]', [3, 0, 13])).toEqual(
      singleResource(13, 'time', new Date(1367491215000)),
    );
    const unknown = decode(
      '[{"bn":"/77/0/","n":"0","v":5},{"n":"1","v":5.5},{"n":"2","vs":"x"},{"n":"3","vb":true},{"n":"4","vd":"AQI"},{"n":"5","vlo":"3:0"},{"n":"6","v":18446744073709551615}]',
      [77, 0],
    );
    expect(unknown).toEqual(
      objectInstance(0, [
        singleResource(0, 'integer', 5),
        singleResource(1, 'float', 5.5),
        singleResource(2, 'string', 'x'),
        singleResource(3, 'boolean', true),
        singleResource(4, 'opaque', new Uint8Array([1, 2])),
        singleResource(5, 'objlnk', { objectId: 3, instanceId: 0 }),
        singleResource(6, 'unsigned', 18446744073709551615n),
      ]),
    );
  });

  test('a field that does not fit the model type fails', () => {
    expect(() => decode('[{"bn":"/3/0/0","v":5}]', [3, 0, 0])).toThrow(DecodeError);
    expect(() => decode('[{"bn":"/3/0/9","vs":"5"}]', [3, 0, 9])).toThrow(DecodeError);
    expect(() => decode('[{"bn":"/3/0/9","v":5.5}]', [3, 0, 9])).toThrow(DecodeError);
    expect(() => decode('[{"bn":"/3/0/4","v":1}]', [3, 0, 4])).toThrow(/executable/);
  });

  test('records must name a resource and carry exactly one value', () => {
    expect(() => decode('[{"bn":"/3/0","vs":"a"}]', [3, 0])).toThrow(/not a resource/);
    expect(() => decode('[{"vs":"a"}]', [3, 0])).toThrow(/no name/);
    expect(() => decode('[{"bn":"/3/0/0"}]', [3, 0, 0])).toThrow(/no value/);
    expect(() => decode('[{"bn":"/3/0/0","vs":"a","v":1}]', [3, 0, 0])).toThrow(/more than one/);
    expect(() => decode('[{"bn":"/3/x/0","vs":"a"}]', [3, 0, 0])).toThrow(/not an LwM2M path/);
    expect(() => decode('[{"bn":"/3/0/0/1/2","vs":"a"}]', [3, 0, 0])).toThrow(/more than 4 levels/);
    expect(() => decode('[{"bn":"/3/0/65535","vs":"a"}]', [3, 0])).toThrow(/out of range/);
    expect(() => decode('[{"bn":"/3//0","vs":"a"}]', [3, 0])).toThrow(/not an LwM2M path/);
    expect(() => decode('[{"bn":"/3/0/00000000001","vs":"a"}]', [3, 0])).toThrow(/not an LwM2M path/);
    expect(() => decode('[{"bn":"/3/0/1 ","vs":"a"}]', [3, 0])).toThrow(/not an LwM2M path/);
  });

  test('values outside the target path fail', () => {
    expect(() => decode('[{"bn":"/3/0/0","vs":"a"}]', [3, 0, 1])).toThrow(DecodeError);
    expect(() => decode('[{"bn":"/3/1/0","vs":"a"}]', [3, 0])).toThrow(DecodeError);
  });

  test('base value is added to numeric values (RFC 8428 §4.6)', () => {
    expect(decode('[{"bv":1,"n":"/2/0/0","v":1},{"n":"/2/0/1","v":-1}]', [2, 0])).toEqual(
      objectInstance(0, [singleResource(0, 'integer', 2), singleResource(1, 'integer', 0)]),
    );
    expect(decode('[{"bv":9007199254740993,"n":"/2/0/0","v":2}]', [2, 0, 0])).toEqual(
      singleResource(0, 'integer', 9007199254740995n),
    );
  });

  test('times: absolute at or above 2^28, relative to now below', () => {
    const now = 1_700_000_000_000;
    const spy = jest.spyOn(Date, 'now').mockReturnValue(now);
    try {
      const payload = utf8(
        '[{"bn":"/3303/0/5700","bt":1700000100,"v":1},{"v":2,"t":-10},{"bt":-5,"v":3},{"bt":0,"t":268435456,"v":4}]',
      );
      const data = senmlJsonFormat.decodeTimestamped(payload, [3303, 0, 5700], context);
      expect(data.map((d) => d.time)).toEqual([1700000100, 1700000090, now / 1000 - 5, 268435456]);
    } finally {
      spy.mockRestore();
    }
  });

  test('a single-path decode keeps the latest of several timestamped values', () => {
    const payload = utf8('[{"bn":"/3303/0/5700","bt":300000000,"v":1},{"v":2,"t":20},{"v":3,"t":10}]');
    expect(senmlJsonFormat.decode(payload, [3303, 0, 5700], context)).toEqual(
      singleResource(5700, 'float', 2),
    );
    // Untimed duplicates are an error, not a choice.
    expect(() => decode('[{"bn":"/3303/0/5700","v":1},{"v":2}]', [3303, 0, 5700])).toThrow(/values/);
  });

  test('an empty payload at a multiple resource is an empty resource', () => {
    expect(decode('[]', [3, 0, 7])).toEqual(multipleResource(7, 'integer', []));
    expect(decode('[]', [3, 0])).toEqual(objectInstance(0, []));
    expect(decode('[]', [3])).toEqual(objectNode(3, []));
    expect(() => decode('[]', [3, 0, 9])).toThrow(DecodeError);
  });

  test('the root path is not a single-path target', () => {
    expect(() => decode('[]', [])).toThrow(DecodeError);
    expect(() => senmlJsonFormat.encode(singleResource(0, 'string', 'a'), [], context)).toThrow(EncodeError);
  });

  test('encoding checks values against their type and nodes against their path', () => {
    expect(() => senmlJsonFormat.encode(singleResource(9, 'integer', 1.5), [3, 0, 9], context)).toThrow(
      EncodeError,
    );
    expect(() => senmlJsonFormat.encode(singleResource(9, 'integer', 1), [3, 0, 8], context)).toThrow(
      EncodeError,
    );
    expect(() => senmlJsonFormat.encode(singleResource(4, 'none', ''), [3, 0, 4], context)).toThrow(
      EncodeError,
    );
    expect(() =>
      senmlJsonFormat.encodeComposite(new Map([['3/0/0', singleResource(0, 'string', 'a')]]), context),
    ).toThrow(EncodeError);
  });

  test('timestamped encoding needs absolute times and nodes below the path', () => {
    const nodes = new Map([['/3303/0/5700', singleResource(5700, 'float', 1) as Lwm2mNode]]);
    expect(() =>
      senmlJsonFormat.encodeTimestamped([{ time: 1000, nodes }], [3303, 0, 5700], context),
    ).toThrow(/absolute/);
    expect(() => senmlJsonFormat.encodeTimestamped([{ time: 3e8, nodes }], [3303, 1], context)).toThrow(
      /not below/,
    );
    // Untimed values go first: a base time cannot be taken back.
    const out = senmlJsonFormat.encodeTimestamped([{ time: 3e8, nodes }, { nodes }], [3303], context);
    expect(new TextDecoder().decode(out)).toBe(
      '[{"bn":"/3303/0/5700","v":1},{"bn":"/3303/0/5700","bt":300000000,"v":1}]',
    );
  });
});
