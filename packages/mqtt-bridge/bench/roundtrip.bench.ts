/**
 * MQTT request → LwM2M Read → MQTT response round trips per second, against the same run's direct
 * `server.read()` of the same resource (the baseline). Everything real and on loopback: Mosquitto
 * on 127.0.0.1:1883 (or MQTT_URL), our server and client over UDP. Each round runs `concurrency`
 * requests in flight for `ms`; rounds alternate direct/MQTT and the medians are reported.
 *
 * Run: tsx --conditions=@lwm2m/source bench/roundtrip.bench.ts [concurrency] [rounds] [ms]
 */
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { connectAsync } from 'mqtt';
import { createUdpSocket } from '@lwm2m/transport-coap';
import { createServer } from '@lwm2m/server';
import { createClient } from '@lwm2m/client';
import { ratio } from '../../../bench/measure.js';
import { createMqttBridge } from '../src/index.js';

const CONCURRENCY = Number(process.argv[2] ?? 16);
const ROUNDS = Number(process.argv[3] ?? 5);
const MS = Number(process.argv[4] ?? 1500);
const URL = process.env['MQTT_URL'] ?? 'mqtt://127.0.0.1:1883';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Runs `op` with `concurrency` in flight for `ms`; ops per second and mean latency in ms. */
async function run(
  op: () => Promise<void>,
  concurrency: number,
  ms: number,
): Promise<{ opsPerSec: number; latencyMs: number }> {
  let count = 0;
  let latency = 0;
  const end = performance.now() + ms;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await op();
        latency += performance.now() - t;
        count++;
      }
    }),
  );
  const elapsed = performance.now() - start;
  return {
    opsPerSec: Math.round((count * 1000) / elapsed),
    latencyMs: Math.round((latency / count) * 1000) / 1000,
  };
}

async function main(): Promise<void> {
  const tag = randomBytes(4).toString('hex');
  const prefix = `lwm2m-bench/${tag}`;
  const ep = `bench-${tag}`;
  const server = createServer({
    sockets: { coap: await createUdpSocket({ address: '127.0.0.1', port: 0 }) },
  });
  await server.listen();
  const bridge = createMqttBridge({
    server,
    prefix,
    mqtt: {
      url: URL,
      options: { clientId: `bench-bridge-${tag}`, properties: { sessionExpiryInterval: 0 } },
    },
  });
  await bridge.start();
  const client = createClient({
    endpoint: ep,
    transport: { connect: () => createUdpSocket({ address: '127.0.0.1', port: 0 }) },
    servers: [{ uri: `coap://127.0.0.1:${server.address().port}`, ssid: 1 }],
    device: { manufacturer: 'Bench' },
  });
  const registered = once(server, 'registered');
  await client.start();
  await registered;

  const caller = await connectAsync(URL, { protocolVersion: 5, clientId: `bench-caller-${tag}` });
  (caller.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
  await caller.subscribeAsync(`${prefix}/responses/#`, { qos: 1 });
  const pending = new Map<string, () => void>();
  caller.on('message', (_topic, payload) => {
    const { id } = JSON.parse(payload.toString('utf8')) as { id: string };
    pending.get(id)?.();
    pending.delete(id);
  });
  let next = 0;
  const topic = `${prefix}/requests/${ep}/GET/3/0/0`;
  const viaMqtt = (): Promise<void> =>
    new Promise<void>((resolve) => {
      const id = String(next++);
      pending.set(id, resolve);
      caller.publish(topic, `{"id":"${id}"}`, { qos: 1 });
    });
  const direct = async (): Promise<void> => {
    await server.read(ep, '/3/0/0');
  };

  // Warm-up of both paths.
  await run(direct, CONCURRENCY, 300);
  await run(viaMqtt, CONCURRENCY, 300);
  const directRounds: { opsPerSec: number; latencyMs: number }[] = [];
  const mqttRounds: { opsPerSec: number; latencyMs: number }[] = [];
  const serialDirect: number[] = [];
  const serialMqtt: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    directRounds.push(await run(direct, CONCURRENCY, MS));
    mqttRounds.push(await run(viaMqtt, CONCURRENCY, MS));
    serialDirect.push((await run(direct, 1, MS / 3)).latencyMs);
    serialMqtt.push((await run(viaMqtt, 1, MS / 3)).latencyMs);
  }
  const directOps = median(directRounds.map((r) => r.opsPerSec));
  const mqttOps = median(mqttRounds.map((r) => r.opsPerSec));
  const spread = (values: number[]): number =>
    Math.round(((Math.max(...values) - Math.min(...values)) / median(values)) * 1000) / 1000;

  console.log(
    JSON.stringify({
      bench: 'mqtt-bridge round trip: MQTT GET /3/0/0 → LwM2M Read → MQTT response',
      concurrency: CONCURRENCY,
      rounds: ROUNDS,
      roundMs: MS,
      directReadOpsPerSec: directOps,
      mqttRoundTripOpsPerSec: mqttOps,
      mqttVsDirect: ratio(mqttOps, directOps),
      sequentialLatencyMs: { direct: median(serialDirect), mqtt: median(serialMqtt) },
      sequentialLatencyRatio: ratio(median(serialMqtt), median(serialDirect)),
      // (max - min) / median over the rounds: how noisy the shared machine was.
      noise: {
        direct: spread(directRounds.map((r) => r.opsPerSec)),
        mqtt: spread(mqttRounds.map((r) => r.opsPerSec)),
      },
      perRound: { direct: directRounds.map((r) => r.opsPerSec), mqtt: mqttRounds.map((r) => r.opsPerSec) },
    }),
  );

  await caller.endAsync();
  await bridge.close();
  await client.close();
  await server.close();
  const cleaner = await connectAsync(URL, { clientId: `bench-clean-${tag}` });
  for (const t of [`${prefix}/bridge/status`, `${prefix}/${ep}/presence`])
    await cleaner.publishAsync(t, '', { qos: 1, retain: true });
  await cleaner.endAsync();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
