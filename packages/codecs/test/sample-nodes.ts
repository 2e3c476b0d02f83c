import { multipleResource, objectInstance, objectNode, singleResource } from '@lwm2m/core';
import type { Lwm2mNode, ObjectInstanceNode } from '@lwm2m/core';

/** The Device instance of the TLV/JSON examples in the OMA LwM2M TS Core specification. */
export function deviceInstance(id = 0): ObjectInstanceNode {
  return objectInstance(id, [
    singleResource(0, 'string', 'Open Mobile Alliance'),
    singleResource(1, 'string', 'Lightweight M2M Client'),
    singleResource(2, 'string', '345000123'),
    singleResource(3, 'string', '1.0'),
    multipleResource(6, 'integer', [
      [0, 1],
      [1, 5],
    ]),
    multipleResource(7, 'integer', [
      [0, 3800],
      [1, 5000],
    ]),
    multipleResource(8, 'integer', [
      [0, 125],
      [1, 900],
    ]),
    singleResource(9, 'integer', 100),
    singleResource(10, 'integer', 15),
    multipleResource(11, 'integer', [[0, 0]]),
    singleResource(13, 'time', new Date(0x5182428f * 1000)),
    singleResource(14, 'string', '+02:00'),
    singleResource(16, 'string', 'U'),
  ]);
}

/** A temperature object with `count` instances: 2 resources each (value, units). */
export function temperatureObject(count: number): Lwm2mNode {
  const instances: ObjectInstanceNode[] = [];
  for (let i = 0; i < count; i++) {
    instances.push(
      objectInstance(i, [singleResource(5700, 'float', 20 + i * 0.25), singleResource(5701, 'string', 'Cel')]),
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
