import { EventEmitter } from 'node:events';
import { ContentFormat, createCoreObjectRegistry, createSilentLogger } from '@lwm2m/core';
import type { Lwm2mPath } from '@lwm2m/core';
import type { NotificationAttributes } from '@lwm2m/codecs';
import { createCodec, parseAttributeQuery } from '@lwm2m/codecs';
import type { ServerObservation } from '@lwm2m/transport-coap';
import { FakeClock, settle } from './fake-clock.js';
import { AttributeStore } from '../src/attributes.js';
import type { Lwm2mVersion } from '../src/formats.js';
import type { InstanceHandler } from '../src/instance.js';
import { LOCAL_CONTEXT, ObjectTree } from '../src/object-tree.js';
import { ObservedTarget, Reporter } from '../src/reporter.js';
import type { ReportingHost } from '../src/reporter.js';
import { StoredInstance } from '../src/stored-instance.js';

const registry = createCoreObjectRegistry();
const codec = createCodec({ registry });

class FakeObservation extends EventEmitter<{ cancel: [string] }> {
  readonly key: string;
  active = true;
  constructor(key: string) {
    super();
    this.key = key;
  }
  cancel(): void {
    if (!this.active) return;
    this.active = false;
    this.emit('cancel', 'cancelled');
  }
}

interface Sent {
  readonly at: number;
  readonly text: string;
  readonly confirmable: boolean | undefined;
}

function setup(version: Lwm2mVersion = '1.2', defaults: NotificationAttributes = {}) {
  const clock = new FakeClock(0);
  const tree = new ObjectTree(registry);
  const sensor = new StoredInstance([
    [5700, 20],
    [5701, 'Cel'],
  ]);
  tree.addObject({ id: 3303, instances: new Map<number, InstanceHandler>([[0, sensor]]) });
  const attributes = new AttributeStore();
  const sent: Sent[] = [];
  const host: ReportingHost = {
    clock,
    tree,
    codec,
    logger: createSilentLogger(),
    attributes,
    serverDefaults: () => defaults,
    deliver(target, payload, confirmable) {
      const text = target.composite
        ? JSON.stringify(codec.decodeComposite(target.format, payload).size)
        : Buffer.from(payload).toString();
      sent.push({ at: clock.now(), text, confirmable });
    },
  };
  const reporter = new Reporter(host);
  tree.setListener({
    resourceChanged: (o, i, r) => reporter.resourceChanged([o, i, r]),
    instancesChanged: () => undefined,
  });
  let keys = 0;
  async function observe(path: Lwm2mPath, format: number = ContentFormat.TEXT): Promise<FakeObservation> {
    const observation = new FakeObservation(`k${keys++}`);
    const node = await tree.read(path, LOCAL_CONTEXT);
    const target = new ObservedTarget(
      observation as unknown as ServerObservation,
      [path],
      false,
      format,
      clock.now(),
    );
    reporter.add(target, [node], codec.encode(format, node, path));
    return observation;
  }
  function write(path: Lwm2mPath, query: string[]): void {
    attributes.write(
      path,
      parseAttributeQuery(query),
      version,
      path.length >= 3 ? registry.getResource(path[0] as number, path[2] as number)?.type : undefined,
    );
    reporter.reschedule();
  }
  async function at(ms: number, action?: () => void): Promise<void> {
    await clock.advance(ms - clock.now());
    action?.();
    await settle(2);
  }
  return { clock, tree, sensor, attributes, reporter, sent, observe, write, at };
}

