import type { Logger } from '@lwm2m/core';

/**
 * On the first SIGINT or SIGTERM: log, run `close`, exit 0 (1 when closing failed). Later signals
 * are ignored, so a second Ctrl-C does not cut a deregistration or a Redis flush short.
 */
export function stopOnSignals(logger: Logger, close: () => Promise<unknown>): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'close failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
