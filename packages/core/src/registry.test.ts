import { createCoreObjectRegistry } from './core-objects.js';
import { parseDdf } from './ddf.js';
import { ModelError } from './errors.js';
import type { ObjectDefinition } from './model.js';
import { compareVersions, createObjectRegistry } from './registry.js';

function definition(id: number, version: string, name = `Object ${id}`): ObjectDefinition {
  return { id, name, version, lwm2mVersion: '1.0', multiple: false, mandatory: false, resources: new Map() };
}

/** Device as LwM2M 1.0 clients describe it: no resource 22, Error Code range 0..8. */
const DEVICE_1_0 = `<LWM2M><Object>
  <Name>Device</Name><ObjectID>3</ObjectID><ObjectURN>urn:oma:lwm2m:oma:3</ObjectURN>
  <MultipleInstances>Single</MultipleInstances><Mandatory>Mandatory</Mandatory>
  <Resources>
    <Item ID="0"><Name>Manufacturer</Name><Operations>R</Operations><MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory><Type>String</Type></Item>
    <Item ID="11"><Name>Error Code</Name><Operations>R</Operations><MultipleInstances>Multiple</MultipleInstances><Mandatory>Mandatory</Mandatory><Type>Integer</Type><RangeEnumeration>0..8</RangeEnumeration></Item>
  </Resources>
</Object></LWM2M>`;

describe('compareVersions', () => {
  it.each([
    ['1.0', '1.1', -1],
    ['1.1', '1.0', 1],
    ['1.1', '1.10', -1],
    ['1.9', '1.10', -1],
    ['2.0', '1.10', 1],
    ['1.0', '1.0', 0],
    ['1.0', '1.0.0', 0],
    ['1.0.1', '1.0', 1],
  ])('%s vs %s', (a, b, sign) => {
    expect(Math.sign(compareVersions(a, b))).toBe(sign);
  });
});

describe('createObjectRegistry', () => {
  it('answers by id, with or without a version, and lists the newest of each id by ascending id', () => {
    const registry = createObjectRegistry([
      definition(3303, '1.0'),
      definition(3, '1.1'),
      definition(3, '1.0'),
    ]);
    expect(registry.getObject(3)?.version).toBe('1.1');
    expect(registry.getObject(3, '1.0')?.version).toBe('1.0');
    expect(registry.getObject(3, '1.2')).toBeUndefined();
    expect(registry.getObject(4)).toBeUndefined();
    expect(registry.objects().map((d) => [d.id, d.version])).toEqual([
      [3, '1.1'],
      [3303, '1.0'],
    ]);
  });

  it('keeps the newest version whatever the order definitions arrive in', () => {
    const registry = createObjectRegistry();
    registry.add(definition(5, '1.10'));
    registry.add(definition(5, '1.9'));
    registry.add(definition(5, '1.2'));
    expect(registry.getObject(5)?.version).toBe('1.10');
  });

  it('replaces a definition with the same id and version', () => {
    const registry = createObjectRegistry([definition(7, '1.0', 'First')]);
    registry.add(definition(7, '1.0', 'Second'));
    expect(registry.getObject(7)?.name).toBe('Second');
    expect(registry.getObject(7, '1.0')?.name).toBe('Second');
    expect(registry.objects()).toHaveLength(1);
  });

  it.each([-1, 1.5, 65535, 70000, Number.NaN])('rejects object id %p with a ModelError', (id) => {
    const registry = createObjectRegistry();
    expect(() => registry.add(definition(id, '1.0'))).toThrow(ModelError);
    expect(registry.objects()).toEqual([]);
  });

  it('keeps registries apart', () => {
    const a = createObjectRegistry();
    const b = createObjectRegistry();
    a.add(definition(1, '1.0'));
    expect(b.getObject(1)).toBeUndefined();
  });
});

describe('object versions in the core registry', () => {
  const registry = createCoreObjectRegistry();
  for (const d of parseDdf(DEVICE_1_0)) registry.add(d);

  it('serves Device 1.0 when asked for it and 1.1 by default', () => {
    expect(registry.getObject(3)?.version).toBe('1.1');
    expect(registry.getObject(3, '1.1')?.urn).toBe('urn:oma:lwm2m:oma:3:1.1');
    expect(registry.getObject(3, '1.0')?.urn).toBe('urn:oma:lwm2m:oma:3');
  });

  it('resolves resources against the requested version', () => {
    expect(registry.getResource(3, 22)?.name).toBe('ExtDevInfo');
    expect(registry.getResource(3, 22, '1.0')).toBeUndefined();
    expect(registry.getResource(3, 11, '1.0')).toMatchObject({ multiple: true, type: 'integer' });
    expect(registry.getResource(3, 0, '1.3')).toBeUndefined();
  });

  it('lists only the newest Device', () => {
    expect(
      registry
        .objects()
        .filter((d) => d.id === 3)
        .map((d) => d.version),
    ).toEqual(['1.1']);
  });
});
