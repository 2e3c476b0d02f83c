/**
 * Object definitions for codec tests only (not exported from the package index). Ids, types and
 * multiplicity follow the OMA LwM2M registry (Device 3, Access Control 2, Server 1, Temperature
 * 3303); descriptions are left out. Object 10241 is made up: one resource of every type, single
 * and multiple, so property tests can cover every value type at every level.
 */
import { createObjectRegistry, multipleResource, objectInstance, singleResource } from '@lwm2m/core';
import fc from 'fast-check';
import type {
  MutableObjectRegistry,
  ObjectInstanceNode,
  ObjectDefinition,
  ResourceDefinition,
  ResourceNode,
  ResourceOperations,
  ResourceType,
  ResourceValue,
} from '@lwm2m/core';
import { DEFAULT_DECODE_LIMITS } from './types.js';
import type { CodecContext, DecodeLimits } from './types.js';
import { INT64_MAX, INT64_MIN, UINT64_MAX, normalizeInteger } from './value-types.js';

type ResourceRow = readonly [
  id: number,
  name: string,
  operations: ResourceOperations,
  type: ResourceType,
  multiple?: boolean,
  mandatory?: boolean,
];

function defineObject(
  id: number,
  name: string,
  multiple: boolean,
  rows: readonly ResourceRow[],
): ObjectDefinition {
  const resources = new Map<number, ResourceDefinition>();
  for (const [rid, rname, operations, type, rmultiple = false, mandatory = false] of rows) {
    resources.set(rid, { id: rid, name: rname, operations, type, multiple: rmultiple, mandatory });
  }
  return { id, name, version: '1.0', lwm2mVersion: '1.0', multiple, mandatory: false, resources };
}

export const SERVER_OBJECT: ObjectDefinition = defineObject(1, 'LwM2M Server', true, [
  [0, 'Short Server ID', 'R', 'integer', false, true],
  [1, 'Lifetime', 'RW', 'integer', false, true],
  [2, 'Default Minimum Period', 'RW', 'integer'],
  [3, 'Default Maximum Period', 'RW', 'integer'],
  [4, 'Disable', 'E', 'none'],
  [5, 'Disable Timeout', 'RW', 'integer'],
  [6, 'Notification Storing When Disabled or Offline', 'RW', 'boolean', false, true],
  [7, 'Binding', 'RW', 'string', false, true],
  [8, 'Registration Update Trigger', 'E', 'none', false, true],
]);

export const ACCESS_CONTROL_OBJECT: ObjectDefinition = defineObject(2, 'LwM2M Access Control', true, [
  [0, 'Object ID', 'R', 'integer', false, true],
  [1, 'Object Instance ID', 'R', 'integer', false, true],
  [2, 'ACL', 'RW', 'integer', true],
  [3, 'Access Control Owner', 'RW', 'integer', false, true],
]);

export const DEVICE_OBJECT: ObjectDefinition = defineObject(3, 'Device', false, [
  [0, 'Manufacturer', 'R', 'string'],
  [1, 'Model Number', 'R', 'string'],
  [2, 'Serial Number', 'R', 'string'],
  [3, 'Firmware Version', 'R', 'string'],
  [4, 'Reboot', 'E', 'none', false, true],
  [5, 'Factory Reset', 'E', 'none'],
  [6, 'Available Power Sources', 'R', 'integer', true],
  [7, 'Power Source Voltage', 'R', 'integer', true],
  [8, 'Power Source Current', 'R', 'integer', true],
  [9, 'Battery Level', 'R', 'integer'],
  [10, 'Memory Free', 'R', 'integer'],
  [11, 'Error Code', 'R', 'integer', true, true],
  [12, 'Reset Error Code', 'E', 'none'],
  [13, 'Current Time', 'RW', 'time'],
  [14, 'UTC Offset', 'RW', 'string'],
  [15, 'Timezone', 'RW', 'string'],
  [16, 'Supported Binding and Modes', 'R', 'string', false, true],
  [17, 'Device Type', 'R', 'string'],
  [18, 'Hardware Version', 'R', 'string'],
  [19, 'Software Version', 'R', 'string'],
  [20, 'Battery Status', 'R', 'integer'],
  [21, 'Memory Total', 'R', 'integer'],
  [22, 'ExtDevInfo', 'R', 'objlnk', true],
]);

export const TEMPERATURE_OBJECT: ObjectDefinition = defineObject(3303, 'Temperature', true, [
  [5601, 'Min Measured Value', 'R', 'float'],
  [5602, 'Max Measured Value', 'R', 'float'],
  [5603, 'Min Range Value', 'R', 'float'],
  [5604, 'Max Range Value', 'R', 'float'],
  [5605, 'Reset Min and Max Measured Values', 'E', 'none'],
  [5700, 'Sensor Value', 'R', 'float', false, true],
  [5701, 'Sensor Units', 'R', 'string'],
]);

/** Resource id of each type in {@link ALL_TYPES_OBJECT}; the multiple-instance twin is id + 100. */
export const ALL_TYPES_RESOURCES: Readonly<Record<Exclude<ResourceType, 'none'>, number>> = {
  string: 0,
  integer: 1,
  unsigned: 2,
  float: 3,
  boolean: 4,
  opaque: 5,
  time: 6,
  objlnk: 7,
  corelnk: 8,
};

