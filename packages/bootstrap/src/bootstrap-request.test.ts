import { parseBootstrapQuery } from './bootstrap-request.js';

describe('parseBootstrapQuery', () => {
  it('reads ep and pct, mapping legacy format numbers and ignoring other parameters', () => {
    expect(parseBootstrapQuery(['ep=dev-1'])).toEqual({
      endpoint: 'dev-1',
      preferredContentFormat: undefined,
    });
    expect(parseBootstrapQuery(['ep=dev=1', 'pct=112', 'x=y'])).toEqual({
      endpoint: 'dev=1',
      preferredContentFormat: 112,
    });
    expect(parseBootstrapQuery(['pct=1542', 'ep=a'])).toEqual({
      endpoint: 'a',
      preferredContentFormat: 11542,
    });
  });

  it.each([
    [[], 'ep is missing'],
    [['ep'], 'ep is empty'],
    [['ep='], 'ep is empty'],
    [['ep=a', 'ep=a'], 'ep given twice'],
    [['ep=a\u0001'], 'ep holds control characters'],
    [['ep=' + 'x'.repeat(1025)], 'ep longer than 1024 characters'],
    [['ep=a', 'pct=012'], 'pct is not a content format number'],
    [['ep=a', 'pct=99999'], 'pct is not a content format number'],
    [['ep=a', 'pct=40'], 'pct 40 cannot carry object instances'],
    [['ep=a', 'pct=112', 'pct=112'], 'pct given twice'],
  ])('refuses %j', (query, message) => {
    expect(parseBootstrapQuery(query)).toBe(message);
  });
});
