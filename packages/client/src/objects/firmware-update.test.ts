import { EventEmitter } from 'node:events';
import { createSilentLogger, systemClock } from '@lwm2m/core';
import type { Block1Progress, CoapEndpointEvents } from '@lwm2m/transport-coap';
import { FirmwareState, UpdateResult } from '../firmware/update-result.js';
import type { ClientTransport } from '../transport.js';
import { FirmwareUpdateInstance } from './firmware-update.js';
import type { FirmwareHost } from './firmware-update.js';

const host = {
  clock: systemClock,
  logger: createSilentLogger(),
  transport: {} as ClientTransport,
  transmission: undefined,
  securityFor: () => undefined,
} as unknown as FirmwareHost;

function block(num: number, fields: Partial<Block1Progress> = {}): Block1Progress {
  return {
    peer: { address: '127.0.0.1', port: 5683 },
    identity: undefined,
    method: 'PUT',
    path: ['5', '0', '0'],
    num,
    size: 1024,
    more: true,
    received: (num + 1) * 1024,
    size1: undefined,
    tooLarge: false,
    ...fields,
  };
}

describe('FirmwareUpdateInstance.watch: push progress from the endpoint block1 events', () => {
  let firmware: FirmwareUpdateInstance;
  let stop: (() => void) | undefined;
  afterEach(() => {
    stop?.();
    firmware.detach(); // clears the push stall timer
  });

  function watched(): { endpoint: EventEmitter<CoapEndpointEvents>; progress: number[] } {
    firmware = new FirmwareUpdateInstance(host, { apply: () => undefined });
    const endpoint = new EventEmitter<CoapEndpointEvents>();
    stop = firmware.watch(endpoint);
    const progress: number[] = [];
    firmware.on('progress', (event) => progress.push(event.received));
    return { endpoint, progress };
  }

  it('goes Downloading at the first Package block and reports each block once', () => {
    const { endpoint, progress } = watched();
    endpoint.emit('block1', block(1)); // a block without its start is not a push
    expect(firmware.state).toBe(FirmwareState.IDLE);
    endpoint.emit('block1', block(0, { size1: 3000 }));
    expect(firmware.state).toBe(FirmwareState.DOWNLOADING);
    endpoint.emit('block1', block(1));
    endpoint.emit('block1', block(1)); // the same total again is not news
    endpoint.emit('block1', { ...block(0), path: ['5', '0', '1'] }); // not the Package
    endpoint.emit('block1', { ...block(0), path: ['3', '0', '0'] });
    expect(progress).toEqual([1024, 2048]);
  });

  it('a block the endpoint refused as too large ends the push with Update Result 2', () => {
    const { endpoint, progress } = watched();
    endpoint.emit('block1', block(0));
    endpoint.emit('block1', block(1, { tooLarge: true, received: 1024 }));
    expect([firmware.state, firmware.result]).toEqual([FirmwareState.IDLE, UpdateResult.NOT_ENOUGH_FLASH]);
    expect(progress).toEqual([1024]);
  });

  it('a body announced too large never starts one; stop() ends the watch', () => {
    const { endpoint } = watched();
    endpoint.emit('block1', block(0, { size1: 1e9, tooLarge: true, received: 0 }));
    expect(firmware.state).toBe(FirmwareState.IDLE);
    stop!();
    stop = undefined;
    endpoint.emit('block1', block(0));
    expect(firmware.state).toBe(FirmwareState.IDLE);
    expect(endpoint.listenerCount('block1')).toBe(0);
  });
});
