import type { ApiDeps } from './deps.js';
import { buildOpenApiDocument, type OpenApiDocument } from './openapi.js';
import { apiRoutes } from './routes/index.js';

/**
 * A stand-in for every dependency: property reads give further stand-ins
 * (routes pick their stores out of `deps` when they are defined), and any
 * call throws, since describing the routes must never run one.
 */
function unusable(path: string): unknown {
  const fail = () => {
    throw new Error(`${path} was called while only describing the API`);
  };
  return new Proxy(fail, {
    get: (_target, key) => unusable(`${path}.${String(key)}`),
    apply: fail,
  });
}

/**
 * The OpenAPI document of the API without starting it: the same routes and
 * schemas the app serves at /openapi.json. The console generates its typed
 * client from this, so a contract change breaks the console's typecheck.
 */
export function describeApi(): OpenApiDocument {
  return buildOpenApiDocument(apiRoutes(unusable('deps') as ApiDeps));
}
