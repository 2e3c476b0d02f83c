import { isLwm2mError } from '@lwm2m/core';
import {
  applyAttributeChanges,
  attributeRuleViolation,
  formatAttributeQuery,
  parseAttributeQuery,
} from './attribute-query.js';

describe('parseAttributeQuery', () => {
  it('reads values and removals', () => {
    expect(
      parseAttributeQuery([
        'pmin=10',
        'pmax=60',
        'gt=20.5',
        'lt=-3',
        'st=0.5',
        'edge=1',
        'con=0',
        'hqmax=4',
        'epmin',
      ]),
    ).toEqual({
      set: { pmin: 10, pmax: 60, gt: 20.5, lt: -3, st: 0.5, edge: 1, con: 0, hqmax: 4 },
      unset: ['epmin'],
    });
  });

  it.each([
    [['dim=2']],
    [['ver=1.1']],
    [['pmin=-1']],
    [['pmin=1.5']],
    [['pmax=']],
    [['gt=abc']],
    [['gt=1e3']],
    [['st=-1']],
    [['edge=2']],
    [['pmin=1', 'pmin=2']],
    [['cancel']],
  ])('rejects %j with a typed error', (query) => {
    let thrown: unknown;
    try {
      parseAttributeQuery(query);
    } catch (error) {
      thrown = error;
    }
    expect(isLwm2mError(thrown)).toBe(true);
  });
});

describe('formatAttributeQuery', () => {
  it('writes in the usual order and round-trips', () => {
    const query = formatAttributeQuery({ set: { st: 1, pmax: 60, pmin: 5, gt: 0.000001 }, unset: ['lt'] });
    expect(query).toEqual(['pmin=5', 'pmax=60', 'gt=0.000001', 'lt', 'st=1']);
    expect(parseAttributeQuery(query)).toEqual({
      set: { pmin: 5, pmax: 60, gt: 0.000001, st: 1 },
      unset: ['lt'],
    });
  });

  it('never writes exponent notation', () => {
    expect(formatAttributeQuery({ set: { gt: 1e-7, lt: -1e21 } })).toEqual([
      'gt=0.0000001',
      'lt=-1000000000000000000000',
    ]);
  });

  it('refuses bad values and contradictions', () => {
    expect(() => formatAttributeQuery({ set: { pmin: -1 } })).toThrow(/pmin/);
    expect(() => formatAttributeQuery({ set: { pmin: 1 }, unset: ['pmin'] })).toThrow(/both/);
    expect(() => formatAttributeQuery({ set: { gt: Number.NaN } })).toThrow(/gt/);
  });
});

describe('attribute rules', () => {
  it('applies changes over current attributes', () => {
    const next = applyAttributeChanges({ pmin: 1, gt: 10 }, { set: { pmax: 5 }, unset: ['pmin'] });
    expect(next).toEqual({ gt: 10, pmax: 5 });
  });

  it('checks lt < gt and lt + 2st < gt', () => {
    expect(attributeRuleViolation({ gt: 10, lt: 5, st: 2 })).toBeUndefined();
    expect(attributeRuleViolation({ gt: 10, lt: 10 })).toMatch(/lt/);
    expect(attributeRuleViolation({ gt: 10, lt: 5, st: 2.5 })).toMatch(/2\*st/);
    expect(attributeRuleViolation({ epmin: 10, epmax: 5 })).toMatch(/epmax/);
  });
});
