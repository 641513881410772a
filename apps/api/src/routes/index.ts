import type { ApiDeps } from '../deps.js';
import type { ApiRoute } from '../route.js';
import { certificateRoutes } from './certificates.js';
import { directoryRoutes } from './directory.js';
import { entraRoutes } from './entra.js';
import { integrationRoutes } from './integration.js';
import { notificationRoutes } from './notifications.js';
import { orgRoutes } from './orgs.js';
import { overviewRoutes } from './overview.js';
import { syncChangeRoutes } from './sync-changes.js';
import { syncRoutes } from './syncs.js';

/** Every /api/v1 route: mounted by the app and described by the OpenAPI document. */
export function apiRoutes(deps: ApiDeps): ApiRoute[] {
  return [
    ...integrationRoutes(deps),
    ...certificateRoutes(deps),
    ...syncRoutes(deps),
    ...syncChangeRoutes(deps),
    ...overviewRoutes(deps),
    ...notificationRoutes(deps),
    ...directoryRoutes(deps),
    ...orgRoutes(deps),
    ...entraRoutes(deps),
  ];
}
