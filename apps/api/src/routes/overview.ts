import type { ApiDeps } from '../deps.js';
import { buildSyncOverview } from '../overview.js';
import { type ApiRoute, defineRoute } from '../route.js';
import { noQuerySchema, orgParamsSchema, syncOverviewSchema } from '../schemas.js';

export function overviewRoutes(deps: ApiDeps): ApiRoute[] {
  return [
    defineRoute({
      method: 'get',
      path: '/orgs/{orgId}/sync-overview',
      operationId: 'getSyncOverview',
      summary:
        'Status at a glance: health, current/last/last successful run, open failure, next run, secret expiry, groups',
      tag: 'syncs',
      params: orgParamsSchema,
      query: noQuerySchema,
      responses: { 200: { description: 'The overview', schema: syncOverviewSchema } },
      async handle({ params }) {
        return {
          status: 200,
          body: await buildSyncOverview(deps.stores, params.orgId, deps.clock(), deps.scheduler),
        };
      },
    }),
  ];
}
