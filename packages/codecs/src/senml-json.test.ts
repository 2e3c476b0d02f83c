import {
  DecodeError,
  isLwm2mError,
  multipleResource,
  objectInstance,
  objectNode,
  parsePath,
  resourceInstance,
  singleResource,
} from '@lwm2m/core';
import type { Lwm2mNode, Lwm2mPath, ObjectNode } from '@lwm2m/core';
import fc from 'fast-check';
import { senmlJsonFormat } from './senml-json.js';
import { createTestContext, specDeviceInstance } from './test-fixtures.js';

const context = createTestContext();
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const encode = (node: Lwm2mNode, path: string): string =>
  text(senmlJsonFormat.encode(node, parsePath(path), context));
const decode = (json: string, path: string): Lwm2mNode =>
  senmlJsonFormat.decode(utf8(json), parsePath(path), context);

const deviceInstance = (): Lwm2mNode => specDeviceInstance();

// LwM2M TS Core 1.1 Table 7.4.4-2, as Leshan writes it and Wakaama's tests read it.
const DEVICE_SENML =
  '[{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},{"n":"1","vs":"Lightweight M2M Client"},' +
  '{"n":"2","vs":"345000123"},{"n":"3","vs":"1.0"},{"n":"6/0","v":1},{"n":"6/1","v":5},' +
  '{"n":"7/0","v":3800},{"n":"7/1","v":5000},{"n":"8/0","v":125},{"n":"8/1","v":900},' +
  '{"n":"9","v":100},{"n":"10","v":15},{"n":"11/0","v":0},{"n":"13","v":1367491215},' +
  '{"n":"14","vs":"+02:00"},{"n":"16","vs":"U"}]';

