import { buildFailure } from '@pinnacle/domain';
import {
  checkConnection,
  SyncStoppedError,
  searchGroupsByName,
  TransientSyncError,
} from '@pinnacle/sync-preflight';
import { recordAudit } from '../audit.js';
import type { ApiDeps } from '../deps.js';
import { entraCheckFailed, entraUnreachable, storedConnectInput } from '../entra-checks.js';
import { type ApiRoute, defineRoute } from '../route.js';
import {
  type ConnectionTest,
  connectionTestSchema,
  emptyBodySchema,
  entraCheckErrorSchema,
  entraGroupListSchema,
  groupSearchQuerySchema,
  noQuerySchema,
  orgParamsSchema,
} from '../schemas.js';

/** At most this many groups per search: a picker, not a directory listing. */
const SEARCH_RESULTS = 25;

/**
 * The routes that ask Entra ID and Graph with the org's stored settings
 * while an admin waits: test connection (the preflight alone) and the group
 * search of the settings form. Neither fetches members, commits, notifies,
 * records a run or changes the integration's health.
 */
export function entraRoutes(deps: ApiDeps): ApiRoute[] {
  return [
    defineRoute({
      method: 'post',
      path: '/orgs/{orgId}/integration/test',
      operationId: 'testConnection',
      summary:
        'Test connection: runs the preflight alone with the stored settings (no fetch, commit, notification or run) and answers its result',
      tag: 'integration',
      params: orgParamsSchema,
      query: noQuerySchema,
      body: { schema: emptyBodySchema, required: false },
      responses: {
        200: {
          description:
            'What the preflight found: ok with the groups by name and any warnings, or the failure a sync would stop with',
          schema: connectionTestSchema,
        },
      },
      async handle({ params, auth, holdSecret }) {
        const { orgId } = params;
        const checkedAt = deps.clock().toISOString();
        const stored = await storedConnectInput(deps, orgId, holdSecret);
        let result: ConnectionTest;
        if ('failure' in stored) {
          result = { ok: false, checkedAt, failure: stored.failure, groups: null, warnings: [] };
        } else {
          const check = await checkConnection({
            ...stored.input,
            // The names Graph gave are facts about the tenant: the overview shows them too.
            // Not once the org is offboarded (a deletion racing the test): 404.
            onGroupsChecked: (groups) =>
              deps.stores.selectedGroups.recordCheck(orgId, deps.clock(), groups, 'integration'),
          });
          result = { ...check, checkedAt };
        }
        deps.logger.info(
          { orgId, ok: result.ok, code: result.ok ? null : result.failure.code },
          'connection tested',
        );
        recordAudit(deps.logger, auth, {
          action: 'integration.tested',
          orgId,
          fields: [],
          target: result.ok ? { ok: true } : { ok: false, code: result.failure.code },
        });
        return { status: 200, body: result };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/orgs/{orgId}/entra/groups',
      operationId: 'searchEntraGroups',
      summary:
        "The tenant's groups whose name matches `search`, read through Graph with the org's stored credentials",
      tag: 'integration',
      params: orgParamsSchema,
      query: groupSearchQuerySchema,
      responses: {
        200: {
          description: `Up to ${SEARCH_RESULTS} groups, by name`,
          schema: entraGroupListSchema,
        },
        409: {
          description:
            'The stored settings cannot reach Graph (settings missing or invalid, secret expired or refused, consent missing): `failure` says why and what to do',
          schema: entraCheckErrorSchema,
        },
        502: {
          description: 'Entra ID or Graph did not answer; try again',
          schema: entraCheckErrorSchema,
        },
      },
      async handle({ params, query, holdSecret }) {
        const stored = await storedConnectInput(deps, params.orgId, holdSecret);
        if ('failure' in stored) throw entraCheckFailed(stored.failure);
        try {
          const found = await searchGroupsByName({
            ...stored.input,
            term: query.search,
            top: SEARCH_RESULTS,
          });
          const items = found
            .map((g) => ({ id: g.id, displayName: g.displayName }))
            .sort((a, b) => (a.displayName ?? '').localeCompare(b.displayName ?? ''));
          return { status: 200, body: { items } };
        } catch (error) {
          if (error instanceof SyncStoppedError) {
            deps.logger.info(
              { orgId: params.orgId, code: error.failure.code },
              'group search stopped',
            );
            throw entraCheckFailed(error.failure);
          }
          if (error instanceof TransientSyncError) {
            deps.logger.warn({ orgId: params.orgId, reason: error.reason }, 'group search failed');
            throw entraUnreachable(
              buildFailure(
                'entra_unreachable',
                { lastReason: error.reason },
                { authorityHost: deps.entra.endpoints.authorityHost },
              ),
            );
          }
          throw error;
        }
      },
    }),
  ];
}
