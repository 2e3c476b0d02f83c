import { createObjectLinksReader } from './object-links-reader.js';
import { parseObjectLinks } from './registration-params.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('createObjectLinksReader', () => {
  it('answers like parseObjectLinks, valid or not', () => {
    const read = createObjectLinksReader();
    for (const text of [
      '</>;rt="oma.lwm2m";ct="60 110",</1/0>,</3/0>',
      '</lwm2m>;rt="oma.lwm2m",</lwm2m/3/0>',
      '</3/0>,<not a path>',
      '</1/0>;ver=x',
      '</>;rt="oma.lwm2m",</x>;rt="oma.lwm2m"',
    ]) {
      const expected = parseObjectLinks(bytes(text), 40);
      expect(read(bytes(text), 40)).toEqual(expected);
      expect(read(bytes(text), 40)).toEqual(expected);
    }
    expect(read(bytes('</3/0>'), 0)).toMatchObject({ ok: false });
    expect(read(Uint8Array.of(0xff, 0xfe), 40)).toMatchObject({
      ok: false,
      message: 'object links are not UTF-8',
    });
  });

  it('shares one text among equal payloads and evicts the oldest', () => {
    const read = createObjectLinksReader(2);
    const a1 = read(bytes('</1/0>,</3/0>'), undefined);
    const a2 = read(bytes('</1/0>,</3/0>'), undefined);
    expect(a2).toBe(a1);
    read(bytes('</3/0>'), undefined);
    read(bytes('</4/0>'), undefined);
    // The first entry was evicted: a new (equal) result object.
    const a3 = read(bytes('</1/0>,</3/0>'), undefined);
    expect(a3).toEqual(a1);
    expect(a3).not.toBe(a1);
  });

  it('does not cache long payloads', () => {
    const read = createObjectLinksReader();
    const text = Array.from({ length: 400 }, (_, i) => `</3303/${i}>`).join(',');
    const first = read(bytes(text), 40);
    expect(first.ok).toBe(true);
    expect(read(bytes(text), 40)).not.toBe(first);
  });
});
