import { Lwm2mError } from '@lwm2m/core';

/** A bootstrap configuration that cannot be used; `problems` lists every bad field. */
export class BootstrapConfigError extends Lwm2mError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[], context?: string) {
    const where = context === undefined ? '' : `${context}: `;
    super('ERR_BOOTSTRAP_CONFIG', `${where}invalid bootstrap configuration: ${problems.join('; ')}`);
    this.problems = problems;
  }
}

/** A bootstrap session step the client refused or did not answer. */
export class BootstrapSessionError extends Lwm2mError {
  /** The CoAP response code the client answered with, when it answered. */
  readonly responseCode: number | undefined;

  constructor(message: string, responseCode?: number, options?: { cause?: unknown }) {
    super('ERR_BOOTSTRAP_SESSION', message, options);
    this.responseCode = responseCode;
  }
}
