import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CORE_OBJECT_XML } from './core-objects.generated.js';
import { coreObjectDefinitions, createCoreObjectRegistry } from './core-objects.js';
import { parseDdf } from './ddf.js';
import type { ResourceDefinition } from './model.js';

// jest runs from the repository root; there is no __dirname under the package's ESM build.
const objectsDir = join(process.cwd(), 'packages/core/objects');

describe('core-objects.generated.ts', () => {
  it('is up to date with objects/*.xml (run scripts/generate-core-objects.mjs)', () => {
    const files = readdirSync(objectsDir).filter((n) => n.endsWith('.xml'));
    expect(Object.keys(CORE_OBJECT_XML).sort()).toEqual(files.sort());
    for (const file of files) {
      expect([file, CORE_OBJECT_XML[file]]).toEqual([file, readFileSync(join(objectsDir, file), 'utf8')]);
    }
  });
});

describe('shipped object files', () => {
  const files = readdirSync(objectsDir).filter((n) => n.endsWith('.xml'));

  it('ship exactly the core objects', () => {
    expect(files.map((f) => Number.parseInt(f, 10)).sort((a, b) => a - b)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 3303,
    ]);
  });

  it.each(files)(
    '%s holds one object whose id is its file name, with attribution and no OMA description text',
    (file) => {
      const xml = readFileSync(join(objectsDir, file), 'utf8');
      expect(xml).toContain('https://github.com/OpenMobileAlliance/lwm2m-registry');
      const definitions = parseDdf(xml);
      expect(definitions).toHaveLength(1);
      expect(definitions[0]!.id).toBe(Number.parseInt(file, 10));
      // Resource descriptions are left out on purpose (see README, "Object definitions").
      for (const resource of definitions[0]!.resources.values())
        expect(resource).not.toHaveProperty('description');
    },
  );
});

