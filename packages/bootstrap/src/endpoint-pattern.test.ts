import { bestPattern, comparePatterns, matchesEndpoint } from './endpoint-pattern.js';

describe('endpoint patterns', () => {
  it.each([
    ['*', 'anything', true],
    ['*', '', true],
    ['dev-*', 'dev-1', true],
    ['dev-*', 'dev-', true],
    ['dev-*', 'xdev-1', false],
    ['dev-?', 'dev-12', false],
    ['dev-??', 'dev-12', true],
    ['*-sensor-*', 'a-sensor-b', true],
    ['*-sensor-*', 'a-sensorb', false],
    ['a*b*c', 'aXbYbZc', true],
    ['a*b*c', 'aXbYbZ', false],
    ['exact', 'exact', true],
    ['exact', 'Exact', false],
  ])('%s matches %s: %s', (pattern, endpoint, expected) => {
    expect(matchesEndpoint(pattern, endpoint)).toBe(expected);
  });

  it('stays fast on patterns made to backtrack', () => {
    const started = Date.now();
    expect(matchesEndpoint('*a*a*a*a*a*a*a*a*b', 'a'.repeat(5000))).toBe(false);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('prefers the pattern with more literal characters, then fewer stars, then by name', () => {
    expect(bestPattern(['*', 'dev-*', 'dev-1*'], 'dev-12')).toBe('dev-1*');
    expect(bestPattern(['*', 'dev-*'], 'sensor')).toBe('*');
    expect(bestPattern(['dev-*'], 'sensor')).toBeUndefined();
    expect(['*a*', 'a*', 'b*'].sort(comparePatterns)).toEqual(['a*', 'b*', '*a*']);
  });
});
