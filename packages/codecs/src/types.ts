import type {
  Lwm2mNode,
  Lwm2mPath,
  ObjectRegistry,
  PathLevel,
  ResourceType,
  ResourceValue,
} from '@lwm2m/core';

/** Bounds every decoder honours, so hostile input cannot make it allocate without limit. */
export interface DecodeLimits {
  /** Most resource values (records, TLVs, map entries) one payload may hold. */
  readonly maxEntries: number;
  /** Deepest nesting (TLV, CBOR) a payload may have. */
  readonly maxDepth: number;
  /** Largest payload accepted, in bytes. */
  readonly maxPayloadBytes: number;
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = {
  maxEntries: 10_000,
  maxDepth: 16,
  maxPayloadBytes: 4 * 1024 * 1024,
};

export interface CodecContext {
  readonly registry: ObjectRegistry;
  readonly limits: DecodeLimits;
  /**
   * The current time in milliseconds since the epoch (as `Date.now`), against which relative SenML
   * times resolve (RFC 8428 §4.5.3: a time below 2^28 s is relative to now). `Date.now` when absent.
   */
  readonly now?: () => number;
}

/** One resource or resource-instance value with its full path: what flat formats (SenML, JSON) carry. */
export interface FlatEntry {
  readonly path: Lwm2mPath;
  readonly type: ResourceType;
  readonly value: ResourceValue;
  /** Absolute time in seconds since the Unix epoch (SenML bt+t), when the payload carries one. */
  readonly time?: number;
}

/** Nodes by formatted path (`/3/0/1`), for composite operations and Send. */
export type CompositeNodes = ReadonlyMap<string, Lwm2mNode>;

/** The values of one instant (SenML records sharing a time), as in historical notifications and Send. */
export interface TimestampedNodes {
  /** Seconds since the Unix epoch; absent when the records carry no time. */
  readonly time?: number;
  readonly nodes: CompositeNodes;
}

/** A format that carries one node at one path (every format does). */
export interface NodeFormat {
  readonly id: number;
  /** Path levels this format can carry as the target of a single-path operation. */
  readonly levels: ReadonlySet<PathLevel>;
  encode(node: Lwm2mNode, path: Lwm2mPath, context: CodecContext): Uint8Array;
  decode(payload: Uint8Array, path: Lwm2mPath, context: CodecContext): Lwm2mNode;
}

/** A format that also carries several paths at once (SenML JSON/CBOR, LwM2M CBOR). */
export interface CompositeFormat extends NodeFormat {
  encodeComposite(nodes: CompositeNodes, context: CodecContext): Uint8Array;
  /**
   * With `paths` (a Read-Composite answer), values are grouped under the requested paths; without
   * (Send, Observe-Composite from an unknown request), each value becomes its own resource or
   * resource-instance node.
   */
  decodeComposite(
    payload: Uint8Array,
    context: CodecContext,
    paths?: readonly Lwm2mPath[],
  ): Map<string, Lwm2mNode>;
  /** The request body of Read-Composite / Observe-Composite: a list of paths. */
  encodePaths(paths: readonly Lwm2mPath[]): Uint8Array;
  decodePaths(payload: Uint8Array, context: CodecContext): Lwm2mPath[];
}

/** A format that carries values at several instants (SenML JSON/CBOR, LwM2M JSON). */
export interface TimestampedFormat extends NodeFormat {
  encodeTimestamped(data: readonly TimestampedNodes[], path: Lwm2mPath, context: CodecContext): Uint8Array;
  decodeTimestamped(payload: Uint8Array, path: Lwm2mPath, context: CodecContext): TimestampedNodes[];
}
