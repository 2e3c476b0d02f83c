import {
  DecodeError,
  multipleResource,
  objectInstance,
  objectNode,
  parsePath,
  resourceInstance,
  singleResource,
} from '@lwm2m/core';
import type { Lwm2mNode, Lwm2mPath, ObjectInstanceNode, ResourceNode } from '@lwm2m/core';
import fc from 'fast-check';
import { senmlCborFormat } from './senml-cbor.js';
import {
  ALL_TYPES_RESOURCES,
  VALUE_TYPES,
  arbitraryInstance,
  arbitraryValue,
  createTestContext,
  specDeviceInstance,
} from './test-fixtures.js';

const context = createTestContext();
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const decode = (h: string, path: string): Lwm2mNode =>
  senmlCborFormat.decode(bytes(h), parsePath(path), context);

const deviceInstance = (): Lwm2mNode => specDeviceInstance();

// TS Core Table 7.4.4-2 in SenML CBOR, byte for byte as in Wakaama's data_senml_cbor_tests 1.
const DEVICE_CBOR =
  '90a321652f332f302f00613003744f70656e204d6f62696c6520416c6c69616e6365a2006131037' +
  '64c69676874776569676874204d324d20436c69656e74a20061320369333435303030313233a2006133' +
  '0363312e30a20063362f300201a20063362f310205a20063372f3002190ed8a20063372f3102191388a2' +
  '0063382f3002187da20063382f3102190384a2006139021864a2006231300' +
  '20fa2006431312f300200a2006231330' +
  '21a5182428fa20062313403662b30323a3030a200623136036155';

