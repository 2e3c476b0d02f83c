import {
  DecodeError,
  EncodeError,
  multipleResource,
  objectInstance,
  objectNode,
  parsePath,
  resourceInstance,
  singleResource,
} from '@lwm2m/core';
import type { Lwm2mNode, Lwm2mPath } from '@lwm2m/core';
import fc from 'fast-check';
import { jsonFormat } from './lwm2m-json.js';
import { createTestContext, specDeviceInstance } from './test-fixtures.js';
import type { TimestampedNodes } from './types.js';

const context = createTestContext();
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const encode = (node: Lwm2mNode, path: string): string =>
  text(jsonFormat.encode(node, parsePath(path), context));
const decode = (json: string, path: string): Lwm2mNode =>
  jsonFormat.decode(utf8(json), parsePath(path), context);

const deviceInstance = (): Lwm2mNode => specDeviceInstance();

// Leshan json_encode_device_object_instance (the Device example of TS Core 1.0 §6.4.4).
const DEVICE_JSON =
  '{"bn":"/3/0/","e":[{"n":"0","sv":"Open Mobile Alliance"},{"n":"1","sv":"Lightweight M2M Client"},' +
  '{"n":"2","sv":"345000123"},{"n":"3","sv":"1.0"},{"n":"6/0","v":1},{"n":"6/1","v":5},' +
  '{"n":"7/0","v":3800},{"n":"7/1","v":5000},{"n":"8/0","v":125},{"n":"8/1","v":900},' +
  '{"n":"9","v":100},{"n":"10","v":15},{"n":"11/0","v":0},{"n":"13","v":1367491215},' +
  '{"n":"14","sv":"+02:00"},{"n":"16","sv":"U"}]}';

const timed = (time: number, path: string, node: Lwm2mNode): TimestampedNodes => ({
  time,
  nodes: new Map([[path, node]]),
});

describe('LwM2M JSON golden vectors', () => {
  test('Device instance (Leshan json_encode_device_object_instance)', () => {
    expect(encode(deviceInstance(), '/3/0')).toBe(DEVICE_JSON);
    expect(decode(DEVICE_JSON, '/3/0')).toEqual(deviceInstance());
    expect(decode(DEVICE_JSON, '/3')).toEqual(objectNode(3, [deviceInstance() as never]));
  });

  test('single resource, multiple resource, resource instance', () => {
    expect(encode(singleResource(0, 'string', 'Open Mobile Alliance'), '/3/0/0')).toBe(
      '{"bn":"/3/0/0","e":[{"sv":"Open Mobile Alliance"}]}',
    );
    const multiple = multipleResource(7, 'integer', [
      [0, 3800],
      [1, 5000],
    ]);
    expect(encode(multiple, '/3/0/7')).toBe('{"bn":"/3/0/7/","e":[{"n":"0","v":3800},{"n":"1","v":5000}]}');
    expect(decode('{"bn":"/3/0/7/","e":[{"n":"0","v":3800},{"n":"1","v":5000}]}', '/3/0/7')).toEqual(
      multiple,
    );
    expect(decode('{"bn":"/3/0/7/","e":[]}', '/3/0/7')).toEqual(multipleResource(7, 'integer', []));
    expect(encode(resourceInstance(1, 'integer', 5000), '/3/0/7/1')).toBe(
      '{"bn":"/3/0/7/1","e":[{"v":5000}]}',
    );
  });

  test('every value field: sv, v, bv, ov, opaque as base64 in sv', () => {
    const node = objectInstance(0, [
      singleResource(0, 'string', 'x'),
      singleResource(1, 'integer', -7),
      singleResource(2, 'unsigned', 18446744073709551615n),
      singleResource(3, 'float', 1.5),
      singleResource(4, 'boolean', true),
      singleResource(5, 'opaque', new Uint8Array([1, 2, 3, 4, 5])),
      singleResource(6, 'time', new Date(1367491215000)),
      singleResource(7, 'objlnk', { objectId: 3, instanceId: 0 }),
      singleResource(8, 'corelnk', '</3/0>'),
    ]);
    const json =
      '{"bn":"/10241/0/","e":[{"n":"0","sv":"x"},{"n":"1","v":-7},{"n":"2","v":18446744073709551615},{"n":"3","v":1.5},' +
      '{"n":"4","bv":true},{"n":"5","sv":"AQIDBAU="},{"n":"6","v":1367491215},{"n":"7","ov":"3:0"},{"n":"8","sv":"</3/0>"}]}';
    expect(encode(node, '/10241/0')).toBe(json);
    expect(decode(json, '/10241/0')).toEqual(node);
  });

  test('timestamped resource and resource instance (Leshan json_encode_timestamped_resources / _resource_instances)', () => {
    const values = [
      [500, 22.9],
      [510, 22.4],
      [520, 24.1],
    ] as const;
    const data = values.map(([t, v]) => timed(t, '/1024/0/1', singleResource(1, 'float', v)));
    const json = '{"bn":"/1024/0/1","e":[{"v":22.9,"t":500},{"v":22.4,"t":510},{"v":24.1,"t":520}]}';
    expect(text(jsonFormat.encodeTimestamped(data, [1024, 0, 1], context))).toBe(json);
    // Times are absolute, even small ones (Leshan reads them so).
    expect(jsonFormat.decodeTimestamped(utf8(json), [1024, 0, 1], context)).toEqual(data);

    const instances = values.map(([t, v]) => timed(t, '/1024/0/1/0', resourceInstance(0, 'float', v)));
    expect(text(jsonFormat.encodeTimestamped(instances, [1024, 0, 1, 0], context))).toBe(
      '{"bn":"/1024/0/1/0","e":[{"v":22.9,"t":500},{"v":22.4,"t":510},{"v":24.1,"t":520}]}',
    );
  });

  test('timestamped instances and objects (Leshan json_encode_timestamped_instances / _Object)', () => {
    const instances = [
      timed(110, '/1024/0', objectInstance(0, [singleResource(1, 'float', 22.9)])),
      timed(
        120,
        '/1024/0',
        objectInstance(0, [singleResource(0, 'string', 'a string'), singleResource(1, 'float', 22.4)]),
      ),
      timed(130, '/1024/0', objectInstance(0, [singleResource(1, 'float', 24.1)])),
    ];
    const json =
      '{"bn":"/1024/0/","e":[{"n":"1","v":22.9,"t":110},{"n":"0","sv":"a string","t":120},{"n":"1","v":22.4,"t":120},{"n":"1","v":24.1,"t":130}]}';
    expect(text(jsonFormat.encodeTimestamped(instances, [1024, 0], context))).toBe(json);
    expect(jsonFormat.decodeTimestamped(utf8(json), [1024, 0], context)).toEqual(instances);

    // Leshan writes the float 23 as 23.0; we write 23 and read both.
    const leshan =
      '{"bn":"/1024/","e":[{"n":"0/1","v":22.9,"t":210},{"n":"0/0","sv":"a string","t":220},{"n":"0/1","v":22.4,"t":220},' +
      '{"n":"1/1","v":23.0,"t":220},{"n":"0/1","v":24.1,"t":230}]}';
    const decoded = jsonFormat.decodeTimestamped(utf8(leshan), [1024], context);
    expect(decoded.map((d) => d.time)).toEqual([210, 220, 230]);
    expect(text(jsonFormat.encodeTimestamped(decoded, [1024], context))).toBe(leshan.replace('23.0', '23'));
  });

  test('historical notification with base time (TS Core 1.0 §6.4.4 example)', () => {
    const json =
      '{"bn":"/72/","bt":25462634,"e":[{"n":"1/2","v":22.4,"t":-5},{"n":"1/2","v":22.9,"t":-30},{"n":"1/2","v":24.1,"t":-50}]}';
    const data = jsonFormat.decodeTimestamped(utf8(json), [72, 1, 2], context);
    expect(data).toEqual([
      timed(25462629, '/72/1/2', singleResource(2, 'float', 22.4)),
      timed(25462604, '/72/1/2', singleResource(2, 'float', 22.9)),
      timed(25462584, '/72/1/2', singleResource(2, 'float', 24.1)),
    ]);
    expect(decode(json, '/72/1/2')).toEqual(singleResource(2, 'float', 22.4));
  });

  test('what 1.0 clients send: names without a base, missing leading slash, legacy fields ignored', () => {
    expect(decode('{"e":[{"n":"/3/0/0","sv":"a"},{"n":"3/0/9","v":5}]}', '/3/0')).toEqual(
      objectInstance(0, [singleResource(0, 'string', 'a'), singleResource(9, 'integer', 5)]),
    );
    expect(decode('{"bn":"/3/0/9","e":[{"v":5,"x":1}],"ver":1}', '/3/0/9')).toEqual(
      singleResource(9, 'integer', 5),
    );
  });

  test('encoding failures are EncodeErrors', () => {
    expect(() => encode(singleResource(3, 'float', Number.NaN), '/10241/0/3')).toThrow(EncodeError);
    expect(() => encode(singleResource(0, 'string', 'x'), '/')).toThrow(EncodeError);
    const out = timed(500, '/3/0/9', singleResource(9, 'integer', 1));
    expect(() => jsonFormat.encodeTimestamped([out], [3, 1], context)).toThrow(/not below/);
    expect(() => jsonFormat.encodeTimestamped([{ ...out, time: Number.NaN }], [3, 0, 9], context)).toThrow(
      /not finite/,
    );
  });
});