export const ALL_TYPES_OBJECT_ID = 10241;

export const ALL_TYPES_OBJECT: ObjectDefinition = defineObject(ALL_TYPES_OBJECT_ID, 'All Types', true, [
  ...Object.entries(ALL_TYPES_RESOURCES).map(([type, id]): ResourceRow => [
    id,
    type,
    'RW',
    type as ResourceType,
  ]),
  ...Object.entries(ALL_TYPES_RESOURCES).map(([type, id]): ResourceRow => [
    id + 100,
    `${type}s`,
    'RW',
    type as ResourceType,
    true,
  ]),
  [9, 'execute', 'E', 'none'],
]);

export const TEST_OBJECTS: readonly ObjectDefinition[] = [
  SERVER_OBJECT,
  ACCESS_CONTROL_OBJECT,
  DEVICE_OBJECT,
  TEMPERATURE_OBJECT,
  ALL_TYPES_OBJECT,
];

/** A fresh registry holding {@link TEST_OBJECTS}. */
export function createTestRegistry(): MutableObjectRegistry {
  return createObjectRegistry(TEST_OBJECTS);
}

/** A codec context over {@link createTestRegistry}, with default limits unless overridden. */
export function createTestContext(limits: Partial<DecodeLimits> = {}): CodecContext {
  return { registry: createTestRegistry(), limits: { ...DEFAULT_DECODE_LIMITS, ...limits } };
}

/** Every type that carries a value (all but `none`). */
export const VALUE_TYPES: readonly Exclude<ResourceType, 'none'>[] = Object.keys(
  ALL_TYPES_RESOURCES,
) as Exclude<ResourceType, 'none'>[];

/**
 * Arbitrary valid values of a resource type, in their ResourceValue form (integers as number when
 * safe, bigint beyond). `finite: true` leaves out NaN and ±Infinity (text has no form for them).
 */
export function arbitraryValue(
  type: ResourceType,
  options: { finite?: boolean } = {},
): fc.Arbitrary<ResourceValue> {
  switch (type) {
    case 'string':
    case 'corelnk':
      // Any code point but lone surrogates (which UTF-8 cannot carry). Built from code points:
      // fc.string({ unit: 'binary' }) spends a second building its tables on first use.
      return fc
        .array(
          fc.oneof(
            fc.integer({ min: 0, max: 0x7f }),
            fc.integer({ min: 0, max: 0xd7ff }),
            fc.integer({ min: 0xe000, max: 0x10ffff }),
          ),
          {
            maxLength: 24,
          },
        )
        .map((codePoints) => String.fromCodePoint(...codePoints));
    case 'integer':
      return fc.oneof(
        fc.integer({ min: -200, max: 200 }),
        fc.integer(),
        fc.bigInt({ min: INT64_MIN, max: INT64_MAX }).map(normalizeInteger),
      );
    case 'unsigned':
      return fc.oneof(
        fc.nat({ max: 300 }),
        fc.nat(),
        fc.bigInt({ min: 0n, max: UINT64_MAX }).map(normalizeInteger),
      );
    case 'float':
      return fc.oneof(
        fc.double({ noNaN: options.finite === true, noDefaultInfinity: options.finite === true }),
        fc.float({ noNaN: true, noDefaultInfinity: true }).map((f) => f),
        fc.integer({ min: -1000, max: 1000 }),
      );
    case 'boolean':
      return fc.boolean();
    case 'opaque':
      return fc.uint8Array({ maxLength: 24 });
    case 'time':
      return fc.integer({ min: -(2 ** 40), max: 2 ** 40 }).map((s) => new Date(s * 1000));
    case 'objlnk':
      return fc.record({ objectId: fc.nat({ max: 0xffff }), instanceId: fc.nat({ max: 0xffff }) });
    case 'none':
      throw new Error('executable resources have no value');
  }
}

/** The Device instance of the TLV/JSON examples in the OMA LwM2M TS Core specification. */
export function specDeviceInstance(id = 0): ObjectInstanceNode {
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

/** A single or multiple resource of object 10241 holding values of `type`. */
export const arbitraryResource = (type: Exclude<ResourceType, 'none'>): fc.Arbitrary<ResourceNode> => {
  const id = ALL_TYPES_RESOURCES[type];
  return fc.oneof(
    arbitraryValue(type).map((value) => singleResource(id, type, value)),
    fc
      .uniqueArray(fc.tuple(fc.nat({ max: 65534 }), arbitraryValue(type)), {
        selector: ([riid]) => riid,
        maxLength: 4,
      })
      .map((instances) => multipleResource(id + 100, type, instances)),
  );
};

/** An instance of object 10241 with a resource of some of the value types. */
export const arbitraryInstance: fc.Arbitrary<ObjectInstanceNode> = fc
  .tuple(
    fc.nat({ max: 65534 }),
    fc
      .uniqueArray(fc.constantFrom(...VALUE_TYPES), { maxLength: VALUE_TYPES.length })
      .chain((types) => fc.tuple(...types.map(arbitraryResource))),
  )
  .map(([id, resources]) => objectInstance(id, resources));