describe('SenML CBOR golden vectors', () => {
  test('Device instance (TS Core Table 7.4.4-2; Wakaama data_senml_cbor_tests 1)', () => {
    expect(hex(senmlCborFormat.encode(deviceInstance(), [3, 0], context))).toBe(DEVICE_CBOR);
    expect(decode(DEVICE_CBOR, '/3/0')).toEqual(deviceInstance());
  });

  test('opaque as a byte string (Leshan senml_cbor_encode_opaque_resource)', () => {
    const node = singleResource(3, 'opaque', new Uint8Array([0xab, 0xcd, 0xef]));
    expect(hex(senmlCborFormat.encode(node, [0, 0, 3], context))).toBe('81a221662f302f302f330843abcdef');
    expect(decode('81a221662f302f302f330843abcdef', '/0/0/3')).toEqual(node);
  });

  test('single resource and path list (TS Core Tables 7.4.4-5/6; Wakaama tests 4 and 5)', () => {
    const single = '81a221662f332f302f3003744f70656e204d6f62696c6520416c6c69616e6365';
    expect(
      hex(senmlCborFormat.encode(singleResource(0, 'string', 'Open Mobile Alliance'), [3, 0, 0], context)),
    ).toBe(single);
    const paths = '83a100662f332f302f30a100662f332f302f39a100662f312f302f31';
    const list: Lwm2mPath[] = [
      [3, 0, 0],
      [3, 0, 9],
      [1, 0, 1],
    ];
    expect(senmlCborFormat.decodePaths(bytes(paths), context)).toEqual(list);
    expect(hex(senmlCborFormat.encodePaths(list))).toBe(paths);
  });

  test('Read-Composite response (TS Core Table 7.4.4-7; Wakaama test 6)', () => {
    const payload =
      '83a200662f332f302f3003744f70656e204d6f62696c6520416c6c69616e6365a200662f332f302f390218' +
      '5fa200662f312f302f31021a00015180';
    expect(
      senmlCborFormat.decodeComposite(bytes(payload), context, [
        [3, 0, 0],
        [3, 0, 9],
        [1, 0, 1],
      ]),
    ).toEqual(
      new Map<string, Lwm2mNode>([
        ['/3/0/0', singleResource(0, 'string', 'Open Mobile Alliance')],
        ['/3/0/9', singleResource(9, 'integer', 95)],
        ['/1/0/1', singleResource(1, 'integer', 86400)],
      ]),
    );
  });

  test('object links under the text key "vlo" (TS Core Table 7.4.4-4; Wakaama test 3)', () => {
    const decoded = senmlCborFormat.decodeComposite(bytes(fixedTable4()), context);
    expect(decoded.get('/65/0/0/0')).toEqual(resourceInstance(0, 'objlnk', { objectId: 66, instanceId: 0 }));
    expect(decoded.get('/66/1/2')).toEqual(
      singleResource(2, 'objlnk', { objectId: 65535, instanceId: 65535 }),
    );
    expect(decoded.size).toBe(12);
    const link = multipleResource(0, 'objlnk', [[0, { objectId: 66, instanceId: 0 }]]);
    expect(hex(senmlCborFormat.encode(link, [65, 0, 0], context))).toBe(
      '81a321682f36352f302f302f00613063766c6f6436363a30',
    );
  });

  test('Wakaama test 10: fields in any order, re-encoded as Wakaama expects (10d, 10e)', () => {
    const input =
      '84a4006131021904d221662f31322f302f221a0012d687a200613302fb404c64fdf3b645a2a20063322f3002fb3fcd70a3d70a3d71' +
      'a20063322f3102fbc04a0013a92a3055';
    const expectD =
      '84a321662f31322f302f00613102' +
      '1904d2a200613302fb404c64fdf3b645a2a20063322f3002fb3fcd70a3d70a3d71a20063322f3102fbc04a0013a92a3055';
    const instance = decode(input, '/12/0') as ObjectInstanceNode;
    expect(hex(senmlCborFormat.encode(instance, [12, 0], context))).toBe(expectD);
    expect(hex(senmlCborFormat.encode(instance.resources.get(3) as ResourceNode, [12, 0, 3], context))).toBe(
      '81a221672f31322f302f3302fb404c64fdf3b645a2',
    );
  });

  test('historical notification (TS Core Table 7.4.4-3; Wakaama test 2)', () => {
    const payload =
      '83a521642f37322f221a0184876a0063312f3202fb403666666666666606' +
      '24a30063312f3202fb4036e666666666660638' +
      '1da30063312f3202fb403819999999999a063831';
    const spy = jest.spyOn(Date, 'now').mockReturnValue(1_600_000_000_000);
    try {
      const data = senmlCborFormat.decodeTimestamped(bytes(payload), [72, 1, 2], context);
      expect(data).toEqual(
        [
          [25462629, 22.4],
          [25462604, 22.9],
          [25462584, 24.1],
        ].map(([t, v]) => ({
          time: 1_600_000_000 + (t as number),
          nodes: new Map([['/72/1/2', singleResource(2, 'float', v as number)]]),
        })),
      );
    } finally {
      spy.mockRestore();
    }
  });

  test('relative times resolve against the context clock (RFC 8428 §4.5.3)', () => {
    // [{-2: "/3303/0/5700", -3: -5, 2: 21.5}, {-2: "/3303/0/5700", -3: 1700000000, 2: 22}]
    const payload =
      '82a3216c2f333330332f302f353730302224' +
      '02fb4035800000000000' +
      'a3216c2f333330332f302f35373030221a6553f100' +
      '0216';
    const at = (ms: number) =>
      senmlCborFormat.decodeTimestamped(bytes(payload), [3303, 0, 5700], { ...context, now: () => ms });
    expect(at(1_600_000_000_000).map((d) => d.time)).toEqual([1_599_999_995, 1_700_000_000]);
    expect(at(1_600_000_010_500).map((d) => d.time)).toEqual([1_600_000_005.5, 1_700_000_000]);
  });

  test('Send with decimal-fraction base times (Leshan senml_cbor_encode_timestamped_nodes)', () => {
    const payload =
      '83a321662f302f302f3022c482001a1dcd6504036c53616d706c65537472696e67a321662f302f302f3122c482001a1dcd650504f4' +
      'a321662f302f302f3222c482001a1dcd6506021901c8';
    expect(senmlCborFormat.decodeTimestamped(bytes(payload), [], context)).toEqual([
      { time: 500000004, nodes: new Map([['/0/0/0', singleResource(0, 'string', 'SampleString')]]) },
      { time: 500000005, nodes: new Map([['/0/0/1', singleResource(1, 'boolean', false)]]) },
      { time: 500000006, nodes: new Map([['/0/0/2', singleResource(2, 'integer', 456)]]) },
    ]);
    // We write the same records with plain integer times.
    const data = [
      {
        time: 500000004,
        nodes: new Map<string, Lwm2mNode>([['/0/0/0', singleResource(0, 'string', 'SampleString')]]),
      },
    ];
    expect(hex(senmlCborFormat.encodeTimestamped(data, [], context))).toBe(
      '81a321662f302f302f30221a1dcd6504036c53616d706c65537472696e67',
    );
  });

  test('numbers of every width and encoding', () => {
    const at = (path: string, value: string): Lwm2mNode =>
      decode(`81a2216${path.length.toString(16)}${Buffer.from(path).toString('hex')}02${value}`, path);
    // 64-bit integers, major types 0 and 1.
    expect(at('/10241/0/1', '1b7fffffffffffffff')).toEqual(
      singleResource(1, 'integer', 9223372036854775807n),
    );
    expect(at('/10241/0/1', '3b7fffffffffffffff')).toEqual(
      singleResource(1, 'integer', -9223372036854775808n),
    );
    expect(at('/10241/0/2', '1bffffffffffffffff')).toEqual(
      singleResource(2, 'unsigned', 18446744073709551615n),
    );
    expect(at('/10241/0/1', '1b0000000000000005')).toEqual(singleResource(1, 'integer', 5));
    // A bignum (tag 2) that fits uint64, and one that does not.
    expect(at('/10241/0/2', 'c248ffffffffffffffff')).toEqual(
      singleResource(2, 'unsigned', 18446744073709551615n),
    );
    expect(() => at('/10241/0/2', 'c249010000000000000000')).toThrow(/out of range/);
    // Half, single and double floats; a decimal fraction 4([-2, 27315]) (RFC 8949 §3.4.4).
    expect(at('/10241/0/3', 'f93e00')).toEqual(singleResource(3, 'float', 1.5));
    expect(at('/10241/0/3', 'fa47c35000')).toEqual(singleResource(3, 'float', 100000));
    expect(at('/10241/0/3', 'c48221196ab3')).toEqual(singleResource(3, 'float', 273.15));
    // Integers beyond 32 bits go out as CBOR integers, not floats.
    expect(hex(senmlCborFormat.encode(singleResource(1, 'integer', 2 ** 40), [10241, 0, 1], context))).toBe(
      '81a2216a2f31303234312f302f31021b0000010000000000',
    );
    expect(
      hex(senmlCborFormat.encode(singleResource(1, 'integer', -(2 ** 40)), [10241, 0, 1], context)),
    ).toBe('81a2216a2f31303234312f302f31023b000000ffffffffff');
    // NaN has a CBOR form.
    const nan = senmlCborFormat.encode(singleResource(3, 'float', Number.NaN), [10241, 0, 3], context);
    expect(senmlCborFormat.decode(nan, [10241, 0, 3], context)).toEqual(
      singleResource(3, 'float', Number.NaN),
    );
    // Limitation: cbor-x writes the integral float -0 as the integer 0.
    expect(hex(senmlCborFormat.encode(singleResource(3, 'float', -0), [10241, 0, 3], context))).toBe(
      '81a2216a2f31303234312f302f330200',
    );
  });

  test('indefinite lengths (array, map, text) and unknown fields of any shape', () => {
    // [_ {_ -2: "/3/0/", 0: (_ "9"), 2: 5, 1: [_ "%", {}], 5: null}]
    const payload =
      '9f' + 'bf' + '21652f332f302f' + '00' + '7f6139ff' + '0205' + '019f6125a0ff' + '05f6' + 'ff' + 'ff';
    expect(decode(payload, '/3/0')).toEqual(objectInstance(0, [singleResource(9, 'integer', 5)]));
  });

  test('text keys for the named fields are read too', () => {
    // [{"bn": "/3/0/", "n": "9", "v": 5}]
    expect(decode('81a362626e652f332f302f616e61396176' + '05', '/3/0')).toEqual(
      objectInstance(0, [singleResource(9, 'integer', 5)]),
    );
  });

  test('object, resource instance and empty payloads', () => {
    const node = objectNode(3, [deviceInstance() as never]);
    expect(senmlCborFormat.decode(senmlCborFormat.encode(node, [3], context), [3], context)).toEqual(node);
    expect(decode('80', '/3/0/7')).toEqual(multipleResource(7, 'integer', []));
    expect(hex(senmlCborFormat.encode(multipleResource(7, 'integer', []), [3, 0, 7], context))).toBe('80');
  });
});

