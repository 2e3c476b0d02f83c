import { CoapCode } from './codes.js';
import { createRouter } from './router.js';
import type { IncomingRequest, OutgoingResponse } from './types.js';

function request(method: IncomingRequest['method'], path: string[]): IncomingRequest {
  return { method, path } as Partial<IncomingRequest> as IncomingRequest;
}

describe('createRouter', () => {
  const router = createRouter()
    .route('/rd', () => ({ code: CoapCode.CREATED }), ['POST'])
    .route('/rd/', () => ({ code: CoapCode.DELETED }), ['DELETE'])
    .route(['bs'], () => ({ code: CoapCode.CHANGED }))
    .route('/rd/special', () => ({ code: CoapCode.CONTENT }));

  const code = (method: IncomingRequest['method'], path: string[]): number =>
    (router.handle(request(method, path)) as OutgoingResponse).code;

  it('routes by the longest matching prefix and by method', () => {
    expect(code('POST', ['rd'])).toBe(CoapCode.CREATED);
    expect(code('DELETE', ['rd', 'x1'])).toBe(CoapCode.DELETED);
    expect(code('GET', ['rd', 'special', 'x'])).toBe(CoapCode.CONTENT);
    expect(code('POST', ['bs'])).toBe(CoapCode.CHANGED);
  });

  it('answers 4.05 for a known path with another method and 4.04 for an unknown path', () => {
    expect(code('GET', ['rd'])).toBe(CoapCode.METHOD_NOT_ALLOWED);
    expect(code('GET', ['nothing'])).toBe(CoapCode.NOT_FOUND);
    expect(code('GET', [])).toBe(CoapCode.NOT_FOUND);
  });
});
