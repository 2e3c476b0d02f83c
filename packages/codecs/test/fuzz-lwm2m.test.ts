import { ContentFormat } from '@lwm2m/core';
import { fuzzComposite, fuzzSinglePath } from './fuzz-harness.js';

// LwM2M JSON and LwM2M CBOR decoders under random and mutated input (fuzz-harness.ts).
describe('LwM2M JSON and CBOR decoders under random and mutated input', () => {
  it.each([ContentFormat.JSON, ContentFormat.LWM2M_CBOR])('format %d throws only typed errors', (format) =>
    fuzzSinglePath(format),
  );
  it('LwM2M CBOR composite decoding throws only typed errors', () => fuzzComposite(ContentFormat.LWM2M_CBOR));
});
