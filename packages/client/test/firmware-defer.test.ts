/** Firmware Update 1.1: Severity (5/0/11), Maximum Defer Period (5/0/13) and deferred updates (Update Result 11). */
import { randomBytes } from 'node:crypto';
import { CoapCode } from '@lwm2m/transport-coap';
import type { FirmwareDeferRequest, FirmwareMeta } from '../src/index.js';
import { OPAQUE, put, read, start, until } from './firmware-harness.js';
import type { Harness } from './firmware-harness.js';

const TEXT = 0;

describe('firmware update: severity and deferral', () => {
  let h: Harness;
  afterEach(async () => {
    await h.client.close();
    await h.server.close();
  });

  async function downloaded(): Promise<void> {
    expect((await put(h.server, '/5/0/0', randomBytes(2000), OPAQUE)).code).toBe(CoapCode.CHANGED);
    await until(() => h.client.firmware!.state === 2);
  }

  const update = (): ReturnType<Harness['server']['request']> =>
    h.server.request({ method: 'POST', path: '/5/0/2' });

  it('serves Severity (default mandatory) and Maximum Defer Period (default 0) and checks written values', async () => {
    h = await start();
    expect(await read(h.server, '/5/0/11')).toBe('1');
    expect(await read(h.server, '/5/0/13')).toBe('0');
    expect((await put(h.server, '/5/0/11', '0', TEXT)).code).toBe(CoapCode.CHANGED);
    expect((await put(h.server, '/5/0/13', '3600', TEXT)).code).toBe(CoapCode.CHANGED);
    expect(await read(h.server, '/5/0/11')).toBe('0');
    expect(await read(h.server, '/5/0/13')).toBe('3600');
    expect((await put(h.server, '/5/0/11', '3', TEXT)).code).toBe(CoapCode.BAD_REQUEST);
    expect((await put(h.server, '/5/0/13', '-1', TEXT)).code).toBe(CoapCode.BAD_REQUEST);
    expect(await read(h.server, '/5/0/11')).toBe('0');
  });

  it('defers with Update Result 11 while allowed, then updates by itself when the period ends', async () => {
    const asked: FirmwareDeferRequest[] = [];
    h = await start({
      defer: (_meta: FirmwareMeta, request: FirmwareDeferRequest) => {
        asked.push(request);
        return true;
      },
    });
    await put(h.server, '/5/0/11', '2', TEXT);
    await put(h.server, '/5/0/13', '1', TEXT);
    await downloaded();
    expect((await update()).code).toBe(CoapCode.CHANGED);
    await until(() => h.client.firmware!.result === 11);
    expect(h.client.firmware!.state).toBe(2);
    expect(asked).toEqual([{ severity: 2, remainingSeconds: 1 }]);
    expect(h.applied).toHaveLength(0);
    // The period runs out: the update goes ahead without asking again.
    await until(() => h.client.firmware!.result === 1, 5000);
    expect(h.applied).toHaveLength(1);
    expect(asked).toHaveLength(1);
    expect(h.states).toEqual(expect.arrayContaining([2, 3, 0]));
  });

  it('does not ask when Maximum Defer Period is 0: the update runs at once', async () => {
    let asked = 0;
    h = await start({
      defer: () => {
        asked++;
        return true;
      },
    });
    await downloaded();
    await update();
    await until(() => h.client.firmware!.result === 1);
    expect(asked).toBe(0);
  });

  it('asks again on a new Update, with the time left of the first deadline; Cancel ends the deferral', async () => {
    const answers = [true, false];
    const asked: number[] = [];
    h = await start({
      defer: (_meta: FirmwareMeta, request: FirmwareDeferRequest) => {
        asked.push(request.remainingSeconds);
        return answers.shift() ?? false;
      },
    });
    await put(h.server, '/5/0/13', '600', TEXT);
    await downloaded();
    await update();
    await until(() => h.client.firmware!.result === 11);
    await update();
    await until(() => h.client.firmware!.result === 1);
    expect(asked[0]).toBe(600);
    expect(asked[1]).toBeLessThanOrEqual(600);
    expect(h.applied).toHaveLength(1);

    // Deferred, then cancelled: nothing runs later.
    answers.push(true);
    await downloaded();
    await update();
    await until(() => h.client.firmware!.result === 11);
    expect((await h.server.request({ method: 'POST', path: '/5/0/10' })).code).toBe(CoapCode.CHANGED);
    expect(h.client.firmware!.result).toBe(10);
    expect(h.applied).toHaveLength(1);
  });
});
