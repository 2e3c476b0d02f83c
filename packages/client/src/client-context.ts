import type { Clock, Logger } from '@lwm2m/core';
import type { Lwm2mCodec } from '@lwm2m/codecs';
import type { TransmissionParameters } from '@lwm2m/transport-coap';
import type { Lwm2mVersion } from './formats.js';
import type { ObjectTree } from './object-tree.js';
import type { ClientTransport } from './transport.js';

/** What every conversation of the client with a server (bootstrap or LwM2M) works with. */
export interface ClientContext {
  readonly endpointName: string;
  readonly version: Lwm2mVersion;
  readonly tree: ObjectTree;
  readonly codec: Lwm2mCodec;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly transport: ClientTransport;
  readonly transmission: Partial<TransmissionParameters> | undefined;
  /** Timeout of one request (register, update, send, bootstrap request) in ms. */
  readonly requestTimeout: number;
}
