import { InvalidPathError } from './errors.js';

/**
 * An LwM2M path as a tuple of ids, shortest first: `[]` is the root `/`, `[3]` an object,
 * `[3, 0]` an object instance, `[3, 0, 1]` a resource, `[3, 0, 6, 1]` a resource instance.
 */
export type RootPath = readonly [];
export type ObjectPath = readonly [objectId: number];
export type ObjectInstancePath = readonly [objectId: number, instanceId: number];
export type ResourcePath = readonly [objectId: number, instanceId: number, resourceId: number];
export type ResourceInstancePath = readonly [
  objectId: number,
  instanceId: number,
  resourceId: number,
  resourceInstanceId: number,
];
export type Lwm2mPath = RootPath | ObjectPath | ObjectInstancePath | ResourcePath | ResourceInstancePath;

export type PathLevel = 'root' | 'object' | 'objectInstance' | 'resource' | 'resourceInstance';

const LEVELS: readonly PathLevel[] = ['root', 'object', 'objectInstance', 'resource', 'resourceInstance'];

/** Object ids, instance ids and resource ids are 16-bit; 65535 is reserved (MAX_ID). */
export const MAX_ID = 65534;

function isValidId(id: unknown): id is number {
  return typeof id === 'number' && Number.isInteger(id) && id >= 0 && id <= MAX_ID;
}

/** True for a tuple of 0 to 4 ids in range. */
export function isLwm2mPath(value: unknown): value is Lwm2mPath {
  return Array.isArray(value) && value.length <= 4 && value.every(isValidId);
}

/**
 * Parses `/3/0/1`. A trailing slash is allowed (`/3/`), the leading one is not optional, and ids
 * must be decimal without leading zeros or signs.
 */
export function parsePath(text: string): Lwm2mPath {
  if (typeof text !== 'string' || text.length === 0 || text.charCodeAt(0) !== 0x2f) {
    throw new InvalidPathError(`path must start with "/": ${JSON.stringify(text)}`);
  }
  // Scanned by hand, without split or a regex per segment: composite payloads parse a path per
  // value. Any malformed input goes to pathError, which words the error.
  const end = text.length > 1 && text.charCodeAt(text.length - 1) === 0x2f ? text.length - 1 : text.length;
  if (end === 1) return [];
  const ids: number[] = [];
  let pos = 1;
  for (;;) {
    const start = pos;
    let id = 0;
    while (pos < end) {
      const digit = text.charCodeAt(pos) - 0x30;
      if (digit < 0 || digit > 9) break;
      id = id * 10 + digit;
      pos++;
    }
    const digits = pos - start;
    // As /^(0|[1-9][0-9]{0,4})$/ per segment, then the range and the depth.
    if (
      digits === 0 ||
      digits > 5 ||
      (digits > 1 && text.charCodeAt(start) === 0x30) ||
      (pos < end && text.charCodeAt(pos) !== 0x2f) ||
      id > MAX_ID ||
      ids.length === 4
    ) {
      throw pathError(text);
    }
    ids.push(id);
    if (pos === end) return ids as unknown as Lwm2mPath;
    pos++;
  }
}

/** The error for a path {@link parsePath} refused: the depth first, then the first bad segment. */
function pathError(text: string): InvalidPathError {
  const body = text.length > 1 && text.endsWith('/') ? text.slice(1, -1) : text.slice(1);
  const parts = body.split('/');
  if (parts.length > 4) return new InvalidPathError(`path has more than 4 levels: ${JSON.stringify(text)}`);
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,4})$/.test(part)) {
      return new InvalidPathError(`invalid id ${JSON.stringify(part)} in path ${JSON.stringify(text)}`);
    }
    const id = Number(part);
    if (id > MAX_ID) return new InvalidPathError(`id ${id} out of range in path ${JSON.stringify(text)}`);
  }
  return new InvalidPathError(`invalid path ${JSON.stringify(text)}`);
}

/** Checks a tuple built by hand and returns it typed; throws {@link InvalidPathError}. */
export function toPath(ids: readonly number[]): Lwm2mPath {
  if (!isLwm2mPath(ids)) throw new InvalidPathError(`invalid path ${JSON.stringify(ids)}`);
  return ids;
}

export function formatPath(path: Lwm2mPath): string {
  // Spelled out per length: join() costs more, and payload decoding formats a path per value.
  switch (path.length) {
    case 0:
      return '/';
    case 1:
      return `/${path[0]}`;
    case 2:
      return `/${path[0]}/${path[1]}`;
    case 3:
      return `/${path[0]}/${path[1]}/${path[2]}`;
    case 4:
      return `/${path[0]}/${path[1]}/${path[2]}/${path[3]}`;
    default:
      // Only a tuple built around the types gets here.
      return '/' + (path as readonly number[]).join('/');
  }
}

export function pathLevel(path: Lwm2mPath): PathLevel {
  return LEVELS[path.length] as PathLevel;
}

export const isRootPath = (p: Lwm2mPath): p is RootPath => p.length === 0;
export const isObjectPath = (p: Lwm2mPath): p is ObjectPath => p.length === 1;
export const isObjectInstancePath = (p: Lwm2mPath): p is ObjectInstancePath => p.length === 2;
export const isResourcePath = (p: Lwm2mPath): p is ResourcePath => p.length === 3;
export const isResourceInstancePath = (p: Lwm2mPath): p is ResourceInstancePath => p.length === 4;

/** Orders paths depth-first: `/3` < `/3/0` < `/3/0/1` < `/3/1` < `/4`. */
export function comparePaths(a: Lwm2mPath, b: Lwm2mPath): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

export function pathsEqual(a: Lwm2mPath, b: Lwm2mPath): boolean {
  return a.length === b.length && comparePaths(a, b) === 0;
}

/** True when `path` is `ancestor` or lies below it. */
export function isPathPrefix(ancestor: Lwm2mPath, path: Lwm2mPath): boolean {
  if (ancestor.length > path.length) return false;
  for (let i = 0; i < ancestor.length; i++) if (ancestor[i] !== path[i]) return false;
  return true;
}

/** The path one level up; the root has no parent. */
export function parentPath(path: Lwm2mPath): Lwm2mPath | undefined {
  return path.length === 0 ? undefined : (path.slice(0, -1) as unknown as Lwm2mPath);
}

/** The path one level down. */
export function childPath(path: Lwm2mPath, id: number): Lwm2mPath {
  if (path.length >= 4)
    throw new InvalidPathError(`a resource instance path has no children: ${formatPath(path)}`);
  return toPath([...path, id]);
}
