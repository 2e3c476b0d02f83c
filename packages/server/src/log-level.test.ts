import { createSilentLogger } from '@lwm2m/core';
import type { Logger } from '@lwm2m/core';
import { levelCheck } from './log-level.js';

describe('levelCheck', () => {
  it('is off without a logger', () => {
    expect(levelCheck(undefined, 'debug')()).toBe(false);
  });

  it('asks a pino-style logger each time', () => {
    let level = 'info';
    const order = ['trace', 'debug', 'info'];
    const logger = {
      ...createSilentLogger(),
      isLevelEnabled(this: unknown, wanted: string) {
        return order.indexOf(wanted) >= order.indexOf(level);
      },
    } as Logger;
    const debug = levelCheck(logger, 'debug');
    expect(debug()).toBe(false);
    level = 'debug';
    expect(debug()).toBe(true);
  });

  it('is on for a logger that cannot tell', () => {
    expect(levelCheck(createSilentLogger(), 'debug')()).toBe(true);
  });
});
