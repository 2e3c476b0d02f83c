import { execFile } from 'node:child_process';
import { createUdpSocket } from '@lwm2m/transport-coap';
import { createServer } from '../src/server.js';
import type { Lwm2mServer } from '../src/server.js';

/** libcoap's coap-client-notls: hand-made registrations from an independent CoAP stack. */
function coapClient(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile('coap-client-notls', ['-B', '5', ...args], { timeout: 10_000 }, (error, stdout, stderr) => {
      if (error !== null && (error as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new Error('coap-client-notls is missing: apt-get install -y libcoap3-bin'));
        return;
      }
      resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? null), stdout, stderr });
    });
  });
}

describe('coap-client-notls as a peer', () => {
  let server: Lwm2mServer;
  let base: string;

  beforeEach(async () => {
    server = createServer({ sockets: { coap: await createUdpSocket({ address: '127.0.0.1', port: 0 }) } });
    await server.listen();
    base = `coap://127.0.0.1:${server.address().port}`;
  });

  afterEach(async () => {
    await server.close();
  });

  test('a valid registration is accepted', async () => {
    const result = await coapClient([
      '-m',
      'post',
      '-t',
      '40',
      '-e',
      '</>;rt="oma.lwm2m";ct=110,</1/0>,</3/0>',
      `${base}/rd?ep=libcoap-dev&lt=120&lwm2m=1.1&b=U`,
    ]);
    expect(result.stdout + result.stderr).not.toMatch(/4\.\d\d|5\.\d\d/);
    const registration = await server.getRegistration('libcoap-dev');
    expect(registration).toMatchObject({
      lifetime: 120,
      version: '1.1',
      supportedFormats: [110],
      address: '127.0.0.1',
    });
  });

  test.each([
    ['no endpoint name', '/rd?lt=60', '</3/0>'],
    ['a zero lifetime', '/rd?ep=bad&lt=0', '</3/0>'],
    ['an unknown binding', '/rd?ep=bad&lwm2m=1.1&b=Z', '</3/0>'],
    ['broken links', '/rd?ep=bad', '</3/0'],
  ])('%s → 4.00', async (_name, uri, payload) => {
    const result = await coapClient(['-m', 'post', '-t', '40', '-e', payload, `${base}${uri}`]);
    expect(result.stdout + result.stderr).toMatch(/4\.00/);
    expect(await server.getRegistration('bad')).toBeUndefined();
  });
});
