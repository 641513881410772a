import { runChangesPageSchema } from '@pinnacle/domain';
import { RunChangesCursorError } from '@pinnacle/redis-store';
import type { ApiDeps } from '../deps.js';
import { notFound, validationFailed } from '../errors.js';
import { type ApiRoute, defineRoute } from '../route.js';
import { runChangesQuerySchema, runParamsSchema } from '../schemas.js';

export function syncChangeRoutes(deps: ApiDeps): ApiRoute[] {
  const { runs, runChanges } = deps.stores;
  return [
    defineRoute({
      method: 'get',
      path: '/orgs/{orgId}/syncs/{runId}/changes',
      operationId: 'listSyncChanges',
      summary:
        'The users a run added, removed and changed; for a run stopped by the mass-removal guard, those it would have',
      tag: 'syncs',
      params: runParamsSchema,
      query: runChangesQuerySchema,
      responses: { 200: { description: 'A page of changes', schema: runChangesPageSchema } },
      async handle({ params, query }) {
        const run = await runs.get(params.orgId, params.runId);
        if (!run) throw notFound();
        try {
          const page = await runChanges.list(params.orgId, params.runId, {
            change: query.change,
            cursor: query.cursor,
            limit: query.limit,
          });
          return { status: 200, body: page };
        } catch (error) {
          if (error instanceof RunChangesCursorError) {
            throw validationFailed([{ path: 'cursor', message: error.message }]);
          }
          throw error;
        }
      },
    }),
  ];
}
