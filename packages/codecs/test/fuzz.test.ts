import { ContentFormat, createCoreObjectRegistry, isLwm2mError } from '@lwm2m/core';
import type { Lwm2mPath } from '@lwm2m/core';
import { createCodec } from '../src/codec.js';
import { parseLinkFormat } from '../src/link-format.js';
import { compositeOf50, deviceInstance } from './sample-nodes.js';

/**
 * Every decoder, fed 100k random and mutated buffers, must either decode or throw our typed
 * error: never another exception, never a hang. Deterministic (seeded) so a failure reproduces.
 */
const ITERATIONS = 100_000;

function createRandom(seed: number): (n: number) => number {
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

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function mutate(seed: Uint8Array, rnd: (n: number) => number): Uint8Array {
  if (rnd(8) === 0 || seed.length === 0) {
    const out = new Uint8Array(rnd(48));
    for (let i = 0; i < out.length; i++) out[i] = rnd(256);
    return out;
  }
  let out: Uint8Array = Uint8Array.from(seed);
  const edits = 1 + rnd(4);
  for (let e = 0; e < edits; e++) {
    const at = rnd(out.length + 1);
    switch (rnd(6)) {
      case 0: // flip a bit
        if (out.length) out[at % out.length]! ^= 1 << rnd(8);
        break;
      case 1: // set an interesting byte
        if (out.length) out[at % out.length] = [0x00, 0xff, 0x7f, 0x80, 0x1f, 0x3a, 0x22, 0x5b, 0x7b][rnd(9)]!;
        break;
      case 2: // truncate
        out = out.subarray(0, at);
        break;
      case 3: // delete a run
        out = concat(out.subarray(0, at), out.subarray(at + 1 + rnd(4)));
        break;
      case 4: {
        // insert random bytes
        const extra = new Uint8Array(1 + rnd(4));
        for (let i = 0; i < extra.length; i++) extra[i] = rnd(256);
        out = concat(out.subarray(0, at), extra, out.subarray(at));
        break;
      }
      default: // duplicate a chunk
        out = concat(out.subarray(0, at), out.subarray(rnd(out.length + 1)), out.subarray(at));
    }
  }
  return out;
}

const registry = createCoreObjectRegistry();
const codec = createCodec({ registry });
const device = deviceInstance();
const singlePaths: Lwm2mPath[] = [[3, 0], [3, 0, 0], [3, 0, 6], [3, 0, 6, 1], [3, 0, 13], [3]];

function expectOnlyTypedErrors(name: string, decode: (input: Uint8Array) => unknown, seeds: Uint8Array[], salt: number) {
  const rnd = createRandom(0x9e3779b9 ^ salt);
  for (let i = 0; i < ITERATIONS; i++) {
    const input = mutate(seeds[i % seeds.length] ?? new Uint8Array(0), rnd);
    try {
      decode(input);
    } catch (error) {
      if (!isLwm2mError(error)) {
        throw new Error(`${name}: untyped ${String(error)} for input ${Buffer.from(input).toString('hex')}`, {
          cause: error,
        });
      }
    }
  }
}

const FORMATS = [
  ContentFormat.TEXT,
  ContentFormat.OPAQUE,
  ContentFormat.CBOR,
  ContentFormat.TLV,
  ContentFormat.SENML_JSON,
  ContentFormat.SENML_CBOR,
  ContentFormat.JSON,
  ContentFormat.LWM2M_CBOR,
];

function seedsFor(format: number): Uint8Array[] {
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

describe('decoders under random and mutated input', () => {
  it.each(FORMATS)('format %d throws only typed errors', (format) => {
    const seeds = seedsFor(format);
    expect(seeds.length).toBeGreaterThanOrEqual(2);
    let p = 0;
    expectOnlyTypedErrors(
      `format ${format}`,
      (input) => codec.decode(format, input, singlePaths[p++ % singlePaths.length]!),
      seeds,
      format,
    );
  });

  it.each([ContentFormat.SENML_JSON, ContentFormat.SENML_CBOR, ContentFormat.LWM2M_CBOR])(
    'composite format %d throws only typed errors',
    (format) => {
      const seeds = [
        codec.encodeComposite(format, new Map([...compositeOf50()].slice(0, 6))),
        codec.encodeComposite(format, new Map([['/3/0', device]])),
      ];
      let n = 0;
      expectOnlyTypedErrors(
        `composite ${format}`,
        (input) => (n++ % 2 === 0 ? codec.decodeComposite(format, input) : codec.decodeComposite(format, input, [[3303], [3, 0]])),
        seeds,
        format + 1,
      );
    },
  );

  it.each([ContentFormat.SENML_JSON, ContentFormat.SENML_CBOR])('path list format %d throws only typed errors', (format) => {
    const seeds = [codec.encodePaths(format, [[3, 0, 0], [3303], [1, 0, 1], [3, 0, 6, 1]])];
    expectOnlyTypedErrors(`paths ${format}`, (input) => codec.decodePaths(format, input), seeds, format + 2);
  });

  it('link format throws only typed errors', () => {
    const seeds = [
      '</>;rt="oma.lwm2m";ct=110,</1/0>,</3/0>,</3303/0>;ver=1.1',
      '</3>;ver=1.1,</3/0>;pmin=10;pmax=60,</3/0/1>,</3/0/6>;dim=2;gt="1,2"',
    ].map((s) => new TextEncoder().encode(s));
    const decoder = new TextDecoder();
    expectOnlyTypedErrors('link-format', (input) => parseLinkFormat(decoder.decode(input)), seeds, 40);
  });
});
