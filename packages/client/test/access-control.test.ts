import { once } from 'node:events';
import { createCoreObjectRegistry } from '@lwm2m/core';
import type { ObjectNode } from '@lwm2m/core';
import { createCodec } from '@lwm2m/codecs';
import { CoapCode } from '@lwm2m/transport-coap';
import {
  AccessRight,
  createClient,
  LocationInstance,
  locationObject,
  StoredInstance,
  systemClock,
} from '../src/index.js';
import type { AccessControlEntry, Lwm2mClient } from '../src/index.js';
import { memoryNetwork, MEMORY_SERVER_URI, memoryServer, text } from './fake-server.js';
import type { FakeServer } from './fake-server.js';

const { READ, WRITE, DELETE, CREATE } = AccessRight;
const codec = createCodec({ registry: createCoreObjectRegistry() });

/** Instances of an object-level SenML JSON answer, as id → resource id → value. */
function instances(payload: Uint8Array, objectId: number): Map<number, Map<number, unknown>> {
  const node = codec.decode(110, payload, [objectId]) as ObjectNode;
  const out = new Map<number, Map<number, unknown>>();
  for (const [id, instance] of node.instances) {
    out.set(
      id,
      new Map(
        [...instance.resources].map(([rid, r]) => [rid, r.kind === 'resource' ? r.value : r.instances]),
      ),
    );
  }
  return out;
}

const ACL: AccessControlEntry[] = [
  // Device: server 1 owns it (full rights, no entry of its own); server 2 may only read.
  { objectId: 3, instanceId: 0, owner: 1, acl: { 2: READ } },
  // Location: everyone without an entry reads (default ACL, instance 0); server 1 also writes.
  { objectId: 6, instanceId: 0, owner: 2, acl: { 0: READ, 1: READ | WRITE } },
  // Create on 3303 for server 2 only.
  { objectId: 3303, owner: 2, acl: { 2: CREATE } },
];

function temperatureFactory(): { id: number; create: () => StoredInstance } {
  return { id: 3303, create: () => new StoredInstance({ 5700: 20.5 }) };
}