describe('SenML JSON golden vectors', () => {
  test('Device instance (TS Core Table 7.4.4-2; Leshan senml_json_encode_device_object_instance)', () => {
    expect(encode(deviceInstance(), '/3/0')).toBe(DEVICE_SENML);
    expect(decode(DEVICE_SENML, '/3/0')).toEqual(deviceInstance());
    expect(decode(DEVICE_SENML, '/3')).toEqual(objectNode(3, [deviceInstance() as never]));
  });

  test('single resource (TS Core Table 7.4.4-5; Leshan)', () => {
    const json = '[{"bn":"/3/0/0","vs":"Open Mobile Alliance"}]';
    expect(encode(singleResource(0, 'string', 'Open Mobile Alliance'), '/3/0/0')).toBe(json);
    expect(decode(json, '/3/0/0')).toEqual(singleResource(0, 'string', 'Open Mobile Alliance'));
  });

  test('multiple resource and resource instance (Leshan senml_json_encode_multiple_resource)', () => {
    const node = multipleResource(7, 'integer', [
      [0, 3800],
      [1, 5000],
    ]);
    const json = '[{"bn":"/3/0/7/","n":"0","v":3800},{"n":"1","v":5000}]';
    expect(encode(node, '/3/0/7')).toBe(json);
    expect(decode(json, '/3/0/7')).toEqual(node);
    expect(encode(resourceInstance(1, 'integer', 5000), '/3/0/7/1')).toBe('[{"bn":"/3/0/7/1","v":5000}]');
    expect(decode('[{"bn":"/3/0/7/1","v":5000}]', '/3/0/7/1')).toEqual(resourceInstance(1, 'integer', 5000));
  });

  test('opaque as base64url without padding (Leshan senml_json_encode_opaque_resource); padded base64 read too', () => {
    const node = singleResource(5, 'opaque', new Uint8Array([0xab, 0xcd, 0xef]));
    expect(encode(node, '/10241/0/5')).toBe('[{"bn":"/10241/0/5","vd":"q83v"}]');
    expect(encode(singleResource(5, 'opaque', new Uint8Array([0xfb, 0xff])), '/10241/0/5')).toBe(
      '[{"bn":"/10241/0/5","vd":"-_8"}]',
    );
    // Wakaama data_senml_json_tests 23 and 26: padded standard base64 and an empty value.
    expect(decode('[{"bn":"/10241/0/5","vd":"AQIDBAU="}]', '/10241/0/5')).toEqual(
      singleResource(5, 'opaque', new Uint8Array([1, 2, 3, 4, 5])),
    );
    expect(decode('[{"bn":"/10241/0/5","vd":"+/8="}]', '/10241/0/5')).toEqual(
      singleResource(5, 'opaque', new Uint8Array([0xfb, 0xff])),
    );
    expect(decode('[{"bn":"/10241/0/5","vd":""}]', '/10241/0/5')).toEqual(
      singleResource(5, 'opaque', new Uint8Array(0)),
    );
    expect(() => decode('[{"bn":"/10241/0/5","vd":"A"}]', '/10241/0/5')).toThrow(DecodeError);
    expect(() => decode('[{"bn":"/10241/0/5","vd":"A*=="}]', '/10241/0/5')).toThrow(DecodeError);
  });

  test('Read-Composite request and response (TS Core Tables 7.4.4-6/7; Leshan)', () => {
    const paths = ['/3/0/0', '/3/0/9', '/1/0/1'].map(parsePath);
    expect(text(senmlJsonFormat.encodePaths(paths))).toBe('[{"n":"/3/0/0"},{"n":"/3/0/9"},{"n":"/1/0/1"}]');
    expect(
      senmlJsonFormat.decodePaths(utf8('[{"n":"/3/0/0"},{"n":"/3/0/9"},{"n":"/1/0/1"}]'), context),
    ).toEqual(paths);

    const nodes = new Map<string, Lwm2mNode>([
      ['/3/0/0', singleResource(0, 'string', 'Open Mobile Alliance')],
      ['/3/0/9', singleResource(9, 'integer', 95)],
      ['/1/0/1', singleResource(1, 'integer', 86400)],
    ]);
    expect(text(senmlJsonFormat.encodeComposite(nodes, context))).toBe(
      '[{"bn":"/3/0/0","vs":"Open Mobile Alliance"},{"bn":"/3/0/9","v":95},{"bn":"/1/0/1","v":86400}]',
    );
    const table7 =
      '[{"n":"/3/0/0", "vs":"Open Mobile Alliance"},{"n" :"/3/0/9", "v":95},{"n":"/1/0/1", "v":86400}]';
    expect(senmlJsonFormat.decodeComposite(utf8(table7), context, paths)).toEqual(nodes);
    expect(senmlJsonFormat.decodeComposite(utf8(table7), context)).toEqual(nodes);
    // Grouped under a coarser requested path.
    expect(senmlJsonFormat.decodeComposite(utf8(table7), context, [[3, 0], [1]])).toEqual(
      new Map<string, Lwm2mNode>([
        [
          '/3/0',
          objectInstance(0, [
            singleResource(0, 'string', 'Open Mobile Alliance'),
            singleResource(9, 'integer', 95),
          ]),
        ],
        ['/1', objectNode(1, [objectInstance(0, [singleResource(1, 'integer', 86400)])])],
      ]),
    );
    expect(() => senmlJsonFormat.decodeComposite(utf8(table7), context, [[3, 0]])).toThrow(
      /outside the requested paths/,
    );
    // The root path groups by object.
    expect([...senmlJsonFormat.decodeComposite(utf8(table7), context, [[]]).keys()]).toEqual(['/3', '/1']);
  });

  test('composite of resources and an instance (Leshan senml_json_encode_mixed_resource_and_instance)', () => {
    const nodes = new Map<string, Lwm2mNode>([
      ['/4/0/0', singleResource(0, 'integer', 45)],
      ['/4/0/1', singleResource(1, 'integer', 30)],
      ['/4/0/2', singleResource(2, 'integer', 100)],
      [
        '/6/0',
        objectInstance(0, [singleResource(0, 'float', 43.918998), singleResource(1, 'float', 2.351149)]),
      ],
    ]);
    expect(text(senmlJsonFormat.encodeComposite(nodes, context))).toBe(
      '[{"bn":"/4/0/0","v":45},{"bn":"/4/0/1","v":30},{"bn":"/4/0/2","v":100},' +
        '{"bn":"/6/0/","n":"0","v":43.918998},{"n":"1","v":2.351149}]',
    );
  });

  test('Write-Composite with booleans across objects (TS Core Table 7.4.4-8)', () => {
    const json =
      '[{"n":"/3311/0/5850", "vb":false},{"n":"/3311/1/5850", "vb":false},{"n":"/3311/2/5851", "v":20},{"n":"/3308/0/5900", "v":18}]';
    expect(senmlJsonFormat.decodeComposite(utf8(json), context)).toEqual(
      new Map<string, Lwm2mNode>([
        ['/3311/0/5850', singleResource(5850, 'boolean', false)],
        ['/3311/1/5850', singleResource(5850, 'boolean', false)],
        ['/3311/2/5851', singleResource(5851, 'integer', 20)],
        ['/3308/0/5900', singleResource(5900, 'integer', 18)],
      ]),
    );
  });

  test('object links under a root base name (TS Core Table 7.4.4-4, as corrected in Wakaama test 3)', () => {
    const json =
      '[{"bn":"/","n":"65/0/0/0","vlo":"66:0"},{"n":"65/0/0/1","vlo":"66:1"},{"n":"65/0/1","vs":"8613800755500"},' +
      '{"n":"65/0/2","v":1},{"n":"66/0/0","vs":"myService1"},{"n":"66/0/1","vs":"Internet.15.234"},' +
      '{"n":"66/0/2","vlo":"67:0"},{"n":"66/1/0","vs":"myService2"},{"n":"66/1/1","vs":"Internet.15.235"},' +
      '{"n":"66/1/2","vlo":"65535:65535"},{"n":"67/0/0","vs":"85.76.76.84"},{"n":"67/0/1","vs":"85.76.255.255"}]';
    const decoded = senmlJsonFormat.decodeComposite(utf8(json), context, [[65], [66], [67]]);
    expect(decoded.get('/65')).toEqual(
      objectNode(65, [
        objectInstance(0, [
          multipleResource(0, 'objlnk', [
            [0, { objectId: 66, instanceId: 0 }],
            [1, { objectId: 66, instanceId: 1 }],
          ]),
          singleResource(1, 'string', '8613800755500'),
          singleResource(2, 'integer', 1),
        ]),
      ]),
    );
    expect((decoded.get('/66') as ObjectNode).instances.size).toBe(2);
    expect(decoded.get('/67')).toEqual(
      objectNode(67, [
        objectInstance(0, [
          singleResource(0, 'string', '85.76.76.84'),
          singleResource(1, 'string', '85.76.255.255'),
        ]),
      ]),
    );
  });

  test('historical notification with relative times (TS Core Table 7.4.4-3)', () => {
    const json =
      '[{"bn":"/72/","bt":25462634,"n":"1/2","v":22.4,"t":-5},{"n":"1/2","v":22.9,"t":-30},{"n":"1/2","v":24.1,"t":-50}]';
    const spy = jest.spyOn(Date, 'now').mockReturnValue(1_600_000_000_000);
    try {
      const data = senmlJsonFormat.decodeTimestamped(utf8(json), [72], context);
      // bt is below 2^28, so bt + t counts from now (RFC 8428 §4.5.3).
      expect(data.map((d) => d.time)).toEqual([
        1_600_000_000 + 25462629,
        1_600_000_000 + 25462604,
        1_600_000_000 + 25462584,
      ]);
      expect(data.map((d) => d.nodes.get('/72'))).toEqual(
        [22.4, 22.9, 24.1].map((v) => objectNode(72, [objectInstance(1, [singleResource(2, 'float', v)])])),
      );
      // Read as a plain notification, the latest value wins.
      expect(decode(json, '/72/1/2')).toEqual(singleResource(2, 'float', 22.4));
    } finally {
      spy.mockRestore();
    }
  });

  test('timestamped resource and Send (Leshan senml_encode_timestamped_resources / _nodes)', () => {
    const path = parsePath('/1024/0/1');
    const data = [268_500_000, 268_500_010, 268_500_020].map((time, i) => ({
      time,
      nodes: new Map<string, Lwm2mNode>([
        ['/1024/0/1', singleResource(1, 'float', [22.9, 22.4, 24.1][i] as number)],
      ]),
    }));
    expect(text(senmlJsonFormat.encodeTimestamped(data, path, context))).toBe(
      '[{"bn":"/1024/0/1","bt":268500000,"v":22.9},{"bn":"/1024/0/1","bt":268500010,"v":22.4},{"bn":"/1024/0/1","bt":268500020,"v":24.1}]',
    );
    expect(
      senmlJsonFormat.decodeTimestamped(
        senmlJsonFormat.encodeTimestamped(data, path, context),
        path,
        context,
      ),
    ).toEqual(data);

    const send = [
      {
        time: 500_000_001,
        nodes: new Map<string, Lwm2mNode>([['/0/0/0', singleResource(0, 'string', 'TestString')]]),
      },
      {
        time: 500_000_002,
        nodes: new Map<string, Lwm2mNode>([
          [
            '/0/1',
            objectInstance(1, [singleResource(1, 'boolean', true), singleResource(2, 'integer', 123)]),
          ],
        ]),
      },
    ];
    expect(text(senmlJsonFormat.encodeTimestamped(send, [], context))).toBe(
      '[{"bn":"/0/0/0","bt":500000001,"vs":"TestString"},{"bn":"/0/1/","bt":500000002,"n":"1","vb":true},{"n":"2","v":123}]',
    );
  });

  test('what Wakaama sends and accepts (data_senml_json_tests 8, 9, 10, 14-18, 20, 22)', () => {
    // 8: whitespace, fields in any order.
    expect(
      decode(
        '[{"bn" : "/65/543/",   "n" :   "0", "vs":"LWM2M"}, {"v":2015, "n":"1"}, {"n":"2/0",    "vb":true}, {"vb": false, "n":"2/1"}] ',
        '/65/543',
      ),
    ).toEqual(
      objectInstance(543, [
        singleResource(0, 'string', 'LWM2M'),
        singleResource(1, 'integer', 2015),
        multipleResource(2, 'boolean', [
          [0, true],
          [1, false],
        ]),
      ]),
    );
    // 9: base name without trailing slash, name with a leading one.
    expect(decode('[{"bn" : "/2/3", "n":"/0","v":1234}]', '/2/3')).toEqual(
      objectInstance(3, [singleResource(0, 'integer', 1234)]),
    );
    // 10: bn/bt after n in the first record; re-encoded in the order Wakaama expects (10d, 10e).
    const t10 =
      '[{"n":"1","v":1234,"bn" : "/12/0/","bt" : 1234567}, {"n":"3","v":56.789}, {"n":"2/0","v":0.23}, {"n":"2/1","v":-52.0006}]';
    expect(encode(decode(t10, '/12/0'), '/12/0')).toBe(
      '[{"bn":"/12/0/","n":"1","v":1234},{"n":"3","v":56.789},{"n":"2/0","v":0.23},{"n":"2/1","v":-52.0006}]',
    );
    expect(encode(decode(t10, '/12'), '/12')).toBe(
      '[{"bn":"/12/","n":"0/1","v":1234},{"n":"0/3","v":56.789},{"n":"0/2/0","v":0.23},{"n":"0/2/1","v":-52.0006}]',
    );
    // 14-16: names built from bn + n.
    expect(decode('[{"bn":"/5/0/1", "n":"/1","vs":"http"}]', '/5/0/1/1')).toEqual(
      resourceInstance(1, 'string', 'http'),
    );
    expect(decode('[{"bn":"/5/0", "n":"/1","vs":"http"}]', '/5/0')).toEqual(
      objectInstance(0, [singleResource(1, 'string', 'http')]),
    );
    expect(decode('[{"bn":"/5/0/1", "n":"","vs":"http"}]', '/5/0/1')).toEqual(
      singleResource(1, 'string', 'http'),
    );
    // 17: a base name reset to "" and an id with a leading zero.
    expect(
      senmlJsonFormat.decodeComposite(
        utf8('[{"bn":"/66/0/","n":"0","vs":"a"},{"bn":"","n":"/67/0/00","vs":"b"}]'),
        context,
      ),
    ).toEqual(
      new Map<string, Lwm2mNode>([
        ['/66/0/0', singleResource(0, 'string', 'a')],
        ['/67/0/0', singleResource(0, 'string', 'b')],
      ]),
    );
    // 18/19: SenML version 10 is fine, 11 is not.
    expect(decode('[{"bver":10,"n":"/34/0/2","v":1}]', '/34/0/2')).toEqual(singleResource(2, 'integer', 1));
    expect(() => decode('[{"bver":11,"n":"/34/0/2","v":1}]', '/34/0/2')).toThrow(/version/);
    // 20/21: unknown fields are skipped unless their name ends in "_".
    expect(decode('[{"test":"good","n":"/34/0/2","v":1}]', '/34/0')).toEqual(
      objectInstance(0, [singleResource(2, 'integer', 1)]),
    );
    expect(() => decode('[{ "bn":"/","test_":"fail","n":"34/0/2","v":1}]', '/34/0')).toThrow(
      /must be understood/,
    );
    // 22: base value.
    expect(decode('[{ "bv":1,"n":"/34/0/2","v":1}]', '/34/0/2')).toEqual(singleResource(2, 'integer', 2));
  });

  test('string escapes (Wakaama data_senml_json_tests 24)', () => {
    const raw = Array.from({ length: 33 }, (_, i) => String.fromCharCode(i)).join('') + '"\\/\b\f\n\r\t';
    const json = text(senmlJsonFormat.encode(singleResource(0, 'string', raw), [34, 0, 0], context));
    expect(decode(json, '/34/0/0')).toEqual(singleResource(0, 'string', raw));
    const escaped =
      '[{"bn":"/34/0/2","vs":"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\u0008\\u0009\\u000A\\u000B\\u000C\\u000D\\u000E\\u000F\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\\u0020\\"\\\\\\/\\b\\f\\n\\r\\t"}]';
    expect(decode(escaped, '/34/0/2')).toEqual(
      singleResource(2, 'string', raw.slice(0, 32) + ' ' + raw.slice(33)),
    );
  });

  test('integers beyond 2^53 stay exact where the model says integer', () => {
    expect(decode('[{"bn":"/10241/0/1","v":9223372036854775807}]', '/10241/0/1')).toEqual(
      singleResource(1, 'integer', 9223372036854775807n),
    );
    expect(decode('[{"bn":"/10241/0/1","v":-9223372036854775808}]', '/10241/0/1')).toEqual(
      singleResource(1, 'integer', -9223372036854775808n),
    );
    expect(decode('[{"bn":"/10241/0/2","v":18446744073709551615}]', '/10241/0/2')).toEqual(
      singleResource(2, 'unsigned', 18446744073709551615n),
    );
    expect(encode(singleResource(2, 'unsigned', 18446744073709551615n), '/10241/0/2')).toBe(
      '[{"bn":"/10241/0/2","v":18446744073709551615}]',
    );
    // Out of range for int64, and a float for a float resource.
    expect(() => decode('[{"bn":"/10241/0/1","v":9223372036854775808}]', '/10241/0/1')).toThrow(DecodeError);
    expect(decode('[{"bn":"/10241/0/3","v":12345678901234567890}]', '/10241/0/3')).toEqual(
      singleResource(3, 'float', 12345678901234567000),
    );
    expect(decode('[{"bn":"/10241/0/1","v":1.0e3}]', '/10241/0/1')).toEqual(
      singleResource(1, 'integer', 1000),
    );
  });

  test('floats: -0 kept, NaN and infinities refused', () => {
    expect(encode(singleResource(3, 'float', -0), '/10241/0/3')).toBe('[{"bn":"/10241/0/3","v":-0}]');
    expect(
      Object.is((decode('[{"bn":"/10241/0/3","v":-0}]', '/10241/0/3') as { value: number }).value, -0),
    ).toBe(true);
    expect(encode(singleResource(3, 'float', 1e21), '/10241/0/3')).toBe('[{"bn":"/10241/0/3","v":1e+21}]');
    expect(() => encode(singleResource(3, 'float', Number.NaN), '/10241/0/3')).toThrow(/JSON cannot carry/);
    expect(() => encode(singleResource(3, 'float', Number.POSITIVE_INFINITY), '/10241/0/3')).toThrow(
      /JSON cannot carry/,
    );
    expect(() => decode('[{"bn":"/10241/0/3","v":1e999}]', '/10241/0/3')).toThrow(DecodeError);
  });
});

