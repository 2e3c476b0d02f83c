import type { ResourceValue } from '@lwm2m/core';
import type { InstanceHandler, ObjectImplementation, ResourceContent } from '../instance.js';
import type { AccessChecker, ObjectTree } from '../object-tree.js';
import { AccessRight } from '../object-tree.js';
import { StoredInstance } from '../stored-instance.js';
import { readNumber } from '../resource-value.js';

/** One Access Control instance to start with. */
export interface AccessControlEntry {
  readonly objectId: number;
  /** The instance it protects; omit (65535) for the object itself, where only Create counts. */
  readonly instanceId?: number;
  /** Rights by Short Server ID (bits of {@link AccessRight}); key 0 is the default for servers without an entry. */
  readonly acl?: Readonly<Record<number, number>>;
  /** Access Control Owner: the SSID that may change this entry, with full rights when it has no entry of its own. */
  readonly owner: number;
}

const ACCESS_CONTROL = 2;
const SERVER = 1;
/** Object Instance ID of the ACL entry that governs Create on an object. */
const OBJECT_LEVEL = 65535;
const OBJECT_ID = 0;
const INSTANCE_ID = 1;
const ACL = 2;
const OWNER = 3;

function entryInstance(entry: AccessControlEntry): StoredInstance {
  const acl = new Map<number, ResourceValue>();
  for (const [ssid, rights] of Object.entries(entry.acl ?? {})) acl.set(Number(ssid), rights);
  return new StoredInstance([
    [OBJECT_ID, entry.objectId],
    [INSTANCE_ID, entry.instanceId ?? OBJECT_LEVEL],
    [ACL, acl],
    [OWNER, entry.owner],
  ]);
}

function createAccessControlInstance(): InstanceHandler {
  return new StoredInstance();
}

/** Object 2: Access Control instances, provisioned by the bootstrap server, created by the client, or given at start. */
export function accessControlObject(entries: readonly AccessControlEntry[] = []): ObjectImplementation {
  const create = createAccessControlInstance;
  // Most clients start without entries: no instance map for them (it is per client).
  if (entries.length === 0) return { id: ACCESS_CONTROL, create };
  const instances = new Map<number, InstanceHandler>();
  for (const [index, entry] of entries.entries()) instances.set(index, entryInstance(entry));
  return { id: ACCESS_CONTROL, instances, create };
}

/**
 * Access Control enforcement (TS Core 1.1 §7.3.2, §E.3) over the client's object 2. Only when the
 * client has more than one server account: then an operation on an instance needs the right in
 * the ACL entry of that server for that instance, or — without an entry — the server must be the
 * Access Control Owner (full rights) or the default entry (ACL instance 0) must grant it. No
 * Access Control instance for the target means no access. Create needs the right on the
 * object-level entry (Object Instance ID 65535) and makes the creating server the owner of a new
 * entry. Access Control instances themselves are readable by every server, writable by their
 * owner, never created or deleted by a server; a server always reaches its own Server instance.
 */
export class AccessControl implements AccessChecker {
  readonly #tree: ObjectTree;

  constructor(tree: ObjectTree) {
    this.#tree = tree;
  }

  /** True when checks apply: more than one server account. */
  active(): boolean {
    let servers = 0;
    for (const id of this.#tree.instanceIds(SERVER)) {
      if (readNumber(this.#tree.instance(SERVER, id)?.read(0)) !== undefined) servers++;
    }
    return servers > 1;
  }

  allows(ssid: number, objectId: number, instanceId: number | undefined, right: number): boolean {
    if (!this.active()) return true;
    if (objectId === ACCESS_CONTROL) {
      if (right === AccessRight.READ) return true;
      if (right !== AccessRight.WRITE || instanceId === undefined) return false;
      return readNumber(this.#read(instanceId, OWNER)) === ssid;
    }
    if (
      objectId === SERVER &&
      instanceId !== undefined &&
      readNumber(this.#tree.instance(SERVER, instanceId)?.read(0)) === ssid
    ) {
      return true;
    }
    const entry = this.#find(objectId, instanceId ?? OBJECT_LEVEL);
    if (entry === undefined) return false;
    const acl = this.#read(entry, ACL);
    const rights = acl instanceof Map ? acl : new Map<number, ResourceValue>();
    const own = readNumber(rights.get(ssid));
    if (own !== undefined) return (own & right) === right;
    if (readNumber(this.#read(entry, OWNER)) === ssid) return true;
    const fallback = readNumber(rights.get(0));
    return fallback !== undefined && (fallback & right) === right;
  }

  created(ssid: number, objectId: number, instanceId: number): void {
    if (objectId === ACCESS_CONTROL || !this.active() || this.#find(objectId, instanceId) !== undefined)
      return;
    const ids = this.#tree.instanceIds(ACCESS_CONTROL);
    let free = 0;
    while (ids.includes(free)) free++;
    this.#tree.addInstance(ACCESS_CONTROL, free, entryInstance({ objectId, instanceId, owner: ssid }));
  }

  deleted(objectId: number, instanceId: number): void {
    if (objectId === ACCESS_CONTROL) return;
    const entry = this.#find(objectId, instanceId);
    if (entry !== undefined) this.#tree.removeInstance(ACCESS_CONTROL, entry);
  }

  /** The Access Control instance id for (object, instance), if any. */
  #find(objectId: number, instanceId: number): number | undefined {
    for (const id of this.#tree.instanceIds(ACCESS_CONTROL)) {
      if (
        readNumber(this.#read(id, OBJECT_ID)) === objectId &&
        readNumber(this.#read(id, INSTANCE_ID)) === instanceId
      )
        return id;
    }
    return undefined;
  }

  #read(aclInstance: number, resourceId: number): ResourceContent | undefined {
    // Access Control instances are StoredInstances (or the user's synchronous handlers).
    const content = this.#tree.instance(ACCESS_CONTROL, aclInstance)?.read(resourceId);
    return content instanceof Promise ? undefined : content;
  }
}
