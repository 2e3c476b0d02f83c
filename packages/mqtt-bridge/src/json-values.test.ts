import {
  createCoreObjectRegistry,
  multipleResource,
  objectInstance,
  objectNode,
  resourceInstance,
  singleResource,
} from '@lwm2m/core';
import { BridgeRequestError } from './errors.js';
import { jsonToNode, jsonToValue, nodeToJson, nodesToJson, valueToJson } from './json-values.js';

const registry = createCoreObjectRegistry();

describe('valueToJson', () => {
  it('keeps JSON-native values and maps the others to JSON-safe forms', () => {
    expect(valueToJson('x')).toBe('x');
    expect(valueToJson(true)).toBe(true);
    expect(valueToJson(1.5)).toBe(1.5);
    expect(valueToJson(Number.NaN)).toBe('NaN');
    expect(valueToJson(-Infinity)).toBe('-Infinity');
    expect(valueToJson(42n)).toBe(42);
    expect(valueToJson(2n ** 60n)).toBe('1152921504606846976');
    expect(valueToJson(-(2n ** 63n))).toBe('-9223372036854775808');
    expect(valueToJson(new Uint8Array([0, 1, 254, 255]))).toBe('AAH+/w==');
    expect(valueToJson(new Date(1_700_000_000_000))).toBe(1_700_000_000);
    expect(valueToJson({ objectId: 3, instanceId: 0 })).toBe('3:0');
  });
});

describe('nodeToJson', () => {
  it('shapes the JSON like the path', () => {
    expect(nodeToJson(singleResource(0, 'string', 'Acme'))).toBe('Acme');
    expect(nodeToJson(resourceInstance(1, 'integer', 5))).toBe(5);
    expect(
      nodeToJson(
        multipleResource(7, 'integer', [
          [0, 3800],
          [1, 5000],
        ]),
      ),
    ).toEqual({ '0': 3800, '1': 5000 });
    const instance = objectInstance(0, [
      singleResource(0, 'string', 'Acme'),
      multipleResource(6, 'integer', [[0, 1]]),
    ]);
    expect(nodeToJson(instance)).toEqual({ '0': 'Acme', '6': { '0': 1 } });
    expect(nodeToJson(objectNode(3, [instance]))).toEqual({ '0': { '0': 'Acme', '6': { '0': 1 } } });
    expect(nodesToJson(new Map([['/3/0/0', singleResource(0, 'string', 'A')]]))).toEqual({ '/3/0/0': 'A' });
  });
});

describe('jsonToValue and jsonToNode', () => {
  it('types values from the registry and refuses what does not fit', () => {
    expect(jsonToNode([3, 0, 14], '+02:00', registry)).toEqual(singleResource(14, 'string', '+02:00'));
    expect(jsonToNode([3, 0, 13], 1_700_000_000, registry)).toEqual(
      singleResource(13, 'time', new Date(1_700_000_000_000)),
    );
    expect(jsonToNode([3, 0, 13], '2023-11-14T22:13:20Z', registry)).toEqual(
      singleResource(13, 'time', new Date(1_700_000_000_000)),
    );
    expect(jsonToNode([1, 0, 1], 300, registry)).toEqual(singleResource(1, 'integer', 300));
    expect(jsonToNode([3303, 0, 5700], 21.5, registry)).toEqual(singleResource(5700, 'float', 21.5));
    expect(jsonToNode([5, 0, 0], 'AAH+/w==', registry)).toEqual(
      singleResource(0, 'opaque', new Uint8Array([0, 1, 254, 255])),
    );
    expect(() => jsonToNode([5, 0, 0], 'not base64!', registry)).toThrow(/base64/);
    expect(() => jsonToNode([3, 0, 14], 5, registry)).toThrow(/expected a string/);
    expect(() => jsonToNode([1, 0, 1], 1.5, registry)).toThrow(/expected an integer/);
    expect(() => jsonToNode([1, 0, 1], 2 ** 60, registry)).toThrow(/beyond 2\^53/);
    expect(() => jsonToNode([3, 0, 4], 1, registry)).toThrow(/executable/);
    expect(() => jsonToNode([3, 0, 14], undefined, registry)).toThrow(/value is required/);
    expect(() => jsonToNode([], {}, registry)).toThrow(/root/);
  });

  it('takes big integers as decimal strings, within 64 bits', () => {
    expect(jsonToValue('9223372036854775807', 'integer', '/x')).toBe(2n ** 63n - 1n);
    expect(jsonToValue('12', 'integer', '/x')).toBe(12);
    expect(jsonToValue('18446744073709551615', 'unsigned', '/x')).toBe(2n ** 64n - 1n);
    expect(() => jsonToValue('9223372036854775808', 'integer', '/x')).toThrow(/out of range/);
    expect(() => jsonToValue(-1, 'unsigned', '/x')).toThrow(/out of range/);
    expect(() => jsonToValue('1e3', 'integer', '/x')).toThrow(/expected an integer/);
  });

  it('reads object links, floats spelt as text, booleans strictly', () => {
    expect(jsonToValue('3:0', 'objlnk', '/x')).toEqual({ objectId: 3, instanceId: 0 });
    expect(jsonToValue({ objectId: 1, instanceId: 2 }, 'objlnk', '/x')).toEqual({
      objectId: 1,
      instanceId: 2,
    });
    expect(() => jsonToValue('3:70000', 'objlnk', '/x')).toThrow(/object link/);
    expect(jsonToValue('NaN', 'float', '/x')).toBeNaN();
    expect(() => jsonToValue('1.5', 'float', '/x')).toThrow(/expected a number/);
    expect(() => jsonToValue('true', 'boolean', '/x')).toThrow(/true or false/);
  });

  it('builds instances and multiple resources from objects of ids', () => {
    const node = jsonToNode([3, 0], { '14': '+01:00', '15': 'Europe/Paris' }, registry);
    expect(node).toEqual(
      objectInstance(0, [
        singleResource(14, 'string', '+01:00'),
        singleResource(15, 'string', 'Europe/Paris'),
      ]),
    );
    expect(jsonToNode([3, 0, 6], { '0': 1, '2': 5 }, registry)).toEqual(
      multipleResource(6, 'integer', [
        [0, 1],
        [2, 5],
      ]),
    );
    expect(jsonToNode([3, 0, 6, 2], 5, registry)).toEqual(resourceInstance(2, 'integer', 5));
    expect(() => jsonToNode([3, 0, 6], 1, registry)).toThrow(/multiple-instance/);
    expect(() => jsonToNode([3, 0], { x: 1 }, registry)).toThrow(/"x" is not an id/);
    expect(() => jsonToNode([3, 0], { '01': 1 }, registry)).toThrow(/not an id/);
    expect(() => jsonToNode([3, 0], [1], registry)).toThrow(/object instance takes an object/);
    // Unknown to the registry: typed from the JSON.
    expect(jsonToNode([40000, 0, 1], 7, registry)).toEqual(singleResource(1, 'integer', 7));
    expect(jsonToNode([40000, 0, 1], { '0': 'a' }, registry)).toEqual(
      multipleResource(1, 'string', [[0, 'a']]),
    );
    expect(() => jsonToNode([40000, 0, 1], null, registry)).toThrow(BridgeRequestError);
  });

  it('round-trips what it produces', () => {
    const instance = objectInstance(0, [
      singleResource(14, 'string', '+01:00'),
      singleResource(13, 'time', new Date(1_000_000_000_000)),
      multipleResource(6, 'integer', [[0, 1]]),
    ]);
    expect(jsonToNode([3, 0], nodeToJson(instance), registry)).toEqual(instance);
  });
});
