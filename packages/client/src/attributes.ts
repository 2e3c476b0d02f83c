import { formatPath, parsePath } from '@lwm2m/core';
import type { Lwm2mPath, ResourceType } from '@lwm2m/core';
import type { NotificationAttributes, AttributeChanges } from '@lwm2m/codecs';
import { applyAttributeChanges, attributeRuleViolation } from '@lwm2m/codecs';
import { BadRequestError } from './errors.js';
import type { Lwm2mVersion } from './formats.js';

type MutableAttributes = { -readonly [K in keyof NotificationAttributes]: NotificationAttributes[K] };

/** Attribute names each LwM2M version knows (TS Core 1.0 §5.1.2, 1.1 adds epmin/epmax, 1.2 edge/con/hqmax). */
const SINCE_1_1 = new Set(['epmin', 'epmax']);
const SINCE_1_2 = new Set(['edge', 'con', 'hqmax']);
const NUMERIC_ONLY = new Set(['gt', 'lt', 'st']);

function isNumericType(type: ResourceType): boolean {
  return type === 'integer' || type === 'unsigned' || type === 'float';
}

/**
 * Notification attributes written by one server (Write-Attributes), by path. Effective attributes
 * inherit object < instance < resource < resource instance, on top of the server's default
 * pmin/pmax (1/x/2, 1/x/3).
 */
export class AttributeStore {
  /** Made on the first write: most servers never write attributes, and a client keeps one store per server. */
  #byPath: Map<string, NotificationAttributes> | undefined;

  /** The attributes written at exactly this path. */
  own(path: Lwm2mPath): NotificationAttributes | undefined {
    return this.#byPath?.get(formatPath(path));
  }

  /** Attributes that apply at `path`: the deepest level wins for each name. */
  effective(path: Lwm2mPath, defaults: NotificationAttributes): NotificationAttributes {
    const out: MutableAttributes = { ...defaults };
    const byPath = this.#byPath;
    if (byPath === undefined) return out;
    for (let depth = 1; depth <= path.length; depth++) {
      const own = byPath.get(formatPath(path.slice(0, depth) as unknown as Lwm2mPath));
      if (own !== undefined) Object.assign(out, own);
    }
    return out;
  }

  /** Inherited attributes without server defaults (what Discover on a resource shows). */
  inherited(path: Lwm2mPath): NotificationAttributes {
    return this.effective(path, {});
  }

  /**
   * Applies a Write-Attributes request. `resourceType` is the type when `path` names a resource
   * (gt/lt/st need a numeric one). Throws a 4.00 on anything the spec refuses.
   */
  write(
    path: Lwm2mPath,
    changes: AttributeChanges,
    version: Lwm2mVersion,
    resourceType: ResourceType | undefined,
  ): void {
    for (const name of [...Object.keys(changes.set), ...changes.unset]) {
      if (SINCE_1_1.has(name) && version === '1.0')
        throw new BadRequestError(`attribute ${name} needs LwM2M 1.1`);
      if (SINCE_1_2.has(name) && version !== '1.2')
        throw new BadRequestError(`attribute ${name} needs LwM2M 1.2`);
      if (NUMERIC_ONLY.has(name) && name in changes.set) {
        if (path.length < 3 || resourceType === undefined || !isNumericType(resourceType)) {
          throw new BadRequestError(`attribute ${name} applies to numeric resources only`);
        }
      }
      if (name === 'edge' && name in changes.set && (path.length < 3 || resourceType !== 'boolean')) {
        throw new BadRequestError('attribute edge applies to boolean resources only');
      }
    }
    const key = formatPath(path);
    const next = applyAttributeChanges(this.#byPath?.get(key) ?? {}, changes);
    const violation = attributeRuleViolation(next);
    if (violation !== undefined) throw new BadRequestError(violation);
    if (Object.keys(next).length === 0) this.#byPath?.delete(key);
    else (this.#byPath ??= new Map()).set(key, next);
  }

  /** Drops the attributes at and below a path (its instance was deleted). */
  removeBelow(path: Lwm2mPath): void {
    const byPath = this.#byPath;
    if (byPath === undefined) return;
    for (const key of [...byPath.keys()]) {
      const p = parsePath(key);
      if (p.length >= path.length && path.every((id, i) => p[i] === id)) byPath.delete(key);
    }
  }
}
