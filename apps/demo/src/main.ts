/**
 * The demo, for now: what @lwm2m/codecs does with one Device object instance. It encodes the
 * instance in every LwM2M format, decodes it back, checks nothing was lost, and parses a
 * registration payload. The full bootstrap → register → observe demo replaces this once the
 * server and client exist.
 */
import { ContentFormat, contentFormatName, createCoreObjectRegistry, formatPath, multipleResource, objectInstance, singleResource } from '@lwm2m/core';
import type { Lwm2mNode } from '@lwm2m/core';
import { createCodec, parseRegistrationLinks } from '@lwm2m/codecs';
import { isDeepStrictEqual } from 'node:util';

const codec = createCodec({ registry: createCoreObjectRegistry() });

const device = objectInstance(0, [
  singleResource(0, 'string', 'Open Mobile Alliance'),
  singleResource(1, 'string', 'Lightweight M2M Client'),
  singleResource(2, 'string', '345000123'),
  multipleResource(6, 'integer', [
    [0, 1],
    [1, 5],
  ]),
  singleResource(9, 'integer', 100),
  singleResource(13, 'time', new Date('2013-05-02T10:40:15Z')),
  singleResource(16, 'string', 'U'),
]);

function show(payload: Uint8Array, format: number): string {
  const textual = format === ContentFormat.SENML_JSON || format === ContentFormat.JSON;
  const text = textual ? new TextDecoder().decode(payload) : Buffer.from(payload).toString('hex');
  return text.length > 96 ? `${text.slice(0, 93)}...` : text;
}

function roundTrip(format: number, node: Lwm2mNode, path: readonly number[]): void {
  const p = path as Parameters<typeof codec.encode>[2];
  const payload = codec.encode(format, node, p);
  const back = codec.decode(format, payload, p);
  const same = isDeepStrictEqual(back, node);
  console.log(
    `${String(format).padStart(5)} ${(contentFormatName(format) ?? '?').padEnd(32)} ${formatPath(p).padEnd(8)} ${String(payload.length).padStart(4)} B  ${same ? 'round-trip ok' : 'ROUND-TRIP DIFFERS'}\n      ${show(payload, format)}`,
  );
  if (!same) process.exitCode = 1;
}

console.log('Device /3/0 in every LwM2M format that carries an object instance:\n');
for (const format of codec.formatsFor('objectInstance')) roundTrip(format, device, [3, 0]);

console.log('\nA single resource /3/0/9 (battery level) in the single-value formats:\n');
for (const format of [ContentFormat.TEXT, ContentFormat.CBOR]) roundTrip(format, device.resources.get(9)!, [3, 0, 9]);

const registration = '</>;rt="oma.lwm2m";ct=110,</1/0>,</3>;ver=1.1,</3/0>,</3303/0>,</3303/1>';
console.log(`\nRegistration payload ${registration}\n`, parseRegistrationLinks(registration));
