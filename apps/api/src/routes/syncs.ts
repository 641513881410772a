import { runSchema, syncAcceptedSchema, syncRequestSchema } from '@pinnacle/domain';
import { recordAudit } from '../audit.js';
import type { ApiDeps } from '../deps.js';
import { notFound } from '../errors.js';
import { type ApiRoute, defineRoute } from '../route.js';
import {
  noQuerySchema,
  orgParamsSchema,
  pageQuerySchema,
  runListSchema,
  runParamsSchema,
} from '../schemas.js';
import { requestSync } from '../sync-now.js';

const tag = 'syncs';

export function syncRoutes(deps: ApiDeps): ApiRoute[] {
  const { runs } = deps.stores;
  return [
    defineRoute({
      method: 'post',
      path: '/orgs/{orgId}/syncs',
      operationId: 'syncNow',
      summary: 'Sync Now: queues a run, or returns the run already queued or running',
      tag,
      params: orgParamsSchema,
      query: noQuerySchema,
      body: { schema: syncRequestSchema, required: false },
      responses: { 202: { description: 'Accepted', schema: syncAcceptedSchema } },
      async handle({ params, body, auth }) {
        const accepted = await requestSync(
          {
            runs,
            syncQueue: deps.syncQueue,
            config: deps.config,
            clock: deps.clock,
            logger: deps.logger,
          },
          params.orgId,
          body,
        );
        deps.logger.info(
          {
            orgId: params.orgId,
            runId: accepted.runId,
            deduplicated: accepted.deduplicated,
            sub: auth.sub,
          },
          'sync requested',
        );
        recordAudit(deps.logger, auth, {
          action: 'sync.requested',
          orgId: params.orgId,
          // No setting changes; the run it made (or joined, deduplicated) is the target.
          fields: [],
          target: {
            runId: accepted.runId,
            deduplicated: accepted.deduplicated,
            ...(body.allowMassRemoval ? { allowMassRemoval: true } : {}),
          },
        });
        return { status: 202, body: accepted };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/orgs/{orgId}/syncs',
      operationId: 'listSyncs',
      summary: 'Run history, newest first',
      tag,
      params: orgParamsSchema,
      query: pageQuerySchema,
      responses: { 200: { description: 'A page of runs', schema: runListSchema } },
      async handle({ params, query }) {
        const page = await runs.list(params.orgId, { limit: query.limit, cursor: query.cursor });
        return { status: 200, body: page };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/orgs/{orgId}/syncs/{runId}',
      operationId: 'getSync',
      summary: 'One run',
      tag,
      params: runParamsSchema,
      query: noQuerySchema,
      responses: { 200: { description: 'The run', schema: runSchema } },
      async handle({ params }) {
        const run = await runs.get(params.orgId, params.runId);
        if (!run) throw notFound();
        return { status: 200, body: run };
      },
    }),
  ];
}
