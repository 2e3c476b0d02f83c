import { objectInstance, objectNode, singleResource } from '@lwm2m/core';
import type { Lwm2mNode, ObjectInstanceNode } from '@lwm2m/core';

/** The Device instance of the TS Core TLV/JSON examples; one definition shared with the unit tests. */
export { specDeviceInstance as deviceInstance } from '../src/test-fixtures.js';

/** A temperature object with `count` instances: 2 resources each (value, units). */
export function temperatureObject(count: number): Lwm2mNode {
  const instances: ObjectInstanceNode[] = [];
  for (let i = 0; i < count; i++) {
    instances.push(
      objectInstance(i, [
        singleResource(5700, 'float', 20 + i * 0.25),
        singleResource(5701, 'string', 'Cel'),
      ]),
    );
  }
  return objectNode(3303, instances);
}

/** 50 resource values spread over objects 3 and 3303, keyed by path, for composite operations. */
export function compositeOf50(): Map<string, Lwm2mNode> {
  const nodes = new Map<string, Lwm2mNode>();
  for (let i = 0; i < 25; i++) {
    nodes.set(`/3303/${i}/5700`, singleResource(5700, 'float', 20.5 + i));
    nodes.set(`/3303/${i}/5701`, singleResource(5701, 'string', 'Cel'));
  }
  return nodes;
}
