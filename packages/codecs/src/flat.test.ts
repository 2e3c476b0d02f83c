import { DecodeError, multipleResource, objectNode, objectInstance, singleResource } from '@lwm2m/core';
import type { Lwm2mPath } from '@lwm2m/core';
import { entriesToNode } from './flat.js';
import { createTestRegistry } from './test-fixtures.js';
import type { FlatEntry } from './types.js';

const registry = createTestRegistry();
const value = (path: Lwm2mPath, v: number): FlatEntry => ({ path, type: 'integer', value: v });

describe('entriesToNode', () => {
  it('builds resources in first-seen order, in or out of id order', () => {
    const node = entriesToNode(
      [
        value([3, 0, 9], 1),
        value([3, 0, 6, 0], 2),
        value([3, 1, 9], 3),
        value([3, 0, 10], 4),
        value([3, 0, 6, 1], 5),
      ],
      [3],
      registry,
    );
    expect(node).toEqual(
      objectNode(3, [
        objectInstance(0, [
          singleResource(9, 'integer', 1),
          multipleResource(6, 'integer', [
            [0, 2],
            [1, 5],
          ]),
          singleResource(10, 'integer', 4),
        ]),
        objectInstance(1, [singleResource(9, 'integer', 3)]),
      ]),
    );
  });

  it.each<[string, FlatEntry[]]>([
    ['after a higher id', [value([3, 0, 5], 1), value([3, 0, 9], 2), value([3, 0, 5], 3)]],
    ['after another instance', [value([3, 0, 5], 1), value([3, 1, 1], 2), value([3, 0, 5], 3)]],
    ['in a row', [value([3, 0, 9], 1), value([3, 0, 9], 2)]],
  ])('rejects a resource given twice %s', (_name, entries) => {
    expect(() => entriesToNode(entries, [3], registry)).toThrow(DecodeError);
    expect(() => entriesToNode(entries, [3], registry)).toThrow(/several values/);
  });
});
