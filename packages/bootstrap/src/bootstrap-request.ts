import { canonicalContentFormat } from '@lwm2m/core';
import { WRITE_FORMATS } from './config-validation.js';

/** What a client's `POST /bs?ep=&pct=` asks for. */
export interface BootstrapRequestParams {
  readonly endpoint: string;
  /** `pct` (1.1+): the content format the client prefers, canonical number (1542 → 11542). */
  readonly preferredContentFormat: number | undefined;
}

const MAX_ENDPOINT_LENGTH = 1024;

/**
 * Reads the query of a Bootstrap-Request (TS Core §5.2.7.1, Transport §6.4.1). Returns a message
 * for people when it is malformed: no `ep` or an empty one, a repeated parameter, or a `pct` that
 * is not a content format able to carry object instances. Other parameters are ignored.
 */
export function parseBootstrapQuery(query: readonly string[]): BootstrapRequestParams | string {
  let endpoint: string | undefined;
  let pct: number | undefined;
  for (const item of query) {
    const eq = item.indexOf('=');
    const name = eq < 0 ? item : item.slice(0, eq);
    const value = eq < 0 ? undefined : item.slice(eq + 1);
    if (name === 'ep') {
      if (endpoint !== undefined) return 'ep given twice';
      if (value === undefined || value.length === 0) return 'ep is empty';
      if (value.length > MAX_ENDPOINT_LENGTH) return `ep longer than ${MAX_ENDPOINT_LENGTH} characters`;
      if (/[\u0000-\u001f\u007f]/.test(value)) return 'ep holds control characters';
      endpoint = value;
    } else if (name === 'pct') {
      if (pct !== undefined) return 'pct given twice';
      if (value === undefined || !/^(0|[1-9][0-9]{0,4})$/.test(value) || Number(value) > 65535)
        return 'pct is not a content format number';
      pct = canonicalContentFormat(Number(value));
      if (!WRITE_FORMATS.has(pct)) return `pct ${value} cannot carry object instances`;
    }
  }
  if (endpoint === undefined) return 'ep is missing';
  return { endpoint, preferredContentFormat: pct };
}
