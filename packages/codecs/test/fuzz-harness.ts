import { createCoreObjectRegistry, isLwm2mError } from '@lwm2m/core';
import type { Lwm2mPath } from '@lwm2m/core';
import { createCodec } from '../src/codec.js';
import { compositeOf50, deviceInstance } from './sample-nodes.js';

/**
 * Feeding decoders random and mutated buffers: each must decode or throw our typed error, never
 * another exception, never a hang. Deterministic (seeded) so a failure reproduces. The fuzz test
 * files (one per group of decoders, so each stays short) share this.
 */
export const ITERATIONS = 100_000;

/** Longest input made: mutations that grow a seed stop here. */
const MAX_INPUT = 4096;
/**
 * One input taking this long means a decoder went superlinear: far above any real decode, far
 * enough above a GC pause or a descheduled moment on a loaded machine not to fire by accident.
 */
const SLOW_INPUT_MS = 1000;

const INTERESTING = [0x00, 0xff, 0x7f, 0x80, 0x1f, 0x3a, 0x22, 0x5b, 0x7b];

export function createRandom(seed: number): (n: number) => number {
  let s = seed >>> 0 || 1;
  return (n) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % n;
  };
}

/**
 * Makes inputs in one reused buffer: edits shift bytes in place rather than allocating, and each
 * input is a view of the buffer, valid until the next one is made.
 */
export function createMutator(rnd: (n: number) => number): (seed: Uint8Array) => Uint8Array {
  const buffer = new Uint8Array(MAX_INPUT);
  return (seed) => {
    if (rnd(8) === 0 || seed.length === 0) {
      const length = rnd(48);
      for (let i = 0; i < length; i++) buffer[i] = rnd(256);
      return buffer.subarray(0, length);
    }
    let length = Math.min(seed.length, MAX_INPUT);
    buffer.set(seed.subarray(0, length));
    const edits = 1 + rnd(4);
    for (let e = 0; e < edits; e++) {
      const at = rnd(length + 1);
      switch (rnd(6)) {
        case 0: // flip a bit
          if (length > 0) buffer[at % length]! ^= 1 << rnd(8);
          break;
        case 1: // set an interesting byte
          if (length > 0) buffer[at % length] = INTERESTING[rnd(INTERESTING.length)]!;
          break;
        case 2: // truncate
          length = at;
          break;
        case 3: {
          // delete a run
          const end = Math.min(length, at + 1 + rnd(4));
          buffer.copyWithin(at, end, length);
          length -= end - at;
          break;
        }
        case 4: {
          // insert random bytes
          const count = Math.min(1 + rnd(4), MAX_INPUT - length);
          buffer.copyWithin(at + count, at, length);
          for (let i = 0; i < count; i++) buffer[at + i] = rnd(256);
          length += count;
          break;
        }
        default: {
          // duplicate a chunk: the bytes from `from` to the end, again at `at`
          const from = rnd(length + 1);
          const count = Math.min(length - from, MAX_INPUT - length);
          buffer.copyWithin(at + count, at, length);
          // The chunk moved when it lay after the insertion point.
          const source = from >= at ? from + count : from;
          buffer.copyWithin(at, source, source + count);
          length += count;
        }
      }
    }
    return buffer.subarray(0, length);
  };
}

/**
 * Runs `decode` over {@link ITERATIONS} inputs made from `seeds`; throws, naming the input, at the
 * first exception that is not an Lwm2mError or the first input that takes more than a second.
 * Stack traces are off meanwhile: capturing one for each of the many expected errors would cost
 * more than the decoding.
 */
export function expectOnlyTypedErrors(
  name: string,
  decode: (input: Uint8Array) => unknown,
  seeds: readonly Uint8Array[],
  salt: number,
  iterations = ITERATIONS,
): void {
  const rnd = createRandom(0x9e3779b9 ^ salt);
  const mutate = createMutator(rnd);
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    for (let i = 0; i < iterations; i++) {
      const input = mutate(seeds[i % seeds.length] ?? new Uint8Array(0));
      const start = performance.now();
      try {
        decode(input);
      } catch (error) {
        if (!isLwm2mError(error)) {
          throw new Error(
            `${name}: untyped ${String(error)} for input ${Buffer.from(input).toString('hex')}`,
            {
              cause: error,
            },
          );
        }
      }
      if (performance.now() - start > SLOW_INPUT_MS) {
        throw new Error(`${name}: input ${Buffer.from(input).toString('hex')} took over ${SLOW_INPUT_MS} ms`);
      }
    }
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

export const registry = createCoreObjectRegistry();
export const codec = createCodec({ registry });
export const device = deviceInstance();
export const singlePaths: Lwm2mPath[] = [[3, 0], [3, 0, 0], [3, 0, 6], [3, 0, 6, 1], [3, 0, 13], [3]];

/** Payloads of `format` for the Device instance and some of its resources, plus two foreign ones. */
export function seedsFor(format: number): Uint8Array[] {
  const seeds: Uint8Array[] = [];
  const nodes = [
    [device, [3, 0]],
    [device.resources.get(0)!, [3, 0, 0]],
    [device.resources.get(6)!, [3, 0, 6]],
    [device.resources.get(13)!, [3, 0, 13]],
  ] as const;
  for (const [node, path] of nodes) {
    // Single-value formats cannot carry every node (text has no multiple resources): seed with what they can.
    try {
      seeds.push(codec.encode(format, node, path));
    } catch (error) {
      if (!isLwm2mError(error)) throw error;
    }
  }
  seeds.push(new TextEncoder().encode('12345'), Uint8Array.of(0xc1, 0x00, 0x05));
  return seeds;
}

/** Single-path decoding of `format` under random and mutated input, cycling through {@link singlePaths}. */
export function fuzzSinglePath(format: number): void {
  const seeds = seedsFor(format);
  expect(seeds.length).toBeGreaterThanOrEqual(2);
  let p = 0;
  expectOnlyTypedErrors(
    `format ${format}`,
    (input) => codec.decode(format, input, singlePaths[p++ % singlePaths.length]!),
    seeds,
    format,
  );
}

/** Composite decoding of `format`, alternately without and with requested paths. */
export function fuzzComposite(format: number): void {
  const seeds = [
    codec.encodeComposite(format, new Map([...compositeOf50()].slice(0, 6))),
    codec.encodeComposite(format, new Map([['/3/0', device]])),
  ];
  let n = 0;
  expectOnlyTypedErrors(
    `composite ${format}`,
    (input) =>
      n++ % 2 === 0
        ? codec.decodeComposite(format, input)
        : codec.decodeComposite(format, input, [[3303], [3, 0]]),
    seeds,
    format + 1,
  );
}

/** Decoding of `format` path lists (Read-Composite / Observe-Composite request bodies). */
export function fuzzPaths(format: number): void {
  const seeds = [codec.encodePaths(format, [[3, 0, 0], [3303], [1, 0, 1], [3, 0, 6, 1]])];
  expectOnlyTypedErrors(`paths ${format}`, (input) => codec.decodePaths(format, input), seeds, format + 2);
}
