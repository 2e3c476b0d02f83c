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

describe('path helpers', () => {
  it('orders depth-first', () => {
    const sorted = ['/4', '/3/1', '/3/0/1', '/3', '/3/0', '/3/0/6/0'].map(parsePath).sort(comparePaths).map(formatPath);
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