/** TS Core Table 7.4.4-4 (object links), from Wakaama data_senml_cbor_tests 3. */
function fixedTable4(): string {
  const records: [string, string, string][] = [
    ['65/0/0/0', 'vlo', '66:0'],
    ['65/0/0/1', 'vlo', '66:1'],
    ['65/0/1', 'vs', '8613800755500'],
    ['65/0/2', 'v', '1'],
    ['66/0/0', 'vs', 'myService1'],
    ['66/0/1', 'vs', 'Internet.15.234'],
    ['66/0/2', 'vlo', '67:0'],
    ['66/1/0', 'vs', 'myService2'],
    ['66/1/1', 'vs', 'Internet.15.235'],
    ['66/1/2', 'vlo', '65535:65535'],
    ['67/0/0', 'vs', '85.76.76.84'],
    ['67/0/1', 'vs', '85.76.255.255'],
  ];
  const text = (s: string): string => (0x60 + s.length).toString(16) + Buffer.from(s).toString('hex');
  let out = '8c';
  records.forEach(([n, field, value], i) => {
    out += i === 0 ? 'a3' + '21' + text('/') : 'a2';
    out += '00' + text(n);
    if (field === 'vlo') out += text('vlo') + text(value);
    else if (field === 'vs') out += '03' + text(value);
    else out += '02' + '01';
  });
  return out;
}