describe('SenML JSON bad input', () => {
  const bad: readonly [string, string, RegExp][] = [
    ['empty payload', '', /unexpected end/],
    ['not an array', '{"bn":"/3/0/0","vs":"a"}', /array of records/],
    ['record not an object', '[1]', /not an object/],
    ['trailing garbage', '[]x', /trailing/],
    ['trailing comma', '[{"bn":"/3/0/0","vs":"a"},]', /invalid JSON/],
    ['unterminated string', '[{"bn":"/3/0/0', /unterminated/],
    ['control character', '[{"bn":"/3/0/0","vs":"a\u0001"}]', /control character/],
    ['bad escape', '[{"bn":"/3/0/0","vs":"\\x"}]', /bad escape/],
    ['bad number', '[{"bn":"/3/0/9","v":01}]', /invalid JSON/],
    ['bare minus', '[{"bn":"/3/0/9","v":-}]', /bad number/],
    ['bad fraction', '[{"bn":"/3/0/9","v":1.}]', /bad fraction/],
    ['bad exponent', '[{"bn":"/3/0/9","v":1e}]', /bad exponent/],
    ['bad literal', '[{"bn":"/3/0/9","vb":tru}]', /unexpected token/],
    ['duplicate key', '[{"bn":"/3/0/9","v":1,"v":2}]', /duplicate key/],
    ['non-string key', '[{1:2}]', /string key/],
    ['missing colon', '[{"bn" "/3/0/9"}]', /expected ":"/],
    ['bn not a string', '[{"bn":3,"v":1}]', /bn must be a string/],
    ['v not a number', '[{"bn":"/3/0/9","v":"1"}]', /v must be a number/],
    ['vb not a boolean', '[{"bn":"/3/0/9","vb":1}]', /vb must be a boolean/],
    ['vd not text', '[{"bn":"/3/0/9","vd":1}]', /vd must be bytes/],
    ['t not a number', '[{"bn":"/3/0/9","v":1,"t":null}]', /t must be a number/],
    ['bad object link', '[{"bn":"/3/0/22/0","vlo":"3-0"}]', /object link/],
    ['object link out of range', '[{"bn":"/3/0/22/0","vlo":"65536:0"}]', /object link/],
  ];
  test.each(bad)('%s', (_name, json, message) => {
    const run = (): unknown => senmlJsonFormat.decode(utf8(json), [3, 0], context);
    expect(run).toThrow(DecodeError);
    expect(run).toThrow(message);
  });

  test('invalid UTF-8', () => {
    expect(() =>
      senmlJsonFormat.decode(new Uint8Array([0x5b, 0x22, 0xc3, 0x28, 0x22, 0x5d]), [3, 0], context),
    ).toThrow(/UTF-8/);
  });

  test('depth and size limits', () => {
    const deep = '['.repeat(17) + ']'.repeat(17);
    expect(() => senmlJsonFormat.decode(utf8(deep), [3, 0], context)).toThrow(/nesting deeper than 16/);
    // A deeply nested unknown field cannot blow the stack either.
    const hostile = '[{"x":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}]';
    expect(() => senmlJsonFormat.decode(utf8(hostile), [3, 0], context)).toThrow(DecodeError);
    const small = createTestContext({ maxEntries: 2 });
    const three = '[{"bn":"/3/0/","n":"0","vs":"a"},{"n":"1","vs":"b"},{"n":"2","vs":"c"}]';
    expect(() => senmlJsonFormat.decode(utf8(three), [3, 0], small)).toThrow(/exceed the limit of 2/);
  });

  test('arbitrary bytes and mutated payloads fail only with DecodeError', () => {
    const valid = utf8(DEVICE_SENML);
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
            senmlJsonFormat.decode(payload, path, context);
          } catch (error) {
            if (!(error instanceof DecodeError) || !isLwm2mError(error)) throw error;
          }
        }
        try {
          senmlJsonFormat.decodeComposite(payload, context);
          senmlJsonFormat.decodePaths(payload, context);
        } catch (error) {
          if (!(error instanceof DecodeError)) throw error;
        }
      }),
      { numRuns: 300 },
    );
  });
});
