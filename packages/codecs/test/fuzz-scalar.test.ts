import { ContentFormat } from '@lwm2m/core';
import { parseLinkFormat } from '../src/link-format.js';
import { expectOnlyTypedErrors, fuzzSinglePath } from './fuzz-harness.js';

// Decoders under random and mutated input (fuzz-harness.ts), the formats of one value or a flat
// binary layout; the SenML and LwM2M formats have files of their own so each file stays short.
describe('decoders under random and mutated input', () => {
  it.each([ContentFormat.TEXT, ContentFormat.OPAQUE, ContentFormat.CBOR, ContentFormat.TLV])(
    'format %d throws only typed errors',
    (format) => fuzzSinglePath(format),
  );

  it('link format throws only typed errors', () => {
    const seeds = [
      '</>;rt="oma.lwm2m";ct=110,</1/0>,</3/0>,</3303/0>;ver=1.1',
      '</3>;ver=1.1,</3/0>;pmin=10;pmax=60,</3/0/1>,</3/0/6>;dim=2;gt="1,2"',
    ].map((s) => new TextEncoder().encode(s));
    const decoder = new TextDecoder();
    expectOnlyTypedErrors('link-format', (input) => parseLinkFormat(decoder.decode(input)), seeds, 40);
  });
});
