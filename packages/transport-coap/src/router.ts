import type { CoapMethod } from './codes.js';
import { CoapCode } from './codes.js';
import { splitPath } from './options.js';
import type { IncomingRequest, OutgoingResponse, RequestHandler } from './types.js';

interface Route {
  readonly prefix: readonly string[];
  readonly methods: readonly CoapMethod[] | undefined;
  readonly handler: RequestHandler;
}

/** Routes requests to handlers by Uri-Path prefix; the longest matching prefix wins. */
export interface CoapRouter {
  /** `prefix` is `/rd`, `rd/` or `['rd']`; `/` matches everything. */
  route(prefix: string | readonly string[], handler: RequestHandler, methods?: readonly CoapMethod[]): this;
  /** The handler to give the endpoint. */
  readonly handle: RequestHandler;
}

const NOT_FOUND: OutgoingResponse = { code: CoapCode.NOT_FOUND };
const METHOD_NOT_ALLOWED: OutgoingResponse = { code: CoapCode.METHOD_NOT_ALLOWED };

export function createRouter(): CoapRouter {
  const routes: Route[] = [];

  const handle = (request: IncomingRequest): OutgoingResponse | Promise<OutgoingResponse> => {
    let pathMatched = false;
    for (const route of routes) {
      if (!isPrefix(route.prefix, request.path)) continue;
      pathMatched = true;
      if (route.methods === undefined || route.methods.includes(request.method))
        return route.handler(request);
    }
    return pathMatched ? METHOD_NOT_ALLOWED : NOT_FOUND;
  };

  const router: CoapRouter = {
    route(prefix, handler, methods) {
      const segments = splitPath(prefix).filter((segment) => segment !== '');
      routes.push({ prefix: segments, methods, handler });
      // Longest prefix first; equal lengths keep registration order (sort is stable).
      routes.sort((a, b) => b.prefix.length - a.prefix.length);
      return router;
    },
    handle,
  };
  return router;
}

function isPrefix(prefix: readonly string[], path: readonly string[]): boolean {
  if (prefix.length > path.length) return false;
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== path[i]) return false;
  return true;
}
