import { parsePath } from '@lwm2m/core';
import { senmlJsonFormat, parseJson } from './senml-json.js';
import { recordsToEntries, buildNode, setRecordField } from './senml-records.js';
import type { SenmlRecord } from './senml-records.js';
import { createTestContext } from './test-fixtures.js';
const ctx = createTestContext();
const json = new TextEncoder().encode('[{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},{"n":"1","vs":"Lightweight M2M Client"},{"n":"2","vs":"345000123"},{"n":"3","vs":"1.0"},{"n":"6/0","v":1},{"n":"6/1","v":5},{"n":"7/0","v":3800},{"n":"7/1","v":5000},{"n":"8/0","v":125},{"n":"8/1","v":900},{"n":"9","v":100},{"n":"10","v":15},{"n":"11/0","v":0},{"n":"13","v":1367491215},{"n":"14","vs":"+02:00"},{"n":"16","vs":"U"}]');
test('bench', () => {
  const path = parsePath('/3/0');
  const parsed = parseJson(json, ctx.limits, 110) as Map<string, unknown>[];
  const records: SenmlRecord[] = parsed.map((m) => { const r: SenmlRecord = {}; for (const [k, v] of m) setRecordField(r, k, v, 110); return r; });
  const entries = recordsToEntries(records, ctx.registry, { format: 110, now: 0 });
  for (const [name, f] of [
    ['parseJson', () => parseJson(json, ctx.limits, 110)],
    ['records', () => parsed.map((m) => { const r: SenmlRecord = {}; for (const [k, v] of m) setRecordField(r, k, v, 110); return r; })],
    ['entries', () => recordsToEntries(records, ctx.registry, { format: 110, now: 0 })],
    ['buildNode', () => buildNode(entries, path, ctx.registry, 110)],
  ] as const) {
    for (let i = 0; i < 2000; i++) f();
    const t = process.hrtime.bigint();
    for (let i = 0; i < 20000; i++) f();
    console.log(name, Number(process.hrtime.bigint() - t) / 20000 / 1000, 'µs/op');
  }
});
