import type { BootstrapFailedEvent, BootstrapFinishEvent, BootstrapServer } from '../src/index.js';

/** Resolves with the next bootstrap-finish; rejects at once, with the details, on a bootstrap-failed. */
export function nextFinish(server: BootstrapServer): Promise<[BootstrapFinishEvent]> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      server.off('bootstrap-finish', onFinish);
      server.off('bootstrap-failed', onFailed);
    };
    const onFinish = (event: BootstrapFinishEvent): void => {
      done();
      resolve([event]);
    };
    const onFailed = (event: BootstrapFailedEvent): void => {
      done();
      reject(
        new Error(
          `bootstrap failed at ${event.step} ${String(event.path)} (${event.reason}): ${event.error.message}`,
        ),
      );
    };
    server.on('bootstrap-finish', onFinish);
    server.on('bootstrap-failed', onFailed);
  });
}
