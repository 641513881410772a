import { runSchema, syncAcceptedSchema, syncRequestSchema } from '@pinnacle/domain';
import { recordAudit } from '../audit.js';
import type { ApiDeps } from '../deps.js';
import { notFound, rateLimited } from '../errors.js';
import { spanText } from '../limits.js';
import { type ApiRoute, defineRoute } from '../route.js';
import {
  noQuerySchema,
  orgParamsSchema,
  pageQuerySchema,
  rateLimitedResponseSchema,
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
      responses: {
        202: { description: 'Accepted', schema: syncAcceptedSchema },
        429: {
          description:
            "The org's budget of new runs is spent (SYNC_NOW_BUDGET per SYNC_NOW_BUDGET_WINDOW_SECONDS; `limit`: `sync_now_budget`; a press that joins a run queued or running spends none), or the token's request rate limit (API_RATE_LIMIT_PER_MINUTE; `limit`: `request_rate`). Nothing was created; `Retry-After` and `retryAfterSeconds` say when to try again",
          schema: rateLimitedResponseSchema,
        },
      },
      async handle({ params, body, auth }) {
        const outcome = await requestSync(
          {
            runs,
            syncQueue: deps.syncQueue,
            config: deps.config,
            clock: deps.clock,
            logger: deps.logger,
            limits: deps.limits,
          },
          params.orgId,
          body,
        );
        if (outcome.kind === 'over_budget') {
          const { syncNowBudget, syncNowWindowSeconds } = deps.limits.settings;
          recordAudit(deps.logger, auth, {
            action: 'sync.rate_limited',
            orgId: params.orgId,
            fields: [],
            target: {
              limit: 'sync_now_budget',
              retryAfterSeconds: outcome.retryAfterSeconds,
              ...(body.allowMassRemoval ? { allowMassRemoval: true } : {}),
            },
          });
          throw rateLimited(
            'sync_now_budget',
            outcome.retryAfterSeconds,
            `Sync Now can start at most ${syncNowBudget} new runs in ${spanText(syncNowWindowSeconds)} for an organisation, and this one has used them. Try again in ${spanText(outcome.retryAfterSeconds)}.`,
          );
        }
        const { accepted } = outcome;
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
