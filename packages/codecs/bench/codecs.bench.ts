/**
 * Encode+decode throughput per format for a Device instance and a 50-entry composite, against the
 * same run's raw cbor-x encode+decode of an equivalent plain object, and against the `lwm2m-codec`
 * npm package where it has the format (TLV, LwM2M JSON). Prints one JSON document.
 */
import { createRequire } from 'node:module';
import { ContentFormat, createCoreObjectRegistry } from '@lwm2m/core';
import { Decoder, Encoder } from 'cbor-x';
import { createCodec } from '../src/index.js';
import { compositeOf50, deviceInstance } from '../test/sample-nodes.js';
import { paired } from './paired-rounds.js';

const require = createRequire(import.meta.url);
const legacy = require('lwm2m-codec') as {
  encode(format: string, path: string, value: object): Buffer;
  decode(format: string, path: string, payload: Buffer): object;
};

const codec = createCodec({ registry: createCoreObjectRegistry() });
const device = deviceInstance();
const composite = compositeOf50();
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true });
const cborDecoder = new Decoder({ useRecords: false, mapsAsObjects: true });

const plainDevice = {
  0: 'Open Mobile Alliance',
  1: 'Lightweight M2M Client',
  2: '345000123',
  3: '1.0',
  6: [1, 5],
  7: [3800, 5000],
  8: [125, 900],
  9: 100,
  10: 15,
  11: [0],
  13: 0x5182428f,
  14: '+02:00',
  16: 'U',
};
// What a SenML composite is in plain CBOR: an array of 50 {n, v} maps with the same names and values.
const plainComposite = [...composite].map(([path, node]) =>
  node.kind === 'resource' && typeof node.value === 'number'
    ? { n: path, v: node.value }
    : { n: path, vs: 'Cel' },
);

const rawDeviceRun = (): unknown => cborDecoder.decode(cbor.encode(plainDevice));
const rawCompositeRun = (): unknown => cborDecoder.decode(cbor.encode(plainComposite));

/**
 * Each format against the baseline in interleaved rounds (paired-rounds.ts): medians of per-round
 * ratios, by wall-clock and by CPU time, so that load from other processes hits both sides alike.
 */
const ROUNDS = 9;
const ROUND_MS = 150;

interface Paired {
  readonly opsPerSec: number;
  readonly baselineOpsPerSec: number;
  /** Median per-round ratio by CPU time: the figure the goal is checked against. */
  readonly ratioToRawCbor: number;
  readonly cpuRatioRange: readonly [number, number];
  /** Median per-round ratio by wall-clock time (noisier when the machine is loaded). */
  readonly wallRatioToRawCbor: number;
  readonly bytes: number;
}

function against(baseline: () => unknown, run: () => unknown, bytes: number): Paired {
  const result = paired(baseline, run, { rounds: ROUNDS, ms: ROUND_MS });
  return {
    opsPerSec: result.cpuOpsPerSec,
    baselineOpsPerSec: result.baselineCpuOpsPerSec,
    ratioToRawCbor: result.cpuRatio,
    cpuRatioRange: result.cpuRatioRange,
    wallRatioToRawCbor: result.ratio,
    bytes,
  };
}

const formats: Array<[string, number]> = [
  ['tlv', ContentFormat.TLV],
  ['senml-json', ContentFormat.SENML_JSON],
  ['senml-cbor', ContentFormat.SENML_CBOR],
  ['lwm2m-json', ContentFormat.JSON],
  ['lwm2m-cbor', ContentFormat.LWM2M_CBOR],
];

const deviceResults: Record<string, Paired> = {};
for (const [name, format] of formats) {
  const payload = codec.encode(format, device, [3, 0]);
  deviceResults[name] = against(
    rawDeviceRun,
    () => codec.decode(format, codec.encode(format, device, [3, 0]), [3, 0]),
    payload.length,
  );
}

const compositeResults: Record<string, Paired> = {};
for (const [name, format] of formats.filter(
  ([, f]) => codec.supports(f) && f !== ContentFormat.TLV && f !== ContentFormat.JSON,
)) {
  const payload = codec.encodeComposite(format, composite);
  compositeResults[name] = against(
    rawCompositeRun,
    () => codec.decodeComposite(format, codec.encodeComposite(format, composite)),
    payload.length,
  );
}

// lwm2m-codec has no multiple-instance resources in its Device example shape; use the resources it can carry.
const legacyDevice = {
  0: 'Open Mobile Alliance',
  1: 'Lightweight M2M Client',
  2: '345000123',
  3: '1.0',
  9: 100,
  10: 15,
  14: '+02:00',
  16: 'U',
};
const ours = codec;
const simpleDevice = {
  ...device,
  resources: new Map([...device.resources].filter(([, r]) => r.kind === 'resource' && r.type !== 'time')),
};
const againstLegacy: Record<string, { ours: number; lwm2mCodec: number; ratio: number; wallRatio: number }> =
  {};
for (const [name, legacyName, format] of [
  ['tlv', 'tlv', ContentFormat.TLV],
  ['lwm2m-json', 'json', ContentFormat.JSON],
] as const) {
  const result = paired(
    () => legacy.decode(legacyName, '/3/0', legacy.encode(legacyName, '/3/0', legacyDevice)),
    () => ours.decode(format, ours.encode(format, simpleDevice, [3, 0]), [3, 0]),
    { rounds: 5, ms: ROUND_MS },
  );
  againstLegacy[name] = {
    ours: result.cpuOpsPerSec,
    lwm2mCodec: result.baselineCpuOpsPerSec,
    ratio: result.cpuRatio,
    wallRatio: result.ratio,
  };
}

console.log(
  JSON.stringify(
    {
      benchmark: '@lwm2m/codecs encode+decode',
      node: process.version,
      baseline:
        'cbor-x (useRecords false, mapsAsObjects) encode+decode of the same values as plain data: the Device ' +
        'resources as an object keyed by id (arrays for multiple resources), the composite as an array of 50 ' +
        `{n, v} maps`,
      method:
        `${ROUNDS} interleaved rounds of ${ROUND_MS} ms per side (baseline first in even rounds, last in odd ones); ` +
        'ops/s are per second of process CPU time (process.cpuUsage); ratioToRawCbor is the median of the ' +
        'per-round CPU-time ratios, cpuRatioRange their spread, wallRatioToRawCbor the same by wall clock',
      goal: 'CBOR formats: ratioToRawCbor >= 0.5 (at most 2x slower than raw cbor-x)',
      deviceInstance: deviceResults,
      composite50: compositeResults,
      againstLwm2mCodec: againstLegacy,
    },
    null,
    2,
  ),
);