describe('Reporter: notification attributes with a fake clock', () => {
  it('notifies every change when no attribute is set', async () => {
    const s = setup();
    await s.observe([3303, 0, 5700]);
    await s.at(1000, () => s.sensor.set(5700, 21));
    await s.at(1500, () => s.sensor.set(5700, 22));
    expect(s.sent.map((x) => [x.at, x.text])).toEqual([
      [1000, '21'],
      [1500, '22'],
    ]);
  });

  it('holds changes back until pmin, then sends the latest value once', async () => {
    const s = setup();
    s.write([3303, 0, 5700], ['pmin=5']);
    await s.observe([3303, 0, 5700]);
    await s.at(1000, () => s.sensor.set(5700, 21));
    await s.at(2000, () => s.sensor.set(5700, 22));
    expect(s.sent).toEqual([]);
    await s.at(4999);
    expect(s.sent).toEqual([]);
    await s.at(5000);
    expect(s.sent.map((x) => [x.at, x.text])).toEqual([[5000, '22']]);
    await s.at(6000, () => s.sensor.set(5700, 23));
    await s.at(9999);
    expect(s.sent).toHaveLength(1);
    await s.at(10_000);
    expect(s.sent.map((x) => [x.at, x.text])).toEqual([
      [5000, '22'],
      [10_000, '23'],
    ]);
  });

  it('sends at pmax without any change, and the server default pmax applies when nothing else is set', async () => {
    const s = setup('1.1', { pmax: 30 });
    await s.observe([3303, 0, 5700]);
    await s.at(29_999);
    expect(s.sent).toEqual([]);
    await s.at(30_000);
    await s.at(60_000);
    expect(s.sent.map((x) => [x.at, x.text])).toEqual([
      [30_000, '20'],
      [60_000, '20'],
    ]);
  });

  it('inherits attributes resource < instance < object < server defaults', async () => {
    const s = setup('1.1', { pmax: 100 });
    s.write([3303], ['pmax=50']);
    s.write([3303, 0], ['pmax=20']);
    await s.observe([3303, 0, 5700]);
    await s.at(20_000);
    expect(s.sent.map((x) => x.at)).toEqual([20_000]);
    s.write([3303, 0, 5700], ['pmax=5']);
    await s.at(25_000);
    expect(s.sent.map((x) => x.at)).toEqual([20_000, 25_000]);
    s.write([3303, 0, 5700], ['pmax']); // removed: the instance's 20 s applies again
    await s.at(44_999);
    expect(s.sent).toHaveLength(2);
    await s.at(45_000);
    expect(s.sent.map((x) => x.at)).toEqual([20_000, 25_000, 45_000]);
  });

  it('ignores pmax when it is not above pmin', async () => {
    const s = setup();
    s.write([3303, 0, 5700], ['pmin=10', 'pmax=5']);
    await s.observe([3303, 0, 5700]);
    await s.at(60_000);
    expect(s.sent).toEqual([]);
  });

  it('notifies when the value crosses gt or lt, in either direction, and not otherwise', async () => {
    const s = setup();
    s.write([3303, 0, 5700], ['gt=30', 'lt=10']);
    await s.observe([3303, 0, 5700]);
    const values = [25, 31, 35, 29, 15, 9, 5, 11];
    for (const [i, v] of values.entries()) await s.at((i + 1) * 1000, () => s.sensor.set(5700, v));
    expect(s.sent.map((x) => x.text)).toEqual(['31', '29', '9', '11']);
  });

  it('notifies when the value moved by st since the last notification', async () => {
    const s = setup();
    s.write([3303, 0, 5700], ['st=2']);
    await s.observe([3303, 0, 5700]);
    const values = [21, 21.9, 22, 23, 24.5, 23.9];
    for (const [i, v] of values.entries()) await s.at((i + 1) * 1000, () => s.sensor.set(5700, v));
    expect(s.sent.map((x) => x.text)).toEqual(['22', '24.5']);
  });

  it('combines pmin with a threshold: a crossing inside pmin goes out when pmin ends', async () => {
    const s = setup();
    s.write([3303, 0, 5700], ['pmin=10', 'gt=30']);
    await s.observe([3303, 0, 5700]);
    await s.at(2000, () => s.sensor.set(5700, 35));
    await s.at(3000, () => s.sensor.set(5700, 36));
    expect(s.sent).toEqual([]);
    await s.at(10_000);
    expect(s.sent.map((x) => [x.at, x.text])).toEqual([[10_000, '36']]);
  });

  it('looks at changes at most every epmin and samples at least every epmax', async () => {
    const s = setup();
    let value = 1;
    // A handler that never reports changes: only epmax sampling can see them.
    const polled: InstanceHandler = {
      resourceIds: () => [5700],
      read: (id) => (id === 5700 ? value : undefined),
    };
    s.tree.addInstance(3303, 1, polled);
    s.write([3303, 1, 5700], ['epmax=10']);
    await s.observe([3303, 1, 5700]);
    value = 2;
    await s.at(9_999);
    expect(s.sent).toEqual([]);
    await s.at(10_000);
    expect(s.sent.map((x) => [x.at, x.text])).toEqual([[10_000, '2']]);
    await s.at(20_000); // sampled, unchanged: nothing
    expect(s.sent).toHaveLength(1);

    s.write([3303, 0, 5700], ['epmin=5']);
    await s.observe([3303, 0, 5700]);
    await s.at(21_000, () => s.sensor.set(5700, 30));
    expect(s.sent).toHaveLength(1);
    await s.at(25_000);
    expect(s.sent.map((x) => [x.at, x.text]).slice(1)).toEqual([[25_000, '30']]);
  });

  it('edge=1 notifies rising edges of a boolean only (1.2)', async () => {
    const s = setup('1.2');
    const location = new StoredInstance([
      [0, 1.5],
      [1, 2.5],
      [12, false],
    ]);
    s.tree.addObject({ id: 6, instances: new Map([[0, location]]) });
    s.write([6, 0, 12], ['edge=1']);
    await s.observe([6, 0, 12]);
    const values = [true, false, true, true, false];
    for (const [i, v] of values.entries()) await s.at((i + 1) * 1000, () => location.set(12, v));
    expect(s.sent.map((x) => [x.at, x.text])).toEqual([
      [1000, '1'],
      [3000, '1'],
    ]);
    expect(() => s.write([3303, 0, 5700], ['edge=1'])).toThrow(/boolean/);
  });

  it('con=1 asks for confirmable notifications (1.2) and cancel stops everything', async () => {
    const s = setup('1.2');
    s.write([3303, 0, 5700], ['con=1', 'pmax=10']);
    const observation = await s.observe([3303, 0, 5700]);
    await s.at(1000, () => s.sensor.set(5700, 21));
    expect(s.sent).toEqual([{ at: 1000, text: '21', confirmable: true }]);
    observation.cancel();
    expect(s.reporter.size).toBe(0);
    await s.at(60_000, () => s.sensor.set(5700, 40));
    expect(s.sent).toHaveLength(1);
    expect(s.clock.pending).toBe(0);
  });

  it('refuses attributes the version does not know and rule violations', () => {
    const s10 = setup('1.0');
    expect(() => s10.write([3303, 0, 5700], ['epmin=1'])).toThrow(/1\.1/);
    const s11 = setup('1.1');
    expect(() => s11.write([3303, 0, 5700], ['con=1'])).toThrow(/1\.2/);
    expect(() => s11.write([3303, 0, 5700], ['gt=10', 'lt=20'])).toThrow(/lt/);
    expect(() => s11.write([3303, 0, 5700], ['gt=10', 'lt=5', 'st=3'])).toThrow(/st/);
    expect(() => s11.write([3303, 0, 5701], ['st=1'])).toThrow(/numeric/);
    expect(() => s11.write([3303, 0], ['gt=1'])).toThrow(/numeric/);
  });
});
