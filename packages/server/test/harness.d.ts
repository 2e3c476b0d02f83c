import type { PeerAddress } from '@lwm2m/core';
import type { CoapEndpoint, CoapResponse, OutgoingRequest, RequestHandler } from '@lwm2m/transport-coap';
import type { Clock } from '../src/clock.js';
import type { Lwm2mServer, ServerEvents, ServerOptions } from '../src/server.js';
/** A clock tests move by hand; timers fire in due order inside `advance`. */
export interface ManualClock extends Clock {
    advance(ms: number): void;
    readonly pending: number;
}
export declare function createManualClock(start?: number): ManualClock;
export interface Harness {
    readonly server: Lwm2mServer;
    /** The client side: a CoAP endpoint at 10.0.0.2:56830. */
    readonly client: CoapEndpoint;
    readonly serverPeer: PeerAddress;
    send(request: Omit<OutgoingRequest, 'peer'>): Promise<CoapResponse>;
    close(): Promise<void>;
}
export declare function createHarness(options?: Omit<ServerOptions, 'sockets' | 'endpoints'>, clientHandler?: RequestHandler): Promise<Harness>;
/** Records server events in order. */
export declare function recordEvents(server: Lwm2mServer): {
    name: keyof ServerEvents;
    args: unknown[];
}[];
export declare function codeText(code: number): string;
/** Waits until `check` passes (or throws the last failure after `ms`). */
export declare function eventually(check: () => void | Promise<void>, ms?: number): Promise<void>;
//# sourceMappingURL=harness.d.ts.map