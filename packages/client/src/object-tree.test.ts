import { createCoreObjectRegistry } from '@lwm2m/core';
import { MethodNotAllowedError } from './errors.js';
import type { InstanceHandler, ObjectImplementation } from './instance.js';
import { BOOTSTRAP_CONTEXT, ObjectTree } from './object-tree.js';
import type { OperationContext } from './object-tree.js';
import { StoredInstance } from './stored-instance.js';

const SERVER_CONTEXT: OperationContext = { ssid: 1, bootstrap: false };

/** An implementation whose `create` needs its `this` (the tree keeps only implementations that create). */
class Sensors implements ObjectImplementation {
  readonly id = 3303;
  readonly instances = new Map<number, InstanceHandler>([[0, new StoredInstance([[5700, 20]])]]);
  made = 0;

  create(): InstanceHandler {
    this.made++;
    return new StoredInstance([[5700, 21]]);
  }
}

describe('ObjectTree', () => {
  it('creates instances through the implementation, called as its method', async () => {
    const tree = new ObjectTree(createCoreObjectRegistry());
    const sensors = new Sensors();
    tree.addObject(sensors);
    expect(tree.instanceIds(3303)).toEqual([0]);
    const id = await tree.create(3303, undefined, SERVER_CONTEXT);
    expect(sensors.made).toBe(1);
    expect(tree.instanceIds(3303)).toEqual([0, id]);
    expect(tree.instance(3303, id)?.read(5700)).toBe(21);
    await tree.delete([3303, id], SERVER_CONTEXT);
    expect(tree.instanceIds(3303)).toEqual([0]);
  });

  it('refuses Create and a server Delete on an object without create, but serves its start instances', async () => {
    const tree = new ObjectTree(createCoreObjectRegistry());
    tree.addObject({ id: 3303, instances: new Map([[0, new StoredInstance([[5700, 20]])]]) });
    expect(tree.instance(3303, 0)?.read(5700)).toBe(20);
    await expect(tree.create(3303, undefined, SERVER_CONTEXT)).rejects.toBeInstanceOf(MethodNotAllowedError);
    await expect(tree.delete([3303, 0], SERVER_CONTEXT)).rejects.toBeInstanceOf(MethodNotAllowedError);
    // The bootstrap server may delete any instance, and cannot create one either.
    await tree.delete([3303, 0], BOOTSTRAP_CONTEXT);
    expect(tree.instanceIds(3303)).toEqual([]);
    await expect(tree.create(3303, undefined, BOOTSTRAP_CONTEXT)).rejects.toBeInstanceOf(
      MethodNotAllowedError,
    );
  });
});
