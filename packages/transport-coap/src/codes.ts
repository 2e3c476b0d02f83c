/** CoAP message types (RFC 7252 §3). */
export const CoapType = {
  CON: 0,
  NON: 1,
  ACK: 2,
  RST: 3,
} as const;
export type CoapType = (typeof CoapType)[keyof typeof CoapType];

/** Builds a code from its class and detail: `code(2, 5)` is 2.05 Content. */
export function code(klass: number, detail: number): number {
  return (klass << 5) | detail;
}

/** Request method and response codes (RFC 7252 §12.1, RFC 7959, RFC 8132), as the single code byte. */
export const CoapCode = {
  EMPTY: 0,
  GET: 1,
  POST: 2,
  PUT: 3,
  DELETE: 4,
  FETCH: 5,
  PATCH: 6,
  IPATCH: 7,

  CREATED: 65, // 2.01
  DELETED: 66, // 2.02
  VALID: 67, // 2.03
  CHANGED: 68, // 2.04
  CONTENT: 69, // 2.05
  CONTINUE: 95, // 2.31

  BAD_REQUEST: 128, // 4.00
  UNAUTHORIZED: 129, // 4.01
  BAD_OPTION: 130, // 4.02
  FORBIDDEN: 131, // 4.03
  NOT_FOUND: 132, // 4.04
  METHOD_NOT_ALLOWED: 133, // 4.05
  NOT_ACCEPTABLE: 134, // 4.06
  REQUEST_ENTITY_INCOMPLETE: 136, // 4.08
  CONFLICT: 137, // 4.09
  PRECONDITION_FAILED: 140, // 4.12
  REQUEST_ENTITY_TOO_LARGE: 141, // 4.13
  UNSUPPORTED_CONTENT_FORMAT: 143, // 4.15
  UNPROCESSABLE_ENTITY: 150, // 4.22

  INTERNAL_SERVER_ERROR: 160, // 5.00
  NOT_IMPLEMENTED: 161, // 5.01
  BAD_GATEWAY: 162, // 5.02
  SERVICE_UNAVAILABLE: 163, // 5.03
  GATEWAY_TIMEOUT: 164, // 5.04
  PROXYING_NOT_SUPPORTED: 165, // 5.05
} as const;

export type CoapMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'FETCH' | 'PATCH' | 'iPATCH';

const METHOD_NAMES: readonly (CoapMethod | undefined)[] = [
  undefined,
  'GET',
  'POST',
  'PUT',
  'DELETE',
  'FETCH',
  'PATCH',
  'iPATCH',
];

const METHOD_CODES: Readonly<Record<CoapMethod, number>> = {
  GET: 1,
  POST: 2,
  PUT: 3,
  DELETE: 4,
  FETCH: 5,
  PATCH: 6,
  iPATCH: 7,
};

/** The method name of a request code, or undefined for codes that are not a known method. */
export function methodName(codeValue: number): CoapMethod | undefined {
  return METHOD_NAMES[codeValue];
}

export function methodCode(method: CoapMethod): number {
  return METHOD_CODES[method];
}

/** The request code of a method name; undefined for anything that is not one (case-sensitive, `iPATCH`). */
export function parseMethod(method: string): number | undefined {
  return Object.hasOwn(METHOD_CODES, method) ? METHOD_CODES[method as CoapMethod] : undefined;
}

/** `69` → `"2.05"`. */
export function formatCode(codeValue: number): string {
  const detail = codeValue & 0x1f;
  return `${codeValue >> 5}.${detail < 10 ? '0' : ''}${detail}`;
}

/** `"2.05"` → `69`; undefined when the text is not `c.dd` with c ≤ 7 and dd ≤ 31. */
export function parseCode(text: string): number | undefined {
  const match = /^([0-7])\.(\d\d)$/.exec(text);
  if (match === null) return undefined;
  const detail = Number(match[2]);
  if (detail > 31) return undefined;
  return code(Number(match[1]), detail);
}

export function isEmptyCode(codeValue: number): boolean {
  return codeValue === 0;
}

export function isRequestCode(codeValue: number): boolean {
  return codeValue >= 1 && codeValue <= 31;
}

export function isResponseCode(codeValue: number): boolean {
  const klass = codeValue >> 5;
  return klass >= 2 && klass <= 5;
}

export function isSuccessCode(codeValue: number): boolean {
  return codeValue >> 5 === 2;
}
