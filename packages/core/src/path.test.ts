import fc from 'fast-check';
import { InvalidPathError, isLwm2mError } from './errors.js';
import { comparePaths, formatPath, isPathPrefix, parentPath, parsePath, pathLevel, toPath } from './path.js';

describe('parsePath', () => {
  it.each([
    ['/', []],
    ['/3', [3]],
    ['/3/', [3]],
    ['/3/0', [3, 0]],
    ['/3/0/1', [3, 0, 1]],
    ['/3/0/6/1', [3, 0, 6, 1]],
    ['/65534/65534', [65534, 65534]],
  ])('parses %s', (text, ids) => {
    expect(parsePath(text)).toEqual(ids);
    expect(formatPath(parsePath(text))).toBe(text.length > 1 ? text.replace(/\/$/, '') : '/');
  });

  it.each(['', '3/0', '//3', '/3//0', '/a', '/-1', '/01', '/3/0/1/2/3', '/65535', '/1e3', '/3 ', '/+3'])(
    'rejects %j with a typed error',
    (text) => {
      let error: unknown;
      try {
        parsePath(text);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidPathError);
      expect(isLwm2mError(error)).toBe(true);
    },
  );
});

describe('parsePath against the split-and-regex definition', () => {
  /** The definition parsePath's hand-written scanner must match: same results, same error messages. */
  function reference(text: string): number[] {
    if (text.length === 0 || !text.startsWith('/'))
      throw new InvalidPathError(`path must start with "/": ${JSON.stringify(text)}`);
    const body = text.length > 1 && text.endsWith('/') ? text.slice(1, -1) : text.slice(1);
    if (body === '') return [];
    const parts = body.split('/');
    if (parts.length > 4) throw new InvalidPathError(`path has more than 4 levels: ${JSON.stringify(text)}`);
    return parts.map((part) => {
      if (!/^(0|[1-9][0-9]{0,4})$/.test(part)) {
        throw new InvalidPathError(`invalid id ${JSON.stringify(part)} in path ${JSON.stringify(text)}`);
      }
      const id = Number(part);
      if (id > 65534) throw new InvalidPathError(`id ${id} out of range in path ${JSON.stringify(text)}`);
      return id;
    });
  }
  const outcome = (parse: (text: string) => readonly number[], text: string): unknown => {
    try {
      return parse(text);
    } catch (error) {
      return error instanceof InvalidPathError ? `error: ${error.message}` : error;
    }
  };

  it.each([
    '/1/70000/1/1/1',
    '/3//',
    '//',
    '/3/0/',
    '/65535/',
    '/99999',
    '/123456',
    '/00',
    '/0/0/0/0/',
    '/1/2/3/4/x',
  ])('agrees on %j', (text) => {
    expect(outcome(parsePath, text)).toEqual(outcome(reference, text));
  });

  it('agrees on random paths', () => {
    const segment = fc.oneof(fc.nat({ max: 70000 }).map(String), fc.stringMatching(/^[0-9a/+-]{0,6}$/));
    const text = fc.oneof(
      fc.array(segment, { maxLength: 6 }).map((parts) => '/' + parts.join('/')),
      fc.array(segment, { maxLength: 6 }).map((parts) => '/' + parts.join('/') + '/'),
      fc.string({ maxLength: 12 }),
    );
    fc.assert(
      fc.property(text, (t) => {
        expect(outcome(parsePath, t)).toEqual(outcome(reference, t));
      }),
      { numRuns: 5000 },
    );
  });
});

describe('path helpers', () => {
  it('orders depth-first', () => {
    const sorted = ['/4', '/3/1', '/3/0/1', '/3', '/3/0', '/3/0/6/0']
      .map(parsePath)
      .sort(comparePaths)
      .map(formatPath);
    expect(sorted).toEqual(['/3', '/3/0', '/3/0/1', '/3/0/6/0', '/3/1', '/4']);
  });
  it('knows prefixes, levels and parents', () => {
    expect(isPathPrefix([3], [3, 0, 1])).toBe(true);
    expect(isPathPrefix([3, 1], [3, 0, 1])).toBe(false);
    expect(isPathPrefix([], [5])).toBe(true);
    expect(pathLevel([3, 0, 1])).toBe('resource');
    expect(parentPath([3, 0, 1])).toEqual([3, 0]);
    expect(parentPath([])).toBeUndefined();
    expect(() => toPath([1, 2, 3, 4, 5])).toThrow(InvalidPathError);
    expect(() => toPath([1.5])).toThrow(InvalidPathError);
  });
});