describe('LwM2M JSON bad input', () => {
  const bad: readonly [string, string, RegExp][] = [
    ['not an object', '[]', /must be an object/],
    ['no e array', '{"bn":"/3/0/"}', /"e" array/],
    ['e not an array', '{"e":{}}', /"e" array/],
    ['entry not an object', '{"e":[1]}', /not an object/],
    ['bn not a string', '{"bn":1,"e":[{"n":"0","sv":"a"}]}', /bn must be a string/],
    ['bt not a number', '{"bn":"/3/0/","bt":"x","e":[{"n":"0","sv":"a"}]}', /bt must be a number/],
    ['sv for an integer', '{"bn":"/3/0/","e":[{"n":"9","sv":"5"}]}', /integer resource/],
    ['opaque not base64', '{"bn":"/10241/0/","e":[{"n":"5","sv":"%%"}]}', /base64/],
    ['bad object link', '{"bn":"/10241/0/","e":[{"n":"7","ov":"x"}]}', /object link/],
    ['invalid JSON', '{"e":[}', /invalid JSON/],
  ];
  test.each(bad)('%s', (_name, json, message) => {
    const run = (): unknown => jsonFormat.decode(utf8(json), [3, 0], context);
    expect(run).toThrow(DecodeError);
    expect(run).toThrow(message);
  });

  test('entry limit', () => {
    const small = createTestContext({ maxEntries: 1 });
    expect(() =>
      jsonFormat.decode(utf8('{"bn":"/3/0/","e":[{"n":"0","sv":"a"},{"n":"1","sv":"b"}]}'), [3, 0], small),
    ).toThrow(/exceed the limit of 1/);
  });

  test('arbitrary bytes and mutated payloads fail only with DecodeError', () => {
    const valid = utf8(DEVICE_JSON);
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
            jsonFormat.decode(payload, path, context);
          } catch (error) {
            if (!(error instanceof DecodeError)) throw error;
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
