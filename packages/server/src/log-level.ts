import type { Logger } from '@lwm2m/core';

/**
 * Whether `level` is on for a logger, so hot paths build no log object for a level that is off.
 * No logger given (the silent default): never. A pino-style logger: asked each time, since its
 * level may change at run time. Any other logger: always.
 */
export function levelCheck(logger: Logger | undefined, level: 'trace' | 'debug' | 'info'): () => boolean {
  if (logger === undefined) return () => false;
  const probe = (logger as { isLevelEnabled?: unknown }).isLevelEnabled;
  if (typeof probe !== 'function') return () => true;
  return () => (probe as (this: Logger, level: string) => boolean).call(logger, level) === true;
}
