/** Resource data types of the OMA object model (DDF `<Type>`); `none` is an executable's type. */
export type ResourceType =
  'string' | 'integer' | 'unsigned' | 'float' | 'boolean' | 'opaque' | 'time' | 'objlnk' | 'corelnk' | 'none';

/** DDF `<Operations>`: R, W, RW, E, or empty for a resource only the bootstrap interface touches. */
export type ResourceOperations = '' | 'R' | 'W' | 'RW' | 'E';

export interface ResourceDefinition {
  readonly id: number;
  readonly name: string;
  readonly operations: ResourceOperations;
  readonly multiple: boolean;
  readonly mandatory: boolean;
  readonly type: ResourceType;
  /** DDF `<RangeEnumeration>` as written, e.g. `0..100`, `1..255 bytes`. */
  readonly rangeEnumeration?: string;
  readonly units?: string;
  readonly description?: string;
}

export interface ObjectDefinition {
  readonly id: number;
  readonly name: string;
  /** `<ObjectVersion>`, `1.0` when the DDF omits it. */
  readonly version: string;
  /** `<LWM2MVersion>`, `1.0` when the DDF omits it. */
  readonly lwm2mVersion: string;
  readonly urn?: string;
  readonly multiple: boolean;
  readonly mandatory: boolean;
  readonly description?: string;
  readonly resources: ReadonlyMap<number, ResourceDefinition>;
}

/**
 * The object definitions a server or client knows. Codecs use it to type values in formats that
 * carry no types (TLV, text, opaque); an unknown object or resource is not an error there, its
 * values just stay untyped (opaque / string).
 */
export interface ObjectRegistry {
  /** The definition of an object; with `version`, that version only. */
  getObject(objectId: number, version?: string): ObjectDefinition | undefined;
  getResource(objectId: number, resourceId: number, version?: string): ResourceDefinition | undefined;
  /** Every object (the newest version of each id), by ascending id. */
  objects(): ObjectDefinition[];
}
