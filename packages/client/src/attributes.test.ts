import { AttributeStore } from './attributes.js';

describe('AttributeStore', () => {
  it('answers with the defaults before any write, and inherits written levels after', () => {
    const store = new AttributeStore();
    expect(store.own([3303, 0, 5700])).toBeUndefined();
    expect(store.effective([3303, 0, 5700], { pmin: 5 })).toEqual({ pmin: 5 });
    expect(store.inherited([3303, 0, 5700])).toEqual({});
    store.removeBelow([3303]);
    store.write([3303, 0], { set: { pmax: 60 }, unset: [] }, '1.1', undefined);
    store.write([3303, 0, 5700], { set: { gt: 30 }, unset: [] }, '1.1', 'float');
    expect(store.effective([3303, 0, 5700], { pmin: 5, pmax: 10 })).toEqual({ pmin: 5, pmax: 60, gt: 30 });
    store.write([3303, 0], { set: {}, unset: ['pmax'] }, '1.1', undefined);
    expect(store.own([3303, 0])).toBeUndefined();
    store.removeBelow([3303, 0]);
    expect(store.own([3303, 0, 5700])).toBeUndefined();
    expect(store.effective([3303, 0, 5700], { pmin: 5 })).toEqual({ pmin: 5 });
  });
});
