/**
 * Config keys are endpoint names or glob patterns over them: `*` matches any run of characters,
 * `?` one character. `*` alone is the default.
 */
export function isEndpointPattern(key: string): boolean {
  return key.includes('*') || key.includes('?');
}

/** Whether `endpoint` matches the glob `pattern` (the whole name, case-sensitive). */
export function matchesEndpoint(pattern: string, endpoint: string): boolean {
  // Iterative wildcard matching with one backtrack point: linear in practice, no regex built from input.
  let p = 0;
  let e = 0;
  let star = -1;
  let resume = 0;
  while (e < endpoint.length) {
    const c = pattern[p];
    if (c === '?' || (c !== undefined && c !== '*' && c === endpoint[e])) {
      p++;
      e++;
    } else if (c === '*') {
      star = p++;
      resume = e;
    } else if (star >= 0) {
      p = star + 1;
      e = ++resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

function literalLength(pattern: string): number {
  let n = 0;
  for (const c of pattern) if (c !== '*' && c !== '?') n++;
  return n;
}

/** Orders patterns most specific first: more literal characters, then fewer `*`, then by name. */
export function comparePatterns(a: string, b: string): number {
  const literal = literalLength(b) - literalLength(a);
  if (literal !== 0) return literal;
  const stars = a.split('*').length - b.split('*').length;
  if (stars !== 0) return stars;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The most specific of `patterns` that matches `endpoint`. */
export function bestPattern(patterns: Iterable<string>, endpoint: string): string | undefined {
  let best: string | undefined;
  for (const pattern of patterns) {
    if (!matchesEndpoint(pattern, endpoint)) continue;
    if (best === undefined || comparePatterns(pattern, best) < 0) best = pattern;
  }
  return best;
}

/** Throws a TypeError for a key that cannot name endpoints. */
export function checkConfigKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > 1024 || /[\u0000-\u001f]/.test(key)) {
    throw new TypeError(`invalid bootstrap config key ${JSON.stringify(key)}`);
  }
}