describe('access control with two servers', () => {
  let client: Lwm2mClient;
  let network: ReturnType<typeof memoryNetwork>;
  let one: FakeServer;
  let two: FakeServer;

  beforeEach(async () => {
    network = memoryNetwork();
    one = network.addServer('10.0.0.1');
    two = network.addServer('10.0.0.3');
    client = createClient({
      endpoint: 'acl-test',
      transport: network.transport,
      servers: [
        { uri: 'coap://10.0.0.1:5683', ssid: 1, lifetime: 300 },
        { uri: 'coap://10.0.0.3:5683', ssid: 2, lifetime: 300 },
      ],
      device: { manufacturer: 'Acme', onReboot: () => undefined },
      objects: [
        locationObject(new LocationInstance(systemClock, { latitude: 1, longitude: 2 })),
        temperatureFactory(),
      ],
      accessControl: ACL,
    });
    let registrations = 0;
    const both = new Promise<void>((resolve) =>
      client.on('registered', () => ++registrations === 2 && resolve()),
    );
    await client.start();
    await both;
  });

  afterEach(async () => {
    await client.close();
    await network.close();
  });

  it('checks Read, Write and Execute against the entry of the server, the owner and the default entry', async () => {
    // Server 2 has READ on /3/0.
    expect((await two.request({ method: 'GET', path: '/3/0/0' })).code).toBe(CoapCode.CONTENT);
    expect(
      (await two.request({ method: 'PUT', path: '/3/0/14', contentFormat: 0, payload: '+02:00' })).code,
    ).toBe(CoapCode.UNAUTHORIZED);
    expect((await two.request({ method: 'POST', path: '/3/0/12' })).code).toBe(CoapCode.UNAUTHORIZED);
    // Server 1 owns /3/0 and has no entry: full rights.
    expect(
      (await one.request({ method: 'PUT', path: '/3/0/14', contentFormat: 0, payload: '+02:00' })).code,
    ).toBe(CoapCode.CHANGED);
    expect((await one.request({ method: 'POST', path: '/3/0/12' })).code).toBe(CoapCode.CHANGED);

    // /6/0: server 1's own entry (R|W); server 2 owns it but has no entry -> full rights.
    expect(
      (await one.request({ method: 'PUT', path: '/6/0/0', contentFormat: 0, payload: '52.5' })).code,
    ).toBe(CoapCode.CHANGED);
    expect(
      (await two.request({ method: 'PUT', path: '/6/0/0', contentFormat: 0, payload: '53.5' })).code,
    ).toBe(CoapCode.CHANGED);
    expect(text(await one.request({ method: 'GET', path: '/6/0/0' }))).toBe('53.5');
    // Discover, Write-Attributes and Observe count as reading.
    expect((await two.request({ method: 'GET', path: '/3/0', accept: 40 })).code).toBe(CoapCode.CONTENT);
    expect((await two.request({ method: 'PUT', path: '/3/0/0', query: ['pmin=10'] })).code).toBe(
      CoapCode.CHANGED,
    );
    expect((await two.request({ method: 'PUT', path: '/1/0/1', query: ['pmin=10'] })).code).toBe(
      CoapCode.UNAUTHORIZED,
    );
    expect((await two.request({ method: 'GET', path: '/1/0/1', observe: 0 })).code).toBe(
      CoapCode.UNAUTHORIZED,
    );
  });

  it('refuses everything on an instance without an Access Control instance, and hides it from object reads', async () => {
    // /1/0 is server 1's account: server 2 has no entry for it; each server reaches its own.
    expect((await two.request({ method: 'GET', path: '/1/0' })).code).toBe(CoapCode.UNAUTHORIZED);
    expect((await two.request({ method: 'GET', path: '/1/1/0' })).code).toBe(CoapCode.CONTENT);
    expect((await one.request({ method: 'GET', path: '/1/0/1' })).code).toBe(CoapCode.CONTENT);
    expect(
      (await one.request({ method: 'PUT', path: '/1/0/1', contentFormat: 0, payload: '600' })).code,
    ).toBe(CoapCode.CHANGED);
    expect((await two.request({ method: 'GET', path: '/1/0', accept: 40 })).code).toBe(CoapCode.UNAUTHORIZED);
    // An object-level Read lists only readable instances: server 2 sees its own Server instance.
    const servers = await two.request({ method: 'GET', path: '/1', accept: 110 });
    expect(servers.code).toBe(CoapCode.CONTENT);
    const visible = instances(servers.payload, 1);
    expect([...visible.keys()]).toEqual([1]);
    expect(visible.get(1)?.get(0)).toBe(2);
    // A missing instance is still 4.04.
    expect((await two.request({ method: 'GET', path: '/6/9' })).code).toBe(CoapCode.NOT_FOUND);
  });

  it('lets Create need the object-level right and makes the creator the owner of the new instance', async () => {
    expect((await one.request({ method: 'POST', path: '/3303', contentFormat: 0 })).code).toBe(
      CoapCode.UNAUTHORIZED,
    );
    const created = await two.request({ method: 'POST', path: '/3303' });
    expect(created.code).toBe(CoapCode.CREATED);
    expect(created.locationPath).toEqual(['3303', '0']);

    // A new Access Control instance for /3303/0, owned by server 2, empty ACL.
    const acl = await one.request({ method: 'GET', path: '/2', accept: 110 });
    expect(acl.code).toBe(CoapCode.CONTENT);
    const fresh = [...instances(acl.payload, 2).values()].filter((r) => r.get(0) === 3303 && r.get(1) === 0);
    expect(fresh).toHaveLength(1);
    expect(fresh[0]?.get(3)).toBe(2);
    expect((await one.request({ method: 'GET', path: '/3303/0' })).code).toBe(CoapCode.UNAUTHORIZED);
    expect((await two.request({ method: 'GET', path: '/3303/0/5700' })).code).toBe(CoapCode.CONTENT);

    // Only the owner changes an Access Control instance; servers never create or delete them.
    const entry = client.tree
      .instanceIds(2)
      .find(
        (id) => client.tree.instance(2, id)?.read(0) === 3303 && client.tree.instance(2, id)?.read(1) === 0,
      )!;
    expect(entry).toBeDefined();
    const grant = {
      method: 'PUT' as const,
      path: `/2/${entry}/2/1`,
      contentFormat: 0,
      payload: String(READ | DELETE),
    };
    expect((await one.request(grant)).code).toBe(CoapCode.UNAUTHORIZED);
    expect((await two.request(grant)).code).toBe(CoapCode.CHANGED);
    expect((await one.request({ method: 'GET', path: '/3303/0/5700' })).code).toBe(CoapCode.CONTENT);
    expect((await one.request({ method: 'POST', path: '/3303/0/5605' })).code).toBe(CoapCode.UNAUTHORIZED);
    expect((await two.request({ method: 'POST', path: '/2' })).code).toBe(CoapCode.UNAUTHORIZED);
    expect((await two.request({ method: 'DELETE', path: `/2/${entry}` })).code).toBe(CoapCode.UNAUTHORIZED);

    // Delete needs its right; the Access Control instance goes with the instance.
    expect((await one.request({ method: 'DELETE', path: '/3303/0' })).code).toBe(CoapCode.DELETED);
    expect(client.tree.instanceIds(3303)).toEqual([]);
    expect(
      client.tree
        .instanceIds(2)
        .some(
          (id) => client.tree.instance(2, id)?.read(0) === 3303 && client.tree.instance(2, id)?.read(1) === 0,
        ),
    ).toBe(false);
  });
});

describe('access control with one server', () => {
  it('is not checked: the only server has full access whatever the entries say', async () => {
    const { server, transport } = memoryServer();
    const client = createClient({
      endpoint: 'acl-single',
      transport,
      servers: [{ uri: MEMORY_SERVER_URI, ssid: 1, lifetime: 300 }],
      device: { manufacturer: 'Acme' },
      objects: [temperatureFactory()],
      accessControl: [
        { objectId: 3, instanceId: 0, owner: 7, acl: { 1: 0 } },
        { objectId: 3303, owner: 7, acl: { 1: 0 } },
      ],
    });
    const registered = once(client, 'registered');
    await client.start();
    await registered;
    try {
      expect((await server.request({ method: 'GET', path: '/3/0/0' })).code).toBe(CoapCode.CONTENT);
      expect((await server.request({ method: 'POST', path: '/3/0/12' })).code).toBe(CoapCode.CHANGED);
      expect((await server.request({ method: 'POST', path: '/3303' })).code).toBe(CoapCode.CREATED);
      // No Access Control instance is made for the new instance either.
      expect(client.tree.instanceIds(2)).toEqual([0, 1]);
      expect((await server.request({ method: 'DELETE', path: '/3303/0' })).code).toBe(CoapCode.DELETED);
    } finally {
      await client.close();
      await server.close();
    }
  });
});
