import {
  clientSecretRotationSchema,
  integrationSettingsInputSchema,
  integrationSettingsViewSchema,
} from '@pinnacle/domain';
import { IntegrationNotFoundError, type StoredIntegration } from '@pinnacle/redis-store';
import { changedSettingsFields, recordAudit } from '../audit.js';
import type { ApiDeps } from '../deps.js';
import { notFound } from '../errors.js';
import { offboardOrg } from '../offboarding.js';
import { type ApiRoute, defineRoute } from '../route.js';
import { emptyBodySchema, noQuerySchema, orgParamsSchema } from '../schemas.js';
import { requestSync } from '../sync-now.js';
import { integrationView } from '../views.js';

const tag = 'integration';

/**
 * Settings changed: the org's job scheduler follows them (created, changed
 * or removed, any failure back-off lifted), and an org whose sync is failing
 * gets a sync at once, so the admin sees straight away whether the change
 * fixed it. That run comes out of the org's Sync Now budget like a press:
 * saving settings again and again cannot start runs past it. Past it the
 * save still goes through, and the schedule runs the next sync.
 */
async function afterSettingsChange(
  deps: ApiDeps,
  orgId: string,
  integration: StoredIntegration,
): Promise<void> {
  // Taken back if the org is offboarded meanwhile (a DELETE racing this save).
  await deps.scheduler.apply(orgId, integration.schedule, {
    backedOff: false,
    live: () => deps.stores.integrations.exists(orgId),
  });
  const health = await deps.stores.health.get(orgId);
  if (health.status === 'failing') {
    const outcome = await requestSync({ ...deps, runs: deps.stores.runs }, orgId, {});
    if (outcome.kind === 'over_budget') {
      deps.logger.info(
        { orgId, retryAfterSeconds: outcome.retryAfterSeconds },
        "no sync after a settings change: the org's Sync Now budget is spent",
      );
      return;
    }
    deps.logger.info(
      { orgId, runId: outcome.accepted.runId },
      'sync started after a settings change',
    );
  }
}

export function integrationRoutes(deps: ApiDeps): ApiRoute[] {
  const { integrations } = deps.stores;
  return [
    defineRoute({
      method: 'get',
      path: '/orgs/{orgId}/integration',
      operationId: 'getIntegration',
      summary: 'The integration settings; the client secret only as configured/hint/expiry',
      tag,
      params: orgParamsSchema,
      query: noQuerySchema,
      responses: { 200: { description: 'The settings', schema: integrationSettingsViewSchema } },
      async handle({ params }) {
        const integration = await integrations.get(params.orgId);
        if (!integration) throw notFound();
        return { status: 200, body: integrationView(integration) };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/orgs/{orgId}/integration',
      operationId: 'putIntegration',
      summary: 'Creates or replaces the settings; without clientSecret the stored one is kept',
      tag,
      params: orgParamsSchema,
      query: noQuerySchema,
      body: { schema: integrationSettingsInputSchema, required: true },
      responses: {
        200: { description: 'Replaced', schema: integrationSettingsViewSchema },
        201: { description: 'Created', schema: integrationSettingsViewSchema },
      },
      async handle({ params, body, auth, holdSecret }) {
        if (body.clientSecret) holdSecret(body.clientSecret);
        const { integration, previous, created } = await integrations.put(
          params.orgId,
          body,
          deps.clock(),
        );
        deps.logger.info(
          { orgId: params.orgId, created, revision: integration.revision },
          'integration settings saved',
        );
        recordAudit(deps.logger, auth, {
          action: 'integration.saved',
          orgId: params.orgId,
          fields: changedSettingsFields(previous, integration),
          target: { created },
        });
        await afterSettingsChange(deps, params.orgId, integration);
        return { status: created ? 201 : 200, body: integrationView(integration) };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/orgs/{orgId}/integration/client-secret',
      operationId: 'rotateClientSecret',
      summary: 'Replaces the client secret and its expiry; nothing else changes',
      tag,
      params: orgParamsSchema,
      query: noQuerySchema,
      body: { schema: clientSecretRotationSchema, required: true },
      responses: { 200: { description: 'Rotated', schema: integrationSettingsViewSchema } },
      async handle({ params, body, auth, holdSecret }) {
        holdSecret(body.clientSecret);
        try {
          const { integration, previous } = await integrations.rotateSecret(
            params.orgId,
            body,
            deps.clock(),
          );
          deps.logger.info({ orgId: params.orgId }, 'client secret rotated');
          recordAudit(deps.logger, auth, {
            action: 'integration.client_secret_rotated',
            orgId: params.orgId,
            fields: changedSettingsFields(previous, integration),
          });
          await afterSettingsChange(deps, params.orgId, integration);
          return { status: 200, body: integrationView(integration) };
        } catch (error) {
          if (error instanceof IntegrationNotFoundError) throw notFound();
          throw error;
        }
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/orgs/{orgId}/integration',
      operationId: 'deleteIntegration',
      summary:
        'Offboards the org: its settings, secret, schedule, runs, snapshots, notifications and every index entry naming it are deleted, and its jobs in flight stop without writing anything back. 204 also when there was nothing to delete',
      tag,
      params: orgParamsSchema,
      query: noQuerySchema,
      body: { schema: emptyBodySchema, required: false },
      responses: { 204: { description: 'Deleted (or there was nothing to delete)' } },
      async handle({ params, auth }) {
        const result = await offboardOrg(
          {
            offboarding: deps.stores.offboarding,
            scheduler: deps.scheduler,
            queues: deps.orgQueues,
            logger: deps.logger,
            ...(deps.config.offboardingSettleMs !== undefined
              ? { settleMs: deps.config.offboardingSettleMs }
              : {}),
          },
          params.orgId,
        );
        const existed = result.integration !== null;
        deps.logger.info(
          {
            orgId: params.orgId,
            existed,
            runs: result.runs,
            keys: result.keys,
            jobs: result.jobs,
            running: result.running,
          },
          'integration deleted',
        );
        recordAudit(deps.logger, auth, {
          action: 'integration.deleted',
          orgId: params.orgId,
          // The settings that were there (names only), now gone.
          fields: changedSettingsFields(result.integration, null),
          target: { existed },
        });
        return { status: 204, body: undefined };
      },
    }),
  ];
}