describe('createCoreObjectRegistry', () => {
  const registry = createCoreObjectRegistry();
  const resource = (objectId: number, resourceId: number): ResourceDefinition => {
    const r = registry.getResource(objectId, resourceId);
    if (!r) throw new Error(`/${objectId}/x/${resourceId} missing`);
    return r;
  };

  it('holds the core objects in the registry versions we ship', () => {
    expect(registry.objects().map((o) => [o.id, o.name, o.version, o.multiple, o.mandatory])).toEqual([
      [0, 'LWM2M Security', '1.1', true, true],
      [1, 'LwM2M Server', '1.1', true, true],
      [2, 'LwM2M Access Control', '1.1', true, false],
      [3, 'Device', '1.1', false, true],
      [4, 'Connectivity Monitoring', '1.1', false, false],
      [5, 'Firmware Update', '1.1', false, false],
      [6, 'Location', '1.1', false, false],
      [7, 'Connectivity Statistics', '1.0', false, false],
      [3303, 'Temperature', '1.1', true, false],
    ]);
    expect(registry.getObject(3)!.urn).toBe('urn:oma:lwm2m:oma:3:1.1');
    expect(registry.getObject(3303)!.urn).toBe('urn:oma:lwm2m:ext:3303:1.1');
  });

  it('Security (0): bootstrap-only resources with the DESIGN.md ids', () => {
    expect([...registry.getObject(0)!.resources.keys()]).toEqual([...Array(18).keys()]);
    expect(resource(0, 0)).toMatchObject({
      name: 'LWM2M  Server URI',
      type: 'string',
      operations: '',
      mandatory: true,
    });
    expect(resource(0, 1)).toMatchObject({ name: 'Bootstrap-Server', type: 'boolean' });
    expect(resource(0, 2)).toMatchObject({
      name: 'Security Mode',
      type: 'integer',
      rangeEnumeration: '0..4',
    });
    expect(resource(0, 3)).toMatchObject({ name: 'Public Key or Identity', type: 'opaque' });
    expect(resource(0, 4)).toMatchObject({ name: 'Server Public Key', type: 'opaque' });
    expect(resource(0, 5)).toMatchObject({ name: 'Secret Key', type: 'opaque' });
    expect(resource(0, 10)).toMatchObject({
      name: 'Short Server ID',
      type: 'integer',
      rangeEnumeration: '1..65534',
    });
    expect(resource(0, 11)).toMatchObject({ name: 'Client Hold Off Time', units: 's' });
    expect(resource(0, 12)).toMatchObject({ name: 'Bootstrap-Server Account Timeout', units: 's' });
    expect(resource(0, 16)).toMatchObject({ multiple: true, type: 'integer' });
    expect(resource(0, 17)).toMatchObject({ type: 'objlnk' });
    for (const r of registry.getObject(0)!.resources.values()) expect(r.operations).toBe('');
  });

  it('Server (1): resources 0..23, lifetime and triggers as in DESIGN.md', () => {
    expect([...registry.getObject(1)!.resources.keys()]).toEqual([...Array(24).keys()]);
    expect(
      [0, 1, 2, 3, 4, 5, 6, 7, 8].map((id) => {
        const r = resource(1, id);
        return [id, r.name, r.operations, r.type];
      }),
    ).toEqual([
      [0, 'Short Server ID', 'R', 'integer'],
      [1, 'Lifetime', 'RW', 'integer'],
      [2, 'Default Minimum Period', 'RW', 'integer'],
      [3, 'Default Maximum Period', 'RW', 'integer'],
      [4, 'Disable', 'E', 'none'],
      [5, 'Disable Timeout', 'RW', 'integer'],
      [6, 'Notification Storing When Disabled or Offline', 'RW', 'boolean'],
      [7, 'Binding', 'RW', 'string'],
      [8, 'Registration Update Trigger', 'E', 'none'],
    ]);
    expect(resource(1, 1).units).toBe('s');
    expect(resource(1, 8).mandatory).toBe(true);
    expect(resource(1, 11)).toMatchObject({ name: 'TLS-DTLS Alert Code', type: 'unsigned' });
    expect(resource(1, 23)).toMatchObject({ name: 'Mute Send', type: 'boolean' });
  });

  it('Access Control (2): ACL is a multiple integer', () => {
    expect(resource(2, 2)).toMatchObject({ name: 'ACL', multiple: true, type: 'integer', operations: 'RW' });
    expect(resource(2, 3)).toMatchObject({ name: 'Access Control Owner', mandatory: true });
  });

  it('Device (3): resources 0..22; 6, 7, 8, 11, 22 multiple', () => {
    const device = registry.getObject(3)!;
    expect([...device.resources.keys()]).toEqual([...Array(23).keys()]);
    const multiple = [...device.resources.values()].filter((r) => r.multiple).map((r) => r.id);
    expect(multiple).toEqual([6, 7, 8, 11, 22]);
    expect(resource(3, 6)).toMatchObject({
      name: 'Available Power Sources',
      type: 'integer',
      operations: 'R',
      rangeEnumeration: '0..7',
    });
    expect(resource(3, 4)).toMatchObject({ name: 'Reboot', operations: 'E', type: 'none', mandatory: true });
    expect(resource(3, 5)).toMatchObject({ name: 'Factory Reset', operations: 'E', type: 'none' });
    expect(resource(3, 9)).toMatchObject({ name: 'Battery Level', units: '%', rangeEnumeration: '0..100' });
    expect(resource(3, 11)).toMatchObject({ name: 'Error Code', mandatory: true });
    expect(resource(3, 13)).toMatchObject({ name: 'Current Time', type: 'time', operations: 'RW' });
    expect(resource(3, 16)).toMatchObject({ name: 'Supported Binding and Modes', mandatory: true });
    expect(resource(3, 20).name).toBe('Battery Status');
    expect(resource(3, 21).name).toBe('Memory Total');
    expect(resource(3, 22)).toMatchObject({ name: 'ExtDevInfo', type: 'objlnk' });
  });

  it('Connectivity Monitoring (4): bearers and addresses', () => {
    expect([...registry.getObject(4)!.resources.keys()]).toEqual([...Array(12).keys()]);
    expect(resource(4, 1)).toMatchObject({
      name: 'Available Network Bearer',
      multiple: true,
      mandatory: true,
    });
    expect(resource(4, 2)).toMatchObject({ name: 'Radio Signal Strength', units: 'dBm', mandatory: true });
    expect(resource(4, 4)).toMatchObject({ name: 'IP Addresses', multiple: true, type: 'string' });
    expect(resource(4, 9)).not.toHaveProperty('units');
  });

  it('Firmware Update (5): the DESIGN.md resources, no resource 4', () => {
    expect([...registry.getObject(5)!.resources.keys()]).toEqual([0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    expect(
      [0, 1, 2, 3, 5, 6, 7, 8, 9].map((id) => {
        const r = resource(5, id);
        return [id, r.name, r.operations, r.type, r.multiple];
      }),
    ).toEqual([
      [0, 'Package', 'W', 'opaque', false],
      [1, 'Package URI', 'RW', 'string', false],
      [2, 'Update', 'E', 'none', false],
      [3, 'State', 'R', 'integer', false],
      [5, 'Update Result', 'R', 'integer', false],
      [6, 'PkgName', 'R', 'string', false],
      [7, 'PkgVersion', 'R', 'string', false],
      [8, 'Firmware Update Protocol Support', 'R', 'integer', true],
      [9, 'Firmware Update Delivery Method', 'R', 'integer', false],
    ]);
    expect(resource(5, 3).rangeEnumeration).toBe('0..3');
  });

  it('Location (6) and Connectivity Statistics (7)', () => {
    expect(resource(6, 0)).toMatchObject({ name: 'Latitude', type: 'float', mandatory: true });
    expect(resource(6, 4)).toMatchObject({ name: 'Velocity', type: 'opaque' });
    expect(resource(6, 5)).toMatchObject({ name: 'Timestamp', type: 'time', mandatory: true });
    expect(registry.getResource(6, 7)).toBeUndefined();
    expect([...registry.getObject(7)!.resources.keys()]).toEqual([...Array(9).keys()]);
    expect(resource(7, 6)).toMatchObject({ name: 'Start', operations: 'E', type: 'none' });
    expect(resource(7, 8)).toMatchObject({ name: 'Collection Period', units: 's', operations: 'RW' });
  });

  it('Temperature (3303): IPSO sensor resources', () => {
    expect([...registry.getObject(3303)!.resources.keys()].sort((a, b) => a - b)).toEqual([
      5518, 5601, 5602, 5603, 5604, 5605, 5700, 5701, 5750, 6042, 6049, 6050,
    ]);
    expect(resource(3303, 5700)).toMatchObject({
      name: 'Sensor Value',
      type: 'float',
      operations: 'R',
      mandatory: true,
    });
    expect(resource(3303, 5701)).toMatchObject({ name: 'Sensor Units', type: 'string' });
    expect(resource(3303, 5605)).toMatchObject({ operations: 'E', type: 'none' });
    expect(resource(3303, 5750)).toMatchObject({
      name: 'Application Type',
      operations: 'RW',
      type: 'string',
    });
    expect(resource(3303, 5518)).toMatchObject({ name: 'Timestamp', type: 'time' });
  });

  it('returns a new registry each time', () => {
    const a = createCoreObjectRegistry();
    const b = createCoreObjectRegistry();
    a.add({
      id: 3,
      name: 'Device',
      version: '9.0',
      lwm2mVersion: '1.1',
      multiple: false,
      mandatory: true,
      resources: new Map(),
    });
    expect(a.getObject(3)!.version).toBe('9.0');
    expect(b.getObject(3)!.version).toBe('1.1');
    expect(coreObjectDefinitions()).not.toBe(coreObjectDefinitions());
    expect(coreObjectDefinitions()).toHaveLength(9);
  });
});
