import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { CoapCode, createCoapEndpoint, createUdpSocket } from '@lwm2m/transport-coap';
import type { CoapEndpoint } from '@lwm2m/transport-coap';
import { connectDtls } from '@lwm2m/transport-dtls';
import { startApp, stopApp } from '@lwm2m/app-kit/testing';

const ROOT = join(__dirname, '..', '..', '..');
const BROKER = 'mqtt://127.0.0.1:1883';
const PSK = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

/** The gateway app as a process: env config, CoAP on port 0, requests through the real Mosquitto. */
describe('mqtt-gateway app', () => {
  let child: ChildProcess | undefined;
  /** A minimal LwM2M device: registers, answers Read of /3/0/0 as text. */
  let device: CoapEndpoint | undefined;
  const tag = randomBytes(5).toString('hex');
  const prefix = `lwm2m-test/gw-${tag}`;
  const clientId = `gw-${tag}`;
  const ep = `gw-dev-${tag}`;

  afterEach(async () => {
    await device?.close();
    // SIGTERM first: a SIGKILL would stop tsx and orphan the app process it runs.
    await stopApp(child);
    // Leave nothing on the shared broker: retained messages and the gateway's persistent session.
    const cleaner = await connectAsync(BROKER, {
      protocolVersion: 5,
      clientId,
      clean: true,
      properties: { sessionExpiryInterval: 0 },
    });
    for (const topic of [`${prefix}/bridge/status`, `${prefix}/${ep}/presence`])
      await cleaner.publishAsync(topic, '', { qos: 1, retain: true });
    await cleaner.endAsync();
  });

  it.each(['coap', 'coaps'] as const)(
    'starts from the environment, answers an MQTT request to a device on %s and stops on SIGTERM',
    async (transport) => {
      const started = await startApp({
        appDir: join(ROOT, 'apps', 'mqtt-gateway'),
        env: {
          LWM2M_HOST: '127.0.0.1',
          LWM2M_COAP_PORT: '0',
          LWM2M_COAPS_PORT: '0',
          MQTT_URL: BROKER,
          MQTT_PREFIX: prefix,
          MQTT_CLIENT_ID: clientId,
          // Security info makes the server refuse NoSec for this endpoint: only for the DTLS case.
          ...(transport === 'coaps'
            ? { LWM2M_PSK: JSON.stringify([{ endpoint: ep, identity: ep, key: PSK.toString('hex') }]) }
            : {}),
          LOG_LEVEL: 'info',
        },
        ready: (entry) =>
          entry.msg === 'listening' && typeof entry[transport] === 'number' ? entry[transport] : undefined,
      });
      child = started.child;
      const port = started.ready;

      device = createCoapEndpoint({
        socket:
          transport === 'coap'
            ? await createUdpSocket({ address: '127.0.0.1', port: 0 })
            : await connectDtls({
                peer: { address: '127.0.0.1', port },
                psk: { identity: ep, key: PSK },
                timeout: 10_000,
              }),
        handler: (request) =>
          request.method === 'GET' && request.path.join('/') === '3/0/0'
            ? { code: CoapCode.CONTENT, contentFormat: 0, payload: 'GatewayCo' }
            : { code: CoapCode.NOT_FOUND },
      });
      const registered = await device.request(
        {
          peer: { address: '127.0.0.1', port },
          method: 'POST',
          path: ['rd'],
          query: [`ep=${ep}`, 'lwm2m=1.1', 'lt=60'],
          contentFormat: 40,
          payload: '</3/0>',
        },
        { timeout: 5000 },
      );
      expect(registered.code).toBe(CoapCode.CREATED);

      const caller = await connectAsync(BROKER, { protocolVersion: 5, clientId: `caller-${tag}` });
      await caller.subscribeAsync(`${prefix}/responses/#`, { qos: 1 });
      const answer = new Promise<Record<string, unknown>>((resolve) => {
        caller.on('message', (_topic, payload) =>
          resolve(JSON.parse(payload.toString('utf8')) as Record<string, unknown>),
        );
      });
      await caller.publishAsync(`${prefix}/requests/${ep}/GET/3/0/0`, JSON.stringify({ id: 'gw' }), {
        qos: 1,
      });
      expect(await answer).toMatchObject({ id: 'gw', code: '2.05', value: 'GatewayCo' });
      await caller.endAsync();

      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      expect(code).toBe(0);
    },
    30_000,
  );
});
