import {
  formatPath,
  multipleResource,
  objectInstance,
  objectNode,
  resourceInstance,
  singleResource,
} from '@lwm2m/core';
import type {
  Lwm2mNode,
  Lwm2mPath,
  ObjectDefinition,
  ObjectInstanceNode,
  ObjectRegistry,
  ResourceDefinition,
  ResourceNode,
  ResourceValue,
} from '@lwm2m/core';
import {
  BadRequestError,
  ClientConfigError,
  MethodNotAllowedError,
  NotFoundError,
  UnauthorizedError,
} from './errors.js';
import type {
  ChangeSink,
  InstanceHandler,
  ObjectImplementation,
  ResourceContent,
  WriteContext,
} from './instance.js';
import { checkResourceValue } from './value-check.js';

/** Who asks: a DM server (by Short Server ID), the bootstrap server, or the device itself. */
export interface OperationContext {
  readonly ssid: number | undefined;
  readonly bootstrap: boolean;
}

export const LOCAL_CONTEXT: OperationContext = Object.freeze({ ssid: undefined, bootstrap: false });
export const BOOTSTRAP_CONTEXT: OperationContext = Object.freeze({ ssid: undefined, bootstrap: true });

/** What the tree tells its owner. */
export interface TreeListener {
  resourceChanged(objectId: number, instanceId: number, resourceId: number): void;
  /** Instances were added or removed (the registration payload changes). */
  instancesChanged(objectId: number): void;
}

/** Access rights of the Access Control object's ACL resource (TS Core 1.1 §E.3). */
export const AccessRight = {
  READ: 1,
  WRITE: 2,
  EXECUTE: 4,
  DELETE: 8,
  CREATE: 16,
} as const;

/** Decides whether a DM server may perform an operation (the client's Access Control enforcement). */
export interface AccessChecker {
  /** `instanceId` undefined: an object-level operation (Create). */
  allows(ssid: number, objectId: number, instanceId: number | undefined, right: number): boolean;
  /** A server created an instance (it becomes the owner of its access control). */
  created(ssid: number, objectId: number, instanceId: number): void;
  /** An instance left the tree. */
  deleted(objectId: number, instanceId: number): void;
}

/** One entry of a Discover answer before attributes are added. */
export interface TreeLink {
  readonly path: Lwm2mPath;
  readonly version?: string;
  readonly dim?: number;
}

/** An implementation that lets servers (or the bootstrap server) create instances. */
type Creator = ObjectImplementation & { create(instanceId: number): InstanceHandler };

interface ObjectEntry {
  readonly definition: ObjectDefinition;
  /**
   * The implementation when it has `create`; undefined otherwise. Nothing else of it is needed
   * after `addObject`, and not keeping it lets its map of start instances go (one per object and
   * client, for thousands of clients in one process).
   */
  readonly creator: Creator | undefined;
  readonly instances: Map<number, InstanceHandler>;
}

const SECURITY = 0;
const OSCORE = 21;

function readable(def: ResourceDefinition): boolean {
  return def.operations === 'R' || def.operations === 'RW';
}
function writable(def: ResourceDefinition): boolean {
  return def.operations === 'W' || def.operations === 'RW';
}
function executable(def: ResourceDefinition): boolean {
  return def.operations === 'E';
}

function isMap(content: ResourceContent): content is ReadonlyMap<number, ResourceValue> {
  return content instanceof Map;
}

function toEntries(
  instances: ReadonlyMap<number, InstanceHandler> | Readonly<Record<number, InstanceHandler>> | undefined,
): [number, InstanceHandler][] {
  if (instances === undefined) return [];
  if (instances instanceof Map) return [...(instances as ReadonlyMap<number, InstanceHandler>)];
  return Object.entries(instances as Record<string, InstanceHandler>).map(([id, h]) => [Number(id), h]);
}

/**
 * The client's objects and instances: every DM and bootstrap operation on paths, with the checks
 * of TS Core §5.4 (existence 4.04, operations 4.05, values 4.00). It knows nothing of CoAP or
 * formats: it takes and gives {@link Lwm2mNode}s.
 */
