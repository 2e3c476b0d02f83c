import { createCoapEndpoint, createUdpSocket } from '@lwm2m/transport-coap';
import type { CoapEndpoint } from '@lwm2m/transport-coap';
import type { Lwm2mServer } from '@lwm2m/server';
import type { MqttBridge } from '../src/index.js';
import {
  Caller,
  clearRetained,
  startBridge,
  startDevice,
  startServer,
  uniqueId,
  uniquePrefix,
} from './harness.js';
import type { TestDevice } from './harness.js';

/** Bad topics, bodies and callers through the real broker: a clear error answer, never a device request. */
describe('validation and authorization', () => {
  let server: Lwm2mServer;
  let device: TestDevice;
  let bridge: MqttBridge;
  let caller: Caller;
  const operations: string[] = [];
  const prefix = uniquePrefix();
  const ep = uniqueId('dev');
  const oddEp = `${uniqueId('odd')}/a+b#c%d`;
  const oddLevel = oddEp.replace('%', '%25').replace('/', '%2F').replace('+', '%2B').replace('#', '%23');
  const extraDevices: TestDevice[] = [];

  beforeAll(async () => {
    server = await startServer();
    bridge = startBridge(server, prefix, {
      maxBodySize: 2048,
      authorize: (caller) => {
        if (caller.userProperties['role'] === 'boom') throw new Error('authorizer failure');
        return !caller.endpoint.startsWith('locked-') || caller.userProperties['role'] === 'admin';
      },
    });
    await bridge.start();
    device = await startDevice(server, ep);
    device.client.on('operation', (event: { kind?: string; operation?: string }) =>
      operations.push(JSON.stringify(event)),
    );
    caller = await Caller.connect([`${prefix}/responses/#`, `${prefix}/+/registered`]);
  });

  afterAll(async () => {
    await caller?.close();
    await bridge?.close();
    for (const d of extraDevices) await d.client.close();
    await device?.client.close();
    await server?.close();
    await clearRetained(prefix, [
      `${prefix}/${ep}/presence`,
      `${prefix}/${oddLevel}/presence`,
      `${prefix}/locked-1/presence`,
    ]);
  });

  async function expectError(
    remainder: string,
    body: unknown,
    status: string,
    code: string,
    message: RegExp,
  ): Promise<Record<string, unknown>> {
    const before = operations.length;
    const answer = caller.waitFor(
      (m) => m.topic === `${prefix}/responses/${remainder}` && m.json['code'] === status,
      5000,
      `error for ${remainder}`,
    );
    await caller.publish(`${prefix}/requests/${remainder}`, body);
    const received = await answer;
    expect(received.json['error']).toMatchObject({ code });
    expect(String((received.json['error'] as { message: string }).message)).toMatch(message);
    expect(operations.length).toBe(before);
    caller.messages.length = 0;
    return received.json;
  }

  it('refuses bad topics: unknown method, injected or empty path levels, escapes, extra levels', async () => {
    await expectError(`${ep}/GETX/3/0/0`, { id: 1 }, '4.05', 'ERR_UNKNOWN_METHOD', /unknown method "GETX"/);
    await expectError(`${ep}/get/3/0/0`, { id: 1 }, '4.05', 'ERR_UNKNOWN_METHOD', /expected one of GET/);
    const dots = await expectError(
      `${ep}/GET/3/0/../1`,
      { id: 'dots' },
      '4.00',
      'ERR_BAD_PATH',
      /invalid id "\.\."/,
    );
    expect(dots['id']).toBe('dots');
    await expectError(`${ep}/GET/3//0`, {}, '4.00', 'ERR_BAD_PATH', /empty path level/);
    await expectError(`${ep}/GET/3/0%2F1`, {}, '4.00', 'ERR_BAD_PATH', /invalid id "0%2F1"/);
    await expectError(`${ep}/GET/3/0/0/0/0`, {}, '4.00', 'ERR_BAD_PATH', /more than 4 levels/);
    await expectError(`${ep}/GET/03/0`, {}, '4.00', 'ERR_BAD_PATH', /invalid id "03"/);
    await expectError(`${ep}/GET/3/0/65535`, {}, '4.00', 'ERR_BAD_PATH', /out of range/);
    await expectError(`${ep}/GET/3/0/`, {}, '4.00', 'ERR_BAD_PATH', /empty path level/);
    await expectError(`${ep}/GET`, {}, '4.00', 'ERR_BAD_PATH', /GET needs an object/);
    await expectError(
      `${ep}/READ-COMPOSITE/3/0`,
      { paths: ['/3/0/0'] },
      '4.00',
      'ERR_BAD_PATH',
      /paths in the body/,
    );
    await expectError(
      `${ep}/CREATE/3303/0`,
      { value: {} },
      '4.00',
      'ERR_BAD_PATH',
      /CREATE needs an object path/,
    );
    await expectError(`${ep}`, {}, '4.00', 'ERR_BAD_TOPIC', /needs \{endpoint\}\/\{METHOD\}/);
    await expectError(`/GET/3/0/0`, {}, '4.00', 'ERR_BAD_TOPIC', /empty endpoint level/);
    await expectError(`${ep}%zz/GET/3/0/0`, {}, '4.00', 'ERR_BAD_TOPIC', /bad escape/);
  });

  it('refuses bad bodies: not JSON, not an object, bad UTF-8, unknown fields, bad values, oversize', async () => {
    await expectError(`${ep}/GET/3/0/0`, '{nope', '4.00', 'ERR_BAD_BODY', /not JSON/);
    await expectError(`${ep}/GET/3/0/0`, '[1,2]', '4.00', 'ERR_BAD_BODY', /JSON object/);
    await expectError(`${ep}/GET/3/0/0`, Buffer.from([0x7b, 0xff, 0x7d]), '4.00', 'ERR_BAD_BODY', /UTF-8/);
    await expectError(
      `${ep}/PUT/3303/0/5750`,
      { vaule: 'x' },
      '4.00',
      'ERR_BAD_BODY',
      /unexpected field "vaule"/,
    );
    await expectError(`${ep}/PUT/3303/0/5750`, { value: 5 }, '4.00', 'ERR_BAD_VALUE', /expected a string/);
    await expectError(`${ep}/PUT/3/0/13`, { value: 'yesterday' }, '4.00', 'ERR_BAD_VALUE', /Unix seconds/);
    await expectError(`${ep}/PUT/3303/0/5750`, {}, '4.00', 'ERR_BAD_VALUE', /value is required/);
    await expectError(`${ep}/GET/3/0/0`, { timeout: -5 }, '4.00', 'ERR_BAD_BODY', /timeout/);
    await expectError(`${ep}/GET/3/0/0`, { format: 'xml' }, '4.00', 'ERR_BAD_BODY', /unknown format "xml"/);
    await expectError(`${ep}/GET/3/0/0`, { id: { nested: true } }, '4.00', 'ERR_BAD_BODY', /"id" must be/);
    await expectError(
      `${ep}/WRITE-ATTRIBUTES/3/0/9`,
      { attributes: { pmin: -1 } },
      '4.00',
      'ERR_BAD_BODY',
      /pmin must be a non-negative integer/,
    );
    await expectError(`${ep}/POST/3/0/4`, { args: "0='a'b'" }, '4.00', 'ERR_BAD_BODY', /execute arguments/);
    await expectError(
      `${ep}/READ-COMPOSITE`,
      { paths: ['/3/0/x'] },
      '4.00',
      'ERR_BAD_PATH',
      /invalid id "x"/,
    );
    await expectError(
      `${ep}/WRITE-COMPOSITE`,
      { values: { '/3': {} } },
      '4.00',
      'ERR_BAD_PATH',
      /instances, resources/,
    );
    const big = { id: 'big', value: 'x'.repeat(4000) };
    const answer = await expectError(
      `${ep}/PUT/3303/0/5750`,
      big,
      '4.13',
      'ERR_BODY_TOO_LARGE',
      /larger than 2048/,
    );
    expect(answer['id']).toBeUndefined();
  });

  it('answers unknown and unreachable endpoints with 4.04 and 5.04, and still serves good requests', async () => {
    await expectError(`nobody-${ep}/GET/3/0/0`, { id: 'x' }, '4.04', 'ERR_NOT_REGISTERED', /not registered/);
    // A device that registered and then vanished without deregistering.
    const gone: CoapEndpoint = createCoapEndpoint({
      socket: await createUdpSocket({ address: '127.0.0.1', port: 0 }),
    });
    const goneEp = uniqueId('gone');
    await gone.request(
      {
        peer: server.address(),
        method: 'POST',
        path: ['rd'],
        query: [`ep=${goneEp}`, 'lwm2m=1.1', 'lt=60'],
        payload: '</3/0>',
        contentFormat: 40,
      },
      { timeout: 5000 },
    );
    await gone.close();
    const started = Date.now();
    await expectError(`${goneEp}/GET/3/0/0`, { timeout: 700 }, '5.04', 'ERR_TIMEOUT', /no response within/);
    expect(Date.now() - started).toBeLessThan(4000);
    const before = operations.length;
    const good = await caller.request(prefix, `${ep}/GET/3/0/0`);
    expect(good.json).toMatchObject({ code: '2.05', value: 'Acme' });
    // The device-side counter the other checks rely on does count requests that reach it.
    expect(operations.length).toBe(before + 1);
  });

  it('escapes endpoint names in topics, so a name with "/", "+", "#" or "%" is one level both ways', async () => {
    const odd = await startDevice(server, oddEp);
    extraDevices.push(odd);
    await caller.waitFor((m) => m.topic === `${prefix}/${oddLevel}/registered`);
    const answer = await caller.request(prefix, `${oddLevel}/GET/3/0/1`);
    expect(answer.json).toMatchObject({ code: '2.05', endpoint: oddEp, value: 'T1' });
  });

  it('asks the authorizer with the MQTT context and answers 4.03 when it refuses or throws', async () => {
    const locked = await startDevice(server, 'locked-1');
    extraDevices.push(locked);
    const lockedOps: unknown[] = [];
    locked.client.on('operation', (e: unknown) => lockedOps.push(e));
    const refused = caller.waitFor(
      (m) => m.topic === `${prefix}/responses/locked-1/GET/3/0/0` && m.json['code'] === '4.03',
    );
    await caller.publish(
      `${prefix}/requests/locked-1/GET/3/0/0`,
      { id: 'no' },
      { qos: 1, properties: { userProperties: { role: 'guest' } } },
    );
    expect((await refused).json).toMatchObject({ id: 'no', error: { code: 'ERR_FORBIDDEN' } });
    const thrown = caller.waitFor(
      (m) => m.topic === `${prefix}/responses/locked-1/GET/3/0/0` && m.json['id'] === 'boom',
    );
    await caller.publish(
      `${prefix}/requests/locked-1/GET/3/0/0`,
      { id: 'boom' },
      { qos: 1, properties: { userProperties: { role: 'boom' } } },
    );
    expect((await thrown).json).toMatchObject({ code: '4.03' });
    expect(lockedOps).toHaveLength(0);
    const allowed = caller.waitFor(
      (m) => m.topic === `${prefix}/responses/locked-1/GET/3/0/0` && m.json['id'] === 'yes',
    );
    await caller.publish(
      `${prefix}/requests/locked-1/GET/3/0/0`,
      { id: 'yes' },
      { qos: 1, properties: { userProperties: { role: 'admin' } } },
    );
    expect((await allowed).json).toMatchObject({ code: '2.05', value: 'Acme' });
  });

  it('refuses an MQTT 5 response topic among the request topics, answering on the default topic', async () => {
    const answer = caller.waitFor(
      (m) => m.topic === `${prefix}/responses/${ep}/GET/3/0/0` && m.json['id'] === 'loop',
    );
    await caller.publish(
      `${prefix}/requests/${ep}/GET/3/0/0`,
      { id: 'loop' },
      { qos: 1, properties: { responseTopic: `${prefix}/requests/${ep}/GET/3/0/0` } },
    );
    expect((await answer).json).toMatchObject({ code: '4.00', error: { code: 'ERR_BAD_RESPONSE_TOPIC' } });
  });

  it('runs a request repeated with the same id and body once and answers both', async () => {
    const executions: unknown[] = [];
    device.client.on('execute', (e: unknown) => executions.push(e));
    const body = { id: 'once', args: '' };
    const answers = caller.waitFor(
      (m) =>
        m.topic === `${prefix}/responses/${ep}/POST/3303/0/5605` &&
        caller.messages.filter((x) => x.json['id'] === 'once').length >= 2,
    );
    await caller.publish(`${prefix}/requests/${ep}/POST/3303/0/5605`, body);
    await caller.publish(`${prefix}/requests/${ep}/POST/3303/0/5605`, body);
    await answers;
    expect(caller.messages.filter((m) => m.json['id'] === 'once').map((m) => m.json['code'])).toEqual([
      '2.04',
      '2.04',
    ]);
    expect(executions).toHaveLength(1);
  });
});
