export {
  type ApiEnv,
  type ApiRole,
  apiConfigFromEnv,
  entraAccessFromEnv,
  limitSettingsFromEnv,
  redisReadiness,
  type StartApiOptions,
  startApiRole,
} from './api-role.js';
export { createApiApp } from './app.js';
export { ANY_ORG, type AuthClaims, authClaimsSchema } from './auth.js';
export type { ApiConfig, ApiDeps, ApiStores, EntraAccess, ReadinessStatus } from './deps.js';
export { describeApi } from './describe.js';
export { ApiError, type ApiErrorCode } from './errors.js';
export {
  type ApiLimits,
  createApiLimits,
  DEFAULT_LIMIT_SETTINGS,
  type LimitSettings,
  type RateLimitName,
} from './limits.js';
export { API_BASE_PATH, buildOpenApiDocument, type OpenApiDocument } from './openapi.js';
export type { ApiRoute } from './route.js';
export { apiRoutes } from './routes/index.js';
export { type SyncOverview, syncOverviewSchema } from './schemas.js';
export { DEFAULT_STALE_RUN_AFTER_MS, requestSync } from './sync-now.js';