export class ObjectTree implements ChangeSink {
  readonly registry: ObjectRegistry;
  readonly #objects = new Map<number, ObjectEntry>();
  #listener: TreeListener | undefined;
  #access: AccessChecker | undefined;

  constructor(registry: ObjectRegistry) {
    this.registry = registry;
  }

  setListener(listener: TreeListener | undefined): void {
    this.#listener = listener;
  }

  /** Checks DM servers' operations from now on (bootstrap and local operations are never checked). */
  setAccessControl(access: AccessChecker | undefined): void {
    this.#access = access;
  }

  /** Adds an object; its definition must be in the registry. */
  addObject(implementation: ObjectImplementation): void {
    const definition = this.registry.getObject(implementation.id);
    if (definition === undefined)
      throw new ClientConfigError(`object ${implementation.id} is not in the object registry`);
    if (this.#objects.has(implementation.id))
      throw new ClientConfigError(`object ${implementation.id} added twice`);
    const creator = implementation.create === undefined ? undefined : (implementation as Creator);
    const entry: ObjectEntry = { definition, creator, instances: new Map() };
    this.#objects.set(implementation.id, entry);
    for (const [id, handler] of toEntries(implementation.instances)) this.#attach(entry, id, handler);
  }

  hasObject(objectId: number): boolean {
    return this.#objects.has(objectId);
  }

  objectIds(): number[] {
    return [...this.#objects.keys()].sort((a, b) => a - b);
  }

  instanceIds(objectId: number): number[] {
    const entry = this.#objects.get(objectId);
    return entry === undefined ? [] : [...entry.instances.keys()].sort((a, b) => a - b);
  }

  instance(objectId: number, instanceId: number): InstanceHandler | undefined {
    return this.#objects.get(objectId)?.instances.get(instanceId);
  }

  definition(objectId: number): ObjectDefinition | undefined {
    return this.#objects.get(objectId)?.definition;
  }

  /** Adds an instance from the device side. */
  addInstance(objectId: number, instanceId: number, handler: InstanceHandler): void {
    const entry = this.#objects.get(objectId);
    if (entry === undefined) throw new ClientConfigError(`object ${objectId} is not part of this client`);
    if (entry.instances.has(instanceId))
      throw new ClientConfigError(`instance /${objectId}/${instanceId} exists`);
    this.#attach(entry, instanceId, handler);
    this.#listener?.instancesChanged(objectId);
  }

  /** Removes an instance from the device side; true when it existed. */
  removeInstance(objectId: number, instanceId: number): boolean {
    const entry = this.#objects.get(objectId);
    const handler = entry?.instances.get(instanceId);
    if (entry === undefined || handler === undefined) return false;
    entry.instances.delete(instanceId);
    handler.detach?.();
    this.#access?.deleted(objectId, instanceId);
    this.#listener?.instancesChanged(objectId);
    return true;
  }

  /** Objects and instances for the registration payload (TS Core §6.2.1: never 0 or 21). */
  registrationObjects(): Map<number, { version?: string; instances: number[] }> {
    const out = new Map<number, { version?: string; instances: number[] }>();
    for (const id of this.objectIds()) {
      if (id === SECURITY || id === OSCORE) continue;
      const entry = this.#objects.get(id) as ObjectEntry;
      const instances = this.instanceIds(id);
      out.set(
        id,
        entry.definition.version === '1.0' ? { instances } : { version: entry.definition.version, instances },
      );
    }
    return out;
  }

  /** ChangeSink: a handler reports a value it changed itself. */
  resourceChanged(objectId: number, instanceId: number, resourceId: number): void {
    this.#listener?.resourceChanged(objectId, instanceId, resourceId);
  }

  close(): void {
    for (const entry of this.#objects.values())
      for (const handler of entry.instances.values()) handler.detach?.();
  }

  // -------------------------------------------------------------------------------------------
  // Read

  /** Read (and Bootstrap-Read); the node at `path`, with the readable resources only. */
  async read(path: Lwm2mPath, context: OperationContext): Promise<Lwm2mNode> {
    const [objectId, instanceId, resourceId, resourceInstanceId] = path;
    if (objectId === undefined) throw new MethodNotAllowedError('Read on the root path');
    const entry = this.#entry(objectId, context);
    if (context.bootstrap && objectId !== 1 && objectId !== 2) {
      throw new MethodNotAllowedError(`Bootstrap-Read is only allowed on objects 1 and 2, not ${objectId}`);
    }
    if (instanceId === undefined) {
      // An object-level Read shows only the instances this server may read.
      const instances: ObjectInstanceNode[] = [];
      for (const id of this.instanceIds(objectId)) {
        if (this.#allows(context, objectId, id, AccessRight.READ))
          instances.push(await this.#readInstance(entry, id));
      }
      return objectNode(objectId, instances);
    }
    this.#handler(entry, instanceId); // 4.04 before 4.01
    this.#checkAccess(context, objectId, instanceId, AccessRight.READ);
    if (resourceId === undefined) return this.#readInstance(entry, instanceId);
    const def = this.#resourceDefinition(entry, resourceId);
    if (!readable(def)) throw new MethodNotAllowedError(`resource ${formatPath(path)} is not readable`);
    const handler = this.#handler(entry, instanceId);
    const content = await handler.read(resourceId);
    if (content === undefined) throw new NotFoundError(`${formatPath(path)} not found`);
    if (resourceInstanceId === undefined) return this.#resourceNode(def, content);
    if (!isMap(content))
      throw new NotFoundError(`${formatPath(path)}: resource ${resourceId} has no instances`);
    const value = content.get(resourceInstanceId);
    if (value === undefined) throw new NotFoundError(`${formatPath(path)} not found`);
    return resourceInstance(resourceInstanceId, def.type, value);
  }

  /** Reads the value of one resource or resource instance for reporting; undefined when absent. */
  async readValue(path: Lwm2mPath): Promise<ResourceContent | undefined> {
    const [objectId, instanceId, resourceId, resourceInstanceId] = path;
    if (objectId === undefined || instanceId === undefined || resourceId === undefined) return undefined;
    const content = await this.#objects.get(objectId)?.instances.get(instanceId)?.read(resourceId);
    if (content === undefined || resourceInstanceId === undefined) return content;
    return isMap(content) ? content.get(resourceInstanceId) : undefined;
  }

  async #readInstance(entry: ObjectEntry, instanceId: number): Promise<ObjectInstanceNode> {
    const handler = this.#handler(entry, instanceId);
    const resources: ResourceNode[] = [];
    for (const id of this.#presentResources(entry, handler)) {
      const def = entry.definition.resources.get(id) as ResourceDefinition;
      if (!readable(def)) continue;
      const content = await handler.read(id);
      if (content !== undefined) resources.push(this.#resourceNode(def, content));
    }
    return objectInstance(instanceId, resources);
  }

  #resourceNode(def: ResourceDefinition, content: ResourceContent): ResourceNode {
    if (def.multiple) {
      return multipleResource(def.id, def.type, isMap(content) ? content : new Map([[0, content]]));
    }
    if (isMap(content))
      throw new ClientConfigError(
        `resource ${def.id} is single-instance but its handler returned several values`,
      );
    return singleResource(def.id, def.type, content);
  }

  // -------------------------------------------------------------------------------------------
  // Write

  /**
   * Write (`replace` true: PUT; false: POST partial update) and Bootstrap-Write. Everything is
   * checked before anything is written, so a refused Write changes nothing.
   */
  async write(path: Lwm2mPath, node: Lwm2mNode, replace: boolean, context: OperationContext): Promise<void> {
    const [objectId, instanceId, resourceId, resourceInstanceId] = path;
    if (objectId === undefined) throw new MethodNotAllowedError('Write on the root path');
    const entry = this.#entry(objectId, context);
    const writeContext: WriteContext = { ssid: context.ssid, bootstrap: context.bootstrap };
    if (instanceId === undefined) {
      // Only the bootstrap server writes a whole object (TS Core §5.2.7.4).
      if (!context.bootstrap) throw new MethodNotAllowedError('Write on an object');
      if (node.kind !== 'object') throw new BadRequestError('payload is not an object');
      for (const instance of node.instances.values())
        this.#checkResources(entry, instance.resources.values(), context);
      for (const instance of node.instances.values())
        await this.#writeInstance(entry, instance, true, writeContext, true);
      return;
    }
    if (entry.instances.has(instanceId)) this.#checkAccess(context, objectId, instanceId, AccessRight.WRITE);
    if (resourceId === undefined) {
      if (node.kind !== 'objectInstance' || node.id !== instanceId)
        throw new BadRequestError(`payload is not instance ${instanceId}`);
      this.#checkResources(entry, node.resources.values(), context);
      if (!entry.instances.has(instanceId) && !context.bootstrap)
        throw new NotFoundError(`${formatPath(path)} not found`);
      await this.#writeInstance(entry, node, replace, writeContext, context.bootstrap);
      return;
    }
    const def = this.#resourceDefinition(entry, resourceId);
    const handler = this.#bootstrapOrExistingHandler(entry, instanceId, context);
    if (resourceInstanceId === undefined) {
      if (node.kind !== 'resource' && node.kind !== 'multipleResource')
        throw new BadRequestError('payload is not a resource');
      if (node.id !== resourceId)
        throw new BadRequestError(`payload is resource ${node.id}, not ${resourceId}`);
      this.#checkResources(entry, [node], context);
      let content = this.#content(node);
      if (!replace && isMap(content)) content = await this.#merged(handler, resourceId, content);
      await this.#writeResource(handler, def, content, writeContext);
      this.#changed(objectId, instanceId, resourceId);
      return;
    }
    if (!def.multiple)
      throw new NotFoundError(`${formatPath(path)}: resource ${resourceId} is single-instance`);
    if (
      node.kind !== 'resourceInstance' &&
      !(node.kind === 'multipleResource' && node.instances.size === 1)
    ) {
      throw new BadRequestError('payload is not a resource instance');
    }
    const value =
      node.kind === 'resourceInstance' ? node.value : ([...node.instances.values()][0] as ResourceValue);
    this.#checkWritable(def, context);
    checkResourceValue(def, value);
    const merged = await this.#merged(handler, resourceId, new Map([[resourceInstanceId, value]]));
    await this.#writeResource(handler, def, merged, writeContext);
    this.#changed(objectId, instanceId, resourceId);
  }

  async #writeInstance(
    entry: ObjectEntry,
    node: ObjectInstanceNode,
    replace: boolean,
    context: WriteContext,
    createMissing: boolean,
  ): Promise<void> {
    let handler = entry.instances.get(node.id);
    if (handler === undefined) {
      if (!createMissing) throw new NotFoundError(`/${entry.definition.id}/${node.id} not found`);
      handler = this.#createHandler(entry, node.id);
    }
    if (replace && !context.bootstrap) {
      // A replacing Write resets the writable resources the payload leaves out.
      for (const id of this.#presentResources(entry, handler)) {
        const def = entry.definition.resources.get(id) as ResourceDefinition;
        if (writable(def) && !node.resources.has(id)) await handler.remove?.(id);
      }
    }
    for (const resource of node.resources.values()) {
      const def = entry.definition.resources.get(resource.id) as ResourceDefinition;
      let content = this.#content(resource);
      if (!replace && isMap(content)) content = await this.#merged(handler, resource.id, content);
      await this.#writeResource(handler, def, content, context);
    }
    for (const resource of node.resources.values()) this.#changed(entry.definition.id, node.id, resource.id);
  }

  async #writeResource(
    handler: InstanceHandler,
    def: ResourceDefinition,
    content: ResourceContent,
    context: WriteContext,
  ): Promise<void> {
    if (handler.write === undefined) throw new MethodNotAllowedError(`resource ${def.id} cannot be written`);
    await handler.write(def.id, content, context);
  }

  async #merged(
    handler: InstanceHandler,
    resourceId: number,
    update: ReadonlyMap<number, ResourceValue>,
  ): Promise<Map<number, ResourceValue>> {
    const current = await handler.read(resourceId);
    const merged = new Map<number, ResourceValue>(current !== undefined && isMap(current) ? current : []);
    for (const [id, value] of update) merged.set(id, value);
    return merged;
  }

  #content(node: ResourceNode): ResourceContent {
    return node.kind === 'resource' ? node.value : node.instances;
  }

