import {
  CoapCode,
  code,
  formatCode,
  isRequestCode,
  isResponseCode,
  isSuccessCode,
  methodCode,
  methodName,
  parseCode,
  parseMethod,
} from './codes.js';

describe('codes', () => {
  it('formats and parses every code c.dd', () => {
    for (let value = 0; value < 256; value++) {
      const text = formatCode(value);
      expect(text).toMatch(/^[0-7]\.\d\d$/);
      expect(parseCode(text)).toBe(value);
    }
  });

  it('matches the RFC 7252 §12.1 registry for named codes', () => {
    const expected: Record<string, string> = {
      GET: '0.01',
      POST: '0.02',
      PUT: '0.03',
      DELETE: '0.04',
      FETCH: '0.05',
      PATCH: '0.06',
      IPATCH: '0.07',
      CREATED: '2.01',
      DELETED: '2.02',
      VALID: '2.03',
      CHANGED: '2.04',
      CONTENT: '2.05',
      CONTINUE: '2.31',
      BAD_REQUEST: '4.00',
      UNAUTHORIZED: '4.01',
      BAD_OPTION: '4.02',
      FORBIDDEN: '4.03',
      NOT_FOUND: '4.04',
      METHOD_NOT_ALLOWED: '4.05',
      NOT_ACCEPTABLE: '4.06',
      REQUEST_ENTITY_INCOMPLETE: '4.08',
      CONFLICT: '4.09',
      PRECONDITION_FAILED: '4.12',
      REQUEST_ENTITY_TOO_LARGE: '4.13',
      UNSUPPORTED_CONTENT_FORMAT: '4.15',
      UNPROCESSABLE_ENTITY: '4.22',
      INTERNAL_SERVER_ERROR: '5.00',
      NOT_IMPLEMENTED: '5.01',
      BAD_GATEWAY: '5.02',
      SERVICE_UNAVAILABLE: '5.03',
      GATEWAY_TIMEOUT: '5.04',
      PROXYING_NOT_SUPPORTED: '5.05',
      EMPTY: '0.00',
    };
    for (const [name, value] of Object.entries(CoapCode))
      expect([name, formatCode(value)]).toEqual([name, expected[name]]);
  });

  it('rejects malformed code text', () => {
    expect(parseCode('2.5')).toBeUndefined();
    expect(parseCode('8.00')).toBeUndefined();
    expect(parseCode('2.32')).toBeUndefined();
  });

  it('classifies codes', () => {
    expect(isRequestCode(CoapCode.GET)).toBe(true);
    expect(isRequestCode(0)).toBe(false);
    expect(isResponseCode(code(4, 4))).toBe(true);
    expect(isResponseCode(code(1, 0))).toBe(false);
    expect(isResponseCode(code(6, 0))).toBe(false);
    expect(isSuccessCode(CoapCode.CONTENT)).toBe(true);
    expect(isSuccessCode(CoapCode.NOT_FOUND)).toBe(false);
  });

  it('maps methods both ways', () => {
    for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'FETCH', 'PATCH', 'iPATCH'] as const) {
      expect(methodName(methodCode(method))).toBe(method);
      expect(parseMethod(method)).toBe(methodCode(method));
    }
    expect(parseMethod('get')).toBeUndefined();
    expect(parseMethod('toString')).toBeUndefined();
    expect(methodName(8)).toBeUndefined();
  });
});
