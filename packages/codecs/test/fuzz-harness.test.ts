import { DecodeError } from '@lwm2m/core';
import { createMutator, createRandom, expectOnlyTypedErrors } from './fuzz-harness.js';

describe('fuzz harness', () => {
  const seeds = [Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8)];

  it('fails, naming the input, when a decoder throws anything but our typed error', () => {
    const decode = (input: Uint8Array): void => {
      if (input.includes(0xff)) throw new TypeError('boom');
      throw new DecodeError('bad input');
    };
    expect(() => expectOnlyTypedErrors('buggy', decode, seeds, 1, 10_000)).toThrow(
      /buggy: untyped TypeError: boom for input [0-9a-f]*ff/,
    );
  });

  it('passes typed errors and restores stack traces', () => {
    const limit = Error.stackTraceLimit;
    expect(() =>
      expectOnlyTypedErrors(
        'typed',
        () => {
          throw new DecodeError('bad input');
        },
        seeds,
        2,
        1000,
      ),
    ).not.toThrow();
    expect(Error.stackTraceLimit).toBe(limit);
  });

  it('fails an input that takes too long', () => {
    let calls = 0;
    const slow = (): void => {
      if (++calls === 5) {
        const until = performance.now() + 1100;
        while (performance.now() < until);
      }
    };
    expect(() => expectOnlyTypedErrors('slow', slow, seeds, 3, 10)).toThrow(
      /slow: input [0-9a-f]* took over 1000 ms/,
    );
  });

  it('makes varied inputs within bounds from a seed', () => {
    const mutate = createMutator(createRandom(7));
    const seed = Uint8Array.from({ length: 64 }, (_, i) => i);
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const input = mutate(seed);
      expect(input.length).toBeLessThanOrEqual(4096);
      seen.add(Buffer.from(input).toString('hex'));
    }
    expect(seen.size).toBeGreaterThan(1500);
  });
});
