import { DecodeError, EncodeError, isLwm2mError } from '@lwm2m/core';
import type { Lwm2mPath } from '@lwm2m/core';
import fc from 'fast-check';
import {
  formatDiscoverLinks,
  formatLinkFormat,
  formatRegistrationLinks,
  parseDiscoverLinks,
  parseLinkFormat,
  parseRegistrationLinks,
} from './link-format.js';
import type { DiscoverLink, Link, NotificationAttributes, RegisteredObject } from './link-format.js';

const link = (uri: string, params: Record<string, string | true> = {}): Link => ({
  uri,
  params: new Map(Object.entries(params)),
});

function expectDecodeError(run: () => unknown, pattern?: RegExp): DecodeError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(DecodeError);
  if (pattern) expect((caught as Error).message).toMatch(pattern);
  return caught as DecodeError;
}

describe('parseLinkFormat', () => {
  it('reads the RFC 6690 §5 examples', () => {
    expect(parseLinkFormat('</sensors/temp>;if="sensor",</sensors/light>;if="sensor"')).toEqual([
      link('/sensors/temp', { if: 'sensor' }),
      link('/sensors/light', { if: 'sensor' }),
    ]);
    const text =
      '</sensors>;ct=40;title="Sensor Index",</sensors/temp>;rt="temperature-c";if="sensor",' +
      '</sensors/light>;rt="light-lux";if="sensor",' +
      '<http://www.example.com/sensors/t123>;anchor="/sensors/temp";rel="describedby",' +
      '</t>;anchor="/sensors/temp";rel="alternate"';
    expect(parseLinkFormat(text)).toEqual([
      link('/sensors', { ct: '40', title: 'Sensor Index' }),
      link('/sensors/temp', { rt: 'temperature-c', if: 'sensor' }),
      link('/sensors/light', { rt: 'light-lux', if: 'sensor' }),
      link('http://www.example.com/sensors/t123', { anchor: '/sensors/temp', rel: 'describedby' }),
      link('/t', { anchor: '/sensors/temp', rel: 'alternate' }),
    ]);
  });

  it('reads LwM2M links: root with rt and ct, instances, versions, attributes', () => {
    expect(
      parseLinkFormat('</>;rt="oma.lwm2m";ct=110,</1/0>,</3/0>,</3>;ver=1.1,</3/0/1>;pmin=10;pmax=60'),
    ).toEqual([
      link('/', { rt: 'oma.lwm2m', ct: '110' }),
      link('/1/0'),
      link('/3/0'),
      link('/3', { ver: '1.1' }),
      link('/3/0/1', { pmin: '10', pmax: '60' }),
    ]);
  });

  it('keeps commas, semicolons and escaped quotes inside quoted values', () => {
    expect(parseLinkFormat('</a>;title="x, y; \\"z\\" \\\\ w";gt="1,2",</b>')).toEqual([
      link('/a', { title: 'x, y; "z" \\ w', gt: '1,2' }),
      link('/b'),
    ]);
  });

  it('reads flags, empty quoted values and lower-cases names', () => {
    expect(parseLinkFormat('</s>;obs;RT="";Ct=0')).toEqual([link('/s', { obs: true, rt: '', ct: '0' })]);
  });

  it('tolerates whitespace around separators and at the ends', () => {
    expect(parseLinkFormat(' \r\n</1/0> , </3/0> ;\tver = 1.1 ;obs\n')).toEqual([
      link('/1/0'),
      link('/3/0', { ver: '1.1', obs: true }),
    ]);
    expect(parseLinkFormat('')).toEqual([]);
    expect(parseLinkFormat('  ')).toEqual([]);
  });

  it.each<[string, string, number, RegExp]>([
    ['no "<"', '/1/0', 0, /expected "<"/],
    ['an unterminated URI', '</1/0', 0, /unterminated "<"/],
    ['a space in a URI', '</1 0>', 3, /invalid character in URI/],
    ['text after a link', '</1/0>x', 6, /expected "," or ";"/],
    ['a trailing comma', '</1/0>,', 7, /expected a link after ","/],
    ['an empty parameter name', '</1/0>;=1', 7, /parameter name/],
    ['an empty unquoted value', '</1/0>;ct=', 10, /expected a value/],
    ['an unterminated quoted value', '</1/0>;rt="oma', 10, /unterminated quoted string/],
    ['a dangling escape', '</1/0>;rt="oma\\', 10, /unterminated quoted string/],
    ['a repeated parameter', '</1/0>;ct=1;CT=2', 12, /given twice/],
    ['text after a quoted value', '</1/0>;rt="a"b', 13, /expected "," or ";"/],
  ])('rejects %s with the offset', (_name, text, offset, pattern) => {
    const error = expectDecodeError(() => parseLinkFormat(text), pattern);
    expect(error.offset).toBe(offset);
    expect(error.format).toBe(40);
  });

  it('honours its limits before doing the work', () => {
    expectDecodeError(() => parseLinkFormat('</1>,</2>,</3>', { maxLinks: 2 }), /more than 2 links/);
    expect(parseLinkFormat('</1>,</2>', { maxLinks: 2 })).toHaveLength(2);
    expectDecodeError(() => parseLinkFormat('</1>,</2>', { maxLength: 8 }), /exceeds the 8 limit/);
  });

  it('throws only DecodeError on arbitrary text', () => {
    const alphabet = fc.constantFrom(...'<>/;,="\\ 0139abrt.\t'.split(''), 'é', '\u0000');
    fc.assert(
      fc.property(
        fc.array(alphabet, { maxLength: 40 }).map((a) => a.join('')),
        (text) => {
          for (const run of [
            () => parseLinkFormat(text),
            () => parseRegistrationLinks(text),
            () => parseDiscoverLinks(text),
          ]) {
            try {
              run();
            } catch (error) {
              if (!isLwm2mError(error)) throw error;
            }
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('formatLinkFormat', () => {
  it('quotes only when needed, and rt always', () => {
    expect(
      formatLinkFormat([
        link('/', { rt: 'oma.lwm2m', ct: '60 110' }),
        link('/3', { ver: '1.1' }),
        link('/3/0/1', { pmin: '10', obs: true, title: 'a "b" \\ c', gt: '1,2', e: '' }),
      ]),
    ).toBe(
      '</>;rt="oma.lwm2m";ct="60 110",</3>;ver=1.1,</3/0/1>;pmin=10;obs;title="a \\"b\\" \\\\ c";gt="1,2";e=""',
    );
  });

  it.each<[string, Link]>([
    ['a ">" in a URI', link('/a>b')],
    ['a space in a URI', link('/a b')],
    ['an invalid parameter name', link('/a', { 'a b': '1' })],
    ['an empty parameter name', link('/a', { '': '1' })],
    ['a control character in a value', link('/a', { t: 'a\nb' })],
  ])('rejects %s', (_name, bad) => {
    expect(() => formatLinkFormat([bad])).toThrow(EncodeError);
  });

  it('round-trips through parseLinkFormat', () => {
    const uri = fc
      .array(fc.constantFrom(...'abc/019:?.-_~%'.split(''), 'é'), { maxLength: 12 })
      .map((a) => a.join(''));
    const name = fc
      .array(fc.constantFrom(...'abcxyz019!#$&+-.^_`|~*'.split('')), { minLength: 1, maxLength: 6 })
      .map((a) => a.join(''));
    const value = fc.oneof(
      fc.constant<true>(true),
      fc.array(fc.constantFrom(...'ab1 ,;="\\<>/é'.split('')), { maxLength: 10 }).map((a) => a.join('')),
    );
    const arbitraryLink = fc
      .tuple(uri, fc.uniqueArray(fc.tuple(name, value), { selector: ([n]) => n, maxLength: 5 }))
      .map(([u, params]): Link => ({ uri: u, params: new Map(params) }));
    fc.assert(
      fc.property(fc.array(arbitraryLink, { maxLength: 6 }), (links) => {
        expect(parseLinkFormat(formatLinkFormat(links))).toEqual(links);
      }),
      { numRuns: 500 },
    );
  });
});

describe('parseRegistrationLinks', () => {
  it('reads the Leshan client registration payload', () => {
    const reg = parseRegistrationLinks(
      '</>;rt="oma.lwm2m";ct="60 110 112 1542 1543 11542 11543",</1>;ver=1.1,</1/0>,</2>,</3>;ver=1.1,</3/0>,</3442/0>',
    );
    expect(reg).toEqual({
      rootPath: '/',
      supportedFormats: [60, 110, 112, 1542, 1543, 11542, 11543],
      objects: new Map<number, RegisteredObject>([
        [1, { version: '1.1', instances: [0] }],
        [2, { instances: [] }],
        [3, { version: '1.1', instances: [0] }],
        [3442, { instances: [0] }],
      ]),
    });
  });

  // Leshan RegistrationTest.
  it.each<[string, string, readonly number[] | undefined]>([
    ['no root link', '</1/0>,</3/0>', undefined],
    ['ct without rt', '</>;ct="0 42 11543",</1/0>,</3/0>', [0, 42, 11543]],
    ['one quoted ct', '</>;ct="42",</1/0>,</3/0>', [42]],
    ['one unquoted ct', '</>;ct=42,</1/0>,</3/0>', [42]],
    ['rt and ct', '</>;rt="oma.lwm2m";ct="0 42 11543",</1/0>,</3/0>', [0, 42, 11543]],
  ])('reads a payload with %s', (_name, text, formats) => {
    const reg = parseRegistrationLinks(text);
    expect(reg.rootPath).toBe('/');
    expect(reg.supportedFormats).toEqual(formats);
    expect(reg.objects).toEqual(
      new Map([
        [1, { instances: [0] }],
        [3, { instances: [0] }],
      ]),
    );
  });

  it.each([
    ['quoted rt', '</root>;rt="oma.lwm2m",</root/1/0>,</3/0>'],
    ['unquoted rt', '</root>;rt=oma.lwm2m,</root/1/0>,</3/0>'],
  ])('reads an alternate root path with %s and ignores links outside it (Leshan)', (_name, text) => {
    const reg = parseRegistrationLinks(text);
    expect(reg.rootPath).toBe('/root/');
    expect(reg.objects).toEqual(new Map([[1, { instances: [0] }]]));
  });

  it('skips non-LwM2M links outside the root and resource links inside it (Leshan)', () => {
    const reg = parseRegistrationLinks(
      '</root>;rt="oma.lwm2m",</text>,</1/text/0/in/path>,</2/O/test/in/path>,</root/3>;ver=1.1,</root/3/0>,</root/4/0/0/>',
    );
    expect(reg.rootPath).toBe('/root/');
    expect(reg.objects).toEqual(new Map([[3, { version: '1.1', instances: [0] }]]));
  });

  it('reads the alternate path /lwm2m with an rt list and merges repeated links', () => {
    const reg = parseRegistrationLinks(
      '</lwm2m>;rt="oma.lwm2m core.rd";ct=110,</lwm2m/3/1>,</lwm2m/3/0/>,</lwm2m/3/1>,</lwm2m/3>',
    );
    expect(reg).toEqual({
      rootPath: '/lwm2m/',
      supportedFormats: [110],
      objects: new Map([[3, { instances: [0, 1] }]]),
    });
  });

  it('reads Anjay registration payloads', () => {
    const reg = parseRegistrationLinks(
      '</1/0>,</1/1>,</22>;ver=1.2,</22/0>,</333/0>,</333/1>,</333/2>,</333/3333>,</4444>,</55555>;ver=2.3',
    );
    expect([...reg.objects]).toEqual([
      [1, { instances: [0, 1] }],
      [22, { version: '1.2', instances: [0] }],
      [333, { instances: [0, 1, 2, 3333] }],
      [4444, { instances: [] }],
      [55555, { version: '2.3', instances: [] }],
    ]);
  });

  it.each<[string, string, RegExp]>([
    ['a text segment inside the root', '<text>,</1/text/0/in/path>', /not an LwM2M path/],
    ['an id above 65534', '</65535/0>', /not an LwM2M path/],
    ['a leading zero', '</01/0>', /not an LwM2M path/],
    ['a bad version', '</3>;ver=x', /invalid ver/],
    ['a version without minor', '</3>;ver=1', /invalid ver/],
    ['two versions for one object', '</3>;ver=1.1,</3/0>;ver=1.2', /versions 1.1 and 1.2/],
    ['a bad ct', '</>;ct=json', /invalid content format/],
    ['a ct above 65535', '</>;ct=65536', /invalid content format/],
    ['a ct flag', '</>;ct', /needs a value/],
    ['two LwM2M roots', '</a>;rt="oma.lwm2m",</b>;rt="oma.lwm2m"', /more than one/],
  ])('rejects %s', (_name, text, pattern) => {
    expectDecodeError(() => parseRegistrationLinks(text), pattern);
  });

  it('points at the link it rejects', () => {
    const error = expectDecodeError(() => parseRegistrationLinks('</1/0>, </3/x>'));
    expect(error.offset).toBe(8);
  });
});

describe('formatRegistrationLinks', () => {
  it('writes what Leshan writes', () => {
    const text = formatRegistrationLinks({
      supportedFormats: [60, 110, 112, 1542, 1543, 11542, 11543],
      objects: new Map<number, RegisteredObject>([
        [1, { version: '1.1', instances: [0] }],
        [2, { instances: [] }],
        [3, { version: '1.1', instances: [0] }],
        [3442, { version: '1.0', instances: [0] }],
      ]),
    });
    expect(text).toBe(
      '</>;rt="oma.lwm2m";ct="60 110 112 1542 1543 11542 11543",</1>;ver=1.1,</1/0>,</2>,</3>;ver=1.1,</3/0>,</3442/0>',
    );
  });

  it('writes an alternate root path', () => {
    expect(formatRegistrationLinks({ rootPath: '/lwm2m', objects: new Map([[3, { instances: [0] }]]) })).toBe(
      '</lwm2m>;rt="oma.lwm2m",</lwm2m/3/0>',
    );
  });

  it('round-trips through parseRegistrationLinks', () => {
    const object = fc.record(
      {
        version: fc
          .tuple(fc.nat({ max: 9 }), fc.nat({ max: 9 }))
          .map(([a, b]) => `${a}.${b}`)
          .filter((v) => v !== '1.0'),
        instances: fc
          .uniqueArray(fc.nat({ max: 65534 }), { maxLength: 4 })
          .map((a) => a.sort((x, y) => x - y)),
      },
      { requiredKeys: ['instances'] },
    );
    const input = fc.record(
      {
        rootPath: fc.constantFrom('/', '/lwm2m/', '/a/b/'),
        objects: fc
          .uniqueArray(fc.tuple(fc.nat({ max: 65534 }), object), { selector: ([id]) => id, maxLength: 5 })
          .map((o) => new Map(o)),
        supportedFormats: fc.array(fc.nat({ max: 65535 }), { minLength: 1, maxLength: 4 }),
      },
      { requiredKeys: ['rootPath', 'objects'] },
    );
    fc.assert(
      fc.property(input, (reg) => {
        expect(parseRegistrationLinks(formatRegistrationLinks(reg))).toEqual(reg);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects what it cannot write', () => {
    expect(() => formatRegistrationLinks({ objects: new Map([[70000, { instances: [] }]]) })).toThrow(
      EncodeError,
    );
    expect(() =>
      formatRegistrationLinks({ objects: new Map([[3, { version: 'x', instances: [] }]]) }),
    ).toThrow(EncodeError);
    expect(() => formatRegistrationLinks({ objects: new Map(), supportedFormats: [1.5] })).toThrow(
      EncodeError,
    );
  });
});

describe('Discover links', () => {
  const entry = (
    path: Lwm2mPath,
    attributes: NotificationAttributes = {},
    extra: Partial<DiscoverLink> = {},
  ): DiscoverLink => ({
    path,
    attributes,
    ...extra,
  });

  // TS Core 1.2 §5.4.2 Discover examples, as Anjay Lite's tests/anj/io/discover_payload.c writes them.
  const firstExample =
    '</3>;pmin=10,</3/0>;pmax=60,</3/0/1>,</3/0/2>,</3/0/3>,</3/0/4>,</3/0/6>;dim=2,' +
    '</3/0/7>;dim=2;gt=50;lt=42.2,</3/0/8>;dim=2,</3/0/11>,</3/0/16>';
  const firstEntries: DiscoverLink[] = [
    entry([3], { pmin: 10 }),
    entry([3, 0], { pmax: 60 }),
    entry([3, 0, 1]),
    entry([3, 0, 2]),
    entry([3, 0, 3]),
    entry([3, 0, 4]),
    entry([3, 0, 6], {}, { dim: 2 }),
    entry([3, 0, 7], { gt: 50, lt: 42.2 }, { dim: 2 }),
    entry([3, 0, 8], {}, { dim: 2 }),
    entry([3, 0, 11]),
    entry([3, 0, 16]),
  ];

  it('reads and writes the first TS Core Discover example', () => {
    expect(parseDiscoverLinks(firstExample)).toEqual(firstEntries);
    expect(formatDiscoverLinks(firstEntries)).toBe(firstExample);
  });

  it('reads and writes resource instances with their own attributes and exponents', () => {
    const text = '</3/0/7>;dim=2;pmin=10;pmax=60;gt=50;lt=4.2e+21,</3/0/7/0>,</3/0/7/1>;lt=45';
    const entries = [
      entry([3, 0, 7], { pmin: 10, pmax: 60, gt: 50, lt: 4.2e21 }, { dim: 2 }),
      entry([3, 0, 7, 0]),
      entry([3, 0, 7, 1], { lt: 45 }),
    ];
    expect(parseDiscoverLinks(text)).toEqual(entries);
    expect(formatDiscoverLinks(entries)).toBe(text);
  });

  it('reads object versions', () => {
    expect(parseDiscoverLinks('</3>;ver=1.1,</3/0>;pmin=10,</3/0/1>,</3/0/2>,</3/0/6>;dim=2')).toEqual([
      entry([3], {}, { version: '1.1' }),
      entry([3, 0], { pmin: 10 }),
      entry([3, 0, 1]),
      entry([3, 0, 2]),
      entry([3, 0, 6], {}, { dim: 2 }),
    ]);
  });

  it('reads every attribute with its type, and ignores unknown ones', () => {
    expect(
      parseDiscoverLinks(
        '</3/0/9>;pmin=1;pmax=2;gt=-1.5;lt=.5;st=1e2;epmin=3;epmax=4;edge=1;con=0;hqmax=5;foo="bar";obs',
      ),
    ).toEqual([
      entry([3, 0, 9], {
        pmin: 1,
        pmax: 2,
        gt: -1.5,
        lt: 0.5,
        st: 100,
        epmin: 3,
        epmax: 4,
        edge: 1,
        con: 0,
        hqmax: 5,
      }),
    ]);
  });

  it('reads a Bootstrap-Discover answer', () => {
    expect(
      parseDiscoverLinks('</>;lwm2m=1.1,</0/0>;ssid=101;uri="coaps://s1", </0/1/>, </1/0>;ssid=101,</3/0>'),
    ).toEqual([
      entry([], {}, { lwm2m: '1.1' }),
      entry([0, 0], {}, { ssid: 101, uri: 'coaps://s1' }),
      entry([0, 1]),
      entry([1, 0], {}, { ssid: 101 }),
      entry([3, 0]),
    ]);
  });

  it('writes a Bootstrap-Discover answer with the Server URI quoted, as TS Core, Leshan and Anjay do', () => {
    const entries = [
      entry([], {}, { lwm2m: '1.1' }),
      entry([0, 0], {}, { ssid: 101, uri: 'coaps://server_1.example.com' }),
      entry([0, 1]),
      entry([0, 2], {}, { ssid: 102, uri: 'coaps://server_2.example.com' }),
    ];
    // The TS Core Bootstrap-Discover example, without its spaces after commas.
    const text =
      '</>;lwm2m=1.1,</0/0>;ssid=101;uri="coaps://server_1.example.com",</0/1>,' +
      '</0/2>;ssid=102;uri="coaps://server_2.example.com"';
    expect(formatDiscoverLinks(entries)).toBe(text);
    expect(parseDiscoverLinks(text)).toEqual(entries);
    // Some clients leave the URI unquoted; it is a valid token, so it reads the same.
    expect(parseDiscoverLinks(text.replace(/"/g, ''))).toEqual(entries);
  });

  it('strips and adds an alternate root path', () => {
    expect(parseDiscoverLinks('</rp/6>;ver=2.0,</rp/6/0>,</other/1>', { rootPath: '/rp' })).toEqual([
      entry([6], {}, { version: '2.0' }),
      entry([6, 0]),
    ]);
    expect(
      formatDiscoverLinks([entry([6], {}, { version: '2.0' }), entry([6, 0])], { rootPath: '/rp/' }),
    ).toBe('</rp/6>;ver=2.0,</rp/6/0>');
  });

  it.each<[string, string, RegExp]>([
    ['a non-LwM2M path', '</foo>', /not an LwM2M path/],
    ['a pmin flag', '</3/0/7>;pmin', /needs a value/],
    ['a negative pmin', '</3/0/7>;pmin=-1', /invalid pmin/],
    ['a fractional pmax', '</3/0/7>;pmax=1.5', /invalid pmax/],
    ['a non-numeric gt', '</3/0/7>;gt=abc', /invalid gt/],
    ['an edge of 2', '</3/0/1>;edge=2', /invalid edge/],
    ['dim on an instance', '</3/0>;dim=2', /not a resource/],
    ['a short version', '</3>;ver=1', /invalid ver/],
    ['an ssid above 65535', '</0/0>;ssid=65536', /invalid ssid/],
  ])('rejects %s', (_name, text, pattern) => {
    expectDecodeError(() => parseDiscoverLinks(text), pattern);
  });

  it('refuses to write what it cannot read back', () => {
    expect(() => formatDiscoverLinks([entry([3, 0], {}, { dim: 1 })])).toThrow(EncodeError);
    expect(() => formatDiscoverLinks([entry([3, 0, 1], { pmin: 1.5 })])).toThrow(EncodeError);
    expect(() => formatDiscoverLinks([entry([3, 0, 1], { gt: Number.NaN })])).toThrow(EncodeError);
    expect(() => formatDiscoverLinks([entry([3, 0, 1], { edge: 2 as 0 })])).toThrow(EncodeError);
  });

  it('round-trips arbitrary entries', () => {
    const id = fc.nat({ max: 65534 });
    const path = fc.oneof(
      fc.tuple(id).map((p): Lwm2mPath => p),
      fc.tuple(id, id).map((p): Lwm2mPath => p),
      fc.tuple(id, id, id).map((p): Lwm2mPath => p),
      fc.tuple(id, id, id, id).map((p): Lwm2mPath => p),
    );
    const seconds = fc.nat({ max: 2 ** 31 });
    const number = fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? 0 : n));
    const attributes = fc.record(
      {
        pmin: seconds,
        pmax: seconds,
        gt: number,
        lt: number,
        st: number,
        epmin: seconds,
        epmax: seconds,
        edge: fc.constantFrom<0 | 1>(0, 1),
        con: fc.constantFrom<0 | 1>(0, 1),
        hqmax: seconds,
      },
      { requiredKeys: [] },
    );
    const arbitraryEntry = fc
      .tuple(
        path,
        attributes,
        fc.option(fc.nat({ max: 255 }), { nil: undefined }),
        fc.option(fc.constantFrom('1.0', '1.1', '2.3'), { nil: undefined }),
      )
      .map(([p, a, dim, version]): DiscoverLink => ({
        path: p,
        attributes: a,
        ...(dim !== undefined && p.length === 3 ? { dim } : {}),
        ...(version !== undefined && p.length === 1 ? { version } : {}),
      }));
    fc.assert(
      fc.property(
        fc.array(arbitraryEntry, { maxLength: 6 }),
        fc.constantFrom('/', '/lwm2m/'),
        (entries, rootPath) => {
          expect(parseDiscoverLinks(formatDiscoverLinks(entries, { rootPath }), { rootPath })).toEqual(
            entries,
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