describe('SenML CBOR bad input', () => {
  const bad: readonly [string, string, RegExp][] = [
    ['empty payload', '', /invalid CBOR/],
    ['truncated', '81a221662f332f', /invalid CBOR/],
    ['trailing bytes', '8000', /invalid CBOR/],
    ['not an array', 'a0', /array of records/],
    ['record not a map', '8101', /not a map/],
    ['array key', '81a18000', /neither a label nor text/],
    ['bn not text', '81a12101', /bn must be a string/],
    ['v as text', '81a2216a2f31303234312f302f31026131', /v must be a number/],
    ['vd as an integer', '81a2216a2f31303234312f302f350801', /vd must be bytes/],
    ['vb as an integer', '81a2216a2f31303234312f302f340401', /vb must be a boolean/],
    ['must-understand key', '81a3216a2f31303234312f302f3102016278' + '5f' + '01', /must be understood/],
    ['huge declared length', '9bffffffff00000000', /invalid CBOR/],
    ['a bad chunk in indefinite text', '81a1037f4161ff', /bad chunk/],
    ['invalid UTF-8', '81a2216a2f31303234312f302f300362c328', /UTF-8/],
    ['a stray break', '81ff', /not a map/],
    ['a record map cut short', '81a3216a2f31303234312f302f30', /invalid CBOR/],
    ['a huge label', '81a11b0000000100000000' + '00', /no name/],
  ];
  test.each(bad)('%s', (_name, h, message) => {
    const run = (): unknown => senmlCborFormat.decode(bytes(h), [10241, 0], context);
    expect(run).toThrow(DecodeError);
    expect(run).toThrow(message);
  });

  test('record limit and hostile nesting', () => {
    const small = createTestContext({ maxEntries: 1 });
    expect(() => senmlCborFormat.decode(bytes('82a0a0'), [3, 0], small)).toThrow(/exceed the limit of 1/);
    const deep = new Uint8Array(200_000).fill(0x81);
    expect(() => senmlCborFormat.decode(deep, [3, 0], context)).toThrow(DecodeError);
  });

  test('arbitrary bytes and mutated payloads fail only with DecodeError', () => {
    const valid = bytes(DEVICE_CBOR);
    const mutated = fc
      .tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 }))
      .map(([at, byte]) => {
        const copy = valid.slice();
        copy[at] = byte;
        return copy;
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), mutated), (payload) => {
        for (const path of [[3, 0], [3], [3, 0, 0]] as Lwm2mPath[]) {
          try {
            senmlCborFormat.decode(payload, path, context);
          } catch (error) {
            if (!(error instanceof DecodeError)) throw error;
          }
        }
        try {
          senmlCborFormat.decodeComposite(payload, context);
        } catch (error) {
          if (!(error instanceof DecodeError)) throw error;
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('SenML CBOR instance writer', () => {
  it('writes an instance byte for byte as the record path does', () => {
    fc.assert(
      fc.property(arbitraryInstance, (instance) => {
        const path: Lwm2mPath = [10241, instance.id];
        const payload = senmlCborFormat.encode(instance, path, context);
        // A composite of the one instance goes through the records, as every other node does.
        const viaRecords = senmlCborFormat.encodeComposite(
          new Map([[`/10241/${instance.id}`, instance]]),
          context,
        );
        // Round trips of the record path are senml-records.test.ts's; equal bytes carry them over.
        expect(hex(payload)).toBe(hex(viaRecords));
      }),
      { numRuns: 300 },
    );
  });

  it('leaves ids out of range to the record path', () => {
    const odd = objectInstance(0, [singleResource(70000, 'integer', 1)]);
    expect(hex(senmlCborFormat.encode(odd, [3, 0], context))).toBe(
      hex(senmlCborFormat.encodeComposite(new Map([['/3/0', odd]]), context)),
    );
  });

  it('writes composite values byte for byte as the record path does', () => {
    const arbitraryValueNode = fc.oneof(
      fc
        .constantFrom(...VALUE_TYPES)
        .chain((type) =>
          fc
            .tuple(fc.nat({ max: 3 }), arbitraryValue(type))
            .map(([iid, value]): [string, Lwm2mNode] => [
              `/10241/${iid}/${ALL_TYPES_RESOURCES[type]}`,
              singleResource(ALL_TYPES_RESOURCES[type], type, value),
            ]),
        ),
      fc
        .tuple(fc.nat({ max: 3 }), fc.nat({ max: 65534 }))
        .map(([iid, riid]): [string, Lwm2mNode] => [
          `/10241/${iid}/101/${riid}`,
          resourceInstance(riid, 'integer', iid),
        ]),
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(arbitraryValueNode, { selector: ([key]) => key, maxLength: 20 }),
        (entries) => {
          const payload = senmlCborFormat.encodeComposite(new Map(entries), context);
          // Each value alone goes through the records (a one-record array); the composite is their records in a row.
          const records = entries.map(([key, node]) =>
            hex(senmlCborFormat.encode(node, parsePath(key), context)).slice(2),
          );
          const head =
            entries.length < 24 ? (0x80 + entries.length).toString(16) : `98${entries.length.toString(16)}`;
          expect(hex(payload)).toBe(head + records.join(''));
        },
      ),
      { numRuns: 200 },
    );
  });
});