  #checkWritable(def: ResourceDefinition, context: OperationContext): void {
    if (executable(def)) throw new MethodNotAllowedError(`resource ${def.id} is executable`);
    if (!context.bootstrap && !writable(def))
      throw new MethodNotAllowedError(`resource ${def.id} (${def.name}) is not writable`);
  }

  #checkResources(entry: ObjectEntry, resources: Iterable<ResourceNode>, context: OperationContext): void {
    for (const resource of resources) {
      const def = entry.definition.resources.get(resource.id);
      if (def === undefined)
        throw new NotFoundError(`object ${entry.definition.id} has no resource ${resource.id}`);
      this.#checkWritable(def, context);
      if (def.multiple !== (resource.kind === 'multipleResource')) {
        // A single value for a multiple resource (text formats) counts as instance 0 in no format we speak.
        throw new BadRequestError(`resource ${def.id} is ${def.multiple ? 'multiple' : 'single'}-instance`);
      }
      if (resource.kind === 'resource') checkResourceValue(def, resource.value);
      else for (const value of resource.instances.values()) checkResourceValue(def, value);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Execute, Create, Delete

  async execute(path: Lwm2mPath, args: string, context: OperationContext): Promise<void> {
    const [objectId, instanceId, resourceId, resourceInstanceId] = path;
    if (
      objectId === undefined ||
      instanceId === undefined ||
      resourceId === undefined ||
      resourceInstanceId !== undefined
    ) {
      throw new MethodNotAllowedError(`Execute on ${formatPath(path)}`);
    }
    const entry = this.#entry(objectId, context);
    const def = this.#resourceDefinition(entry, resourceId);
    if (!executable(def)) throw new MethodNotAllowedError(`resource ${formatPath(path)} is not executable`);
    const handler = this.#handler(entry, instanceId);
    this.#checkAccess(context, objectId, instanceId, AccessRight.EXECUTE);
    if (!this.#has(handler, resourceId) || handler.execute === undefined)
      throw new NotFoundError(`${formatPath(path)} not found`);
    await handler.execute(resourceId, args);
  }

  /** Create on an object; resolves with the new instance id. */
  async create(
    objectId: number,
    node: ObjectInstanceNode | undefined,
    context: OperationContext,
  ): Promise<number> {
    const entry = this.#entry(objectId, context);
    const creator = entry.creator;
    if (creator === undefined) throw new MethodNotAllowedError(`object ${objectId} does not allow Create`);
    this.#checkAccess(context, objectId, undefined, AccessRight.CREATE);
    const instanceId = node?.id ?? this.#freeInstanceId(entry);
    if (entry.instances.has(instanceId)) throw new BadRequestError(`/${objectId}/${instanceId} exists`);
    if (!entry.definition.multiple && entry.instances.size > 0)
      throw new BadRequestError(`object ${objectId} is single-instance`);
    const resources = node?.resources.values() ?? [];
    // Create may set any resource except executables (TS Core §5.4.5).
    this.#checkResources(entry, resources, { ssid: context.ssid, bootstrap: true });
    const handler = creator.create(instanceId);
    const present = new Set(handler.resourceIds());
    for (const def of entry.definition.resources.values()) {
      if (def.mandatory && writable(def) && !present.has(def.id) && node?.resources.has(def.id) !== true) {
        throw new BadRequestError(`Create of /${objectId} lacks mandatory resource ${def.id} (${def.name})`);
      }
    }
    this.#attach(entry, instanceId, handler);
    if (context.ssid !== undefined && !context.bootstrap)
      this.#access?.created(context.ssid, objectId, instanceId);
    this.#listener?.instancesChanged(objectId);
    const writeContext: WriteContext = { ssid: context.ssid, bootstrap: context.bootstrap };
    if (node !== undefined) await this.#writeInstance(entry, node, false, writeContext, false);
    return instanceId;
  }

  /** Delete (and Bootstrap-Delete on instances). */
  async delete(path: Lwm2mPath, context: OperationContext): Promise<void> {
    const [objectId, instanceId, resourceId] = path;
    if (objectId === undefined || instanceId === undefined || resourceId !== undefined) {
      throw new MethodNotAllowedError(`Delete on ${formatPath(path)}`);
    }
    const entry = this.#entry(objectId, context);
    if (!context.bootstrap && entry.creator === undefined) {
      throw new MethodNotAllowedError(`instances of object ${objectId} cannot be deleted`);
    }
    if (!entry.instances.has(instanceId)) throw new NotFoundError(`${formatPath(path)} not found`);
    this.#checkAccess(context, objectId, instanceId, AccessRight.DELETE);
    this.removeInstance(objectId, instanceId);
  }

  // -------------------------------------------------------------------------------------------
  // Discover

  /** The links a Discover on `path` lists (TS Core §5.4.2), before attributes. */
  discover(path: Lwm2mPath, context: OperationContext): TreeLink[] {
    const [objectId, instanceId, resourceId, resourceInstanceId] = path;
    if (objectId === undefined) {
      if (!context.bootstrap) throw new MethodNotAllowedError('Discover on the root path');
      return this.#bootstrapDiscover();
    }
    if (resourceInstanceId !== undefined) throw new MethodNotAllowedError('Discover on a resource instance');
    const entry = this.#entry(objectId, context);
    const links: TreeLink[] = [];
    if (instanceId === undefined) {
      links.push(
        entry.definition.version === '1.0'
          ? { path: [objectId] }
          : { path: [objectId], version: entry.definition.version },
      );
      for (const id of this.instanceIds(objectId)) {
        if (this.#allows(context, objectId, id, AccessRight.READ)) this.#instanceLinks(entry, id, links);
      }
      return links;
    }
    const handler = this.#handler(entry, instanceId);
    this.#checkAccess(context, objectId, instanceId, AccessRight.READ);
    if (resourceId === undefined) {
      this.#instanceLinks(entry, instanceId, links);
      return links;
    }
    this.#resourceDefinition(entry, resourceId);
    if (!this.#has(handler, resourceId)) throw new NotFoundError(`${formatPath(path)} not found`);
    links.push(this.#resourceLink(entry, instanceId, resourceId, handler));
    return links;
  }

  /** The resource ids Discover would list for an instance (for dim, read lazily). */
  #instanceLinks(entry: ObjectEntry, instanceId: number, links: TreeLink[]): void {
    const handler = this.#handler(entry, instanceId);
    links.push({ path: [entry.definition.id, instanceId] });
    for (const id of this.#presentResources(entry, handler))
      links.push(this.#resourceLink(entry, instanceId, id, handler));
  }

  #resourceLink(
    entry: ObjectEntry,
    instanceId: number,
    resourceId: number,
    handler: InstanceHandler,
  ): TreeLink {
    const def = entry.definition.resources.get(resourceId) as ResourceDefinition;
    const path: Lwm2mPath = [entry.definition.id, instanceId, resourceId];
    if (!def.multiple || !readable(def)) return { path };
    // dim needs the instance count; a handler with an async read cannot give it synchronously.
    const content = handler.read(resourceId);
    if (content instanceof Promise || content === undefined || !isMap(content)) return { path };
    return { path, dim: content.size };
  }

  #bootstrapDiscover(): TreeLink[] {
    const links: TreeLink[] = [];
    for (const id of this.objectIds()) {
      const entry = this.#objects.get(id) as ObjectEntry;
      links.push(
        entry.definition.version === '1.0'
          ? { path: [id] }
          : { path: [id], version: entry.definition.version },
      );
      for (const instanceId of this.instanceIds(id)) links.push({ path: [id, instanceId] });
    }
    return links;
  }

  // -------------------------------------------------------------------------------------------

  #entry(objectId: number, context: OperationContext): ObjectEntry {
    const entry = this.#objects.get(objectId);
    if (entry === undefined) throw new NotFoundError(`object ${objectId} not found`);
    if ((objectId === SECURITY || objectId === OSCORE) && !context.bootstrap && context.ssid !== undefined) {
      throw new UnauthorizedError(`object ${objectId} is only for the bootstrap server`);
    }
    return entry;
  }

  #allows(
    context: OperationContext,
    objectId: number,
    instanceId: number | undefined,
    right: number,
  ): boolean {
    if (this.#access === undefined || context.bootstrap || context.ssid === undefined) return true;
    return this.#access.allows(context.ssid, objectId, instanceId, right);
  }

  /** 4.01 when the Access Control object refuses this server the operation (TS Core 1.1 §7.3.2). */
  #checkAccess(
    context: OperationContext,
    objectId: number,
    instanceId: number | undefined,
    right: number,
  ): void {
    if (!this.#allows(context, objectId, instanceId, right)) {
      const target = instanceId === undefined ? `/${objectId}` : `/${objectId}/${instanceId}`;
      throw new UnauthorizedError(`server ${String(context.ssid)} has no access right ${right} on ${target}`);
    }
  }

  #handler(entry: ObjectEntry, instanceId: number): InstanceHandler {
    const handler = entry.instances.get(instanceId);
    if (handler === undefined) throw new NotFoundError(`/${entry.definition.id}/${instanceId} not found`);
    return handler;
  }

  #bootstrapOrExistingHandler(
    entry: ObjectEntry,
    instanceId: number,
    context: OperationContext,
  ): InstanceHandler {
    const handler = entry.instances.get(instanceId);
    if (handler !== undefined) return handler;
    if (!context.bootstrap) throw new NotFoundError(`/${entry.definition.id}/${instanceId} not found`);
    return this.#createHandler(entry, instanceId);
  }

  #createHandler(entry: ObjectEntry, instanceId: number): InstanceHandler {
    const creator = entry.creator;
    if (creator === undefined)
      throw new MethodNotAllowedError(`object ${entry.definition.id} does not allow Create`);
    const handler = creator.create(instanceId);
    this.#attach(entry, instanceId, handler);
    this.#listener?.instancesChanged(entry.definition.id);
    return handler;
  }

  #attach(entry: ObjectEntry, instanceId: number, handler: InstanceHandler): void {
    entry.instances.set(instanceId, handler);
    handler.attach?.(this, entry.definition.id, instanceId);
  }

  #resourceDefinition(entry: ObjectEntry, resourceId: number): ResourceDefinition {
    const def = entry.definition.resources.get(resourceId);
    if (def === undefined)
      throw new NotFoundError(`object ${entry.definition.id} has no resource ${resourceId}`);
    return def;
  }

  /** Resource ids the handler has that the definition knows, ascending. */
  #presentResources(entry: ObjectEntry, handler: InstanceHandler): number[] {
    const ids: number[] = [];
    for (const id of handler.resourceIds()) if (entry.definition.resources.has(id)) ids.push(id);
    return ids.sort((a, b) => a - b);
  }

  #has(handler: InstanceHandler, resourceId: number): boolean {
    for (const id of handler.resourceIds()) if (id === resourceId) return true;
    return false;
  }

  #freeInstanceId(entry: ObjectEntry): number {
    let id = 0;
    while (entry.instances.has(id)) id++;
    return id;
  }

  #changed(objectId: number, instanceId: number, resourceId: number): void {
    this.#listener?.resourceChanged(objectId, instanceId, resourceId);
  }
}
