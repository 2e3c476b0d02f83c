import { ContentFormat } from '@lwm2m/core';
import { fuzzComposite, fuzzPaths, fuzzSinglePath } from './fuzz-harness.js';

// SenML JSON decoders under random and mutated input (fuzz-harness.ts).
describe('SenML JSON decoders under random and mutated input', () => {
  const format = ContentFormat.SENML_JSON;
  it('single-path decoding throws only typed errors', () => fuzzSinglePath(format));
  it('composite decoding throws only typed errors', () => fuzzComposite(format));
  it('path-list decoding throws only typed errors', () => fuzzPaths(format));
});
