import type { ObjectLink, ResourceValue } from './node.js';
import {
  formatObjectLink,
  isObjectLink,
  multipleResource,
  objectInstance,
  objectNode,
  parseObjectLink,
  resourceInstance,
  singleResource,
} from './node.js';

describe('parseObjectLink / formatObjectLink', () => {
  it.each<[string, ObjectLink]>([
    ['0:0', { objectId: 0, instanceId: 0 }],
    ['3:0', { objectId: 3, instanceId: 0 }],
    ['3303:12', { objectId: 3303, instanceId: 12 }],
    ['65535:65535', { objectId: 65535, instanceId: 65535 }],
  ])('parses %s and formats it back', (text, link) => {
    expect(parseObjectLink(text)).toEqual(link);
    expect(formatObjectLink(link)).toBe(text);
  });

  it.each([
    '65536:0',
    '0:65536',
    '99999:1',
    '100000:1',
    'a:b',
    '3',
    '3:',
    ':0',
    '3:0:1',
    '03:0',
    '3:00',
    '-1:0',
    '3 :0',
    ' 3:0',
    '3:0 ',
    '1e3:0',
    '3.0:1',
    '',
  ])('rejects %j', (text) => {
    expect(parseObjectLink(text)).toBeUndefined();
  });
});

describe('isObjectLink', () => {
  it('accepts an object link, including the null link', () => {
    expect(isObjectLink({ objectId: 65535, instanceId: 65535 })).toBe(true);
    expect(isObjectLink({ objectId: 3, instanceId: 0 })).toBe(true);
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['a string', '3:0'],
    ['a number', 3],
    ['bytes', new Uint8Array([3, 0])],
    ['a date', new Date(0)],
    ['half a link', { objectId: 3 }],
    ['string ids', { objectId: '3', instanceId: '0' }],
  ])('rejects %s', (_case, value) => {
    expect(isObjectLink(value)).toBe(false);
  });
});

describe('node constructors', () => {
  it('build single resources and resource instances', () => {
    expect(singleResource(0, 'string', 'ACME')).toEqual({
      kind: 'resource',
      id: 0,
      type: 'string',
      value: 'ACME',
    });
    expect(resourceInstance(1, 'integer', 5n)).toEqual({
      kind: 'resourceInstance',
      id: 1,
      type: 'integer',
      value: 5n,
    });
  });

  it('copies the instances of a multiple resource, from a map or pairs', () => {
    const source = new Map<number, ResourceValue>([[0, 1]]);
    const fromMap = multipleResource(6, 'integer', source);
    source.set(1, 5);
    expect([...fromMap.instances]).toEqual([[0, 1]]);
    const fromPairs = multipleResource(7, 'integer', [
      [0, 3800],
      [1, 5000],
    ]);
    expect(fromPairs).toMatchObject({ kind: 'multipleResource', id: 7, type: 'integer' });
    expect(fromPairs.instances.get(1)).toBe(5000);
    expect(multipleResource(11, 'integer', []).instances.size).toBe(0);
  });

  it('index instances and resources by id', () => {
    const instance = objectInstance(0, [
      singleResource(0, 'string', 'ACME'),
      multipleResource(6, 'integer', [[0, 1]]),
    ]);
    expect(instance.kind).toBe('objectInstance');
    expect([...instance.resources.keys()]).toEqual([0, 6]);
    const object = objectNode(3, [instance, objectInstance(2, [])]);
    expect(object.kind).toBe('object');
    expect(object.instances.get(0)).toBe(instance);
    expect(object.instances.get(2)?.resources.size).toBe(0);
  });

  it('keeps the last of two resources with the same id', () => {
    const instance = objectInstance(0, [singleResource(1, 'string', 'a'), singleResource(1, 'string', 'b')]);
    expect(instance.resources.size).toBe(1);
    expect(instance.resources.get(1)).toMatchObject({ value: 'b' });
  });
});
