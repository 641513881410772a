import {
  clientSecretRotationSchema,
  integrationSettingsInputSchema,
  integrationSettingsViewSchema,
} from '@pinnacle/domain';
import { IntegrationNotFoundError, type StoredIntegration } from '@pinnacle/redis-store';
import { changedSettingsFields, recordAudit } from '../audit.js';
import type { ApiDeps } from '../deps.js';
import { notFound } from '../errors.js';
import { type ApiRoute, defineRoute } from '../route.js';
import { noQuerySchema, orgParamsSchema } from '../schemas.js';
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
  await deps.scheduler.apply(orgId, integration.schedule, { backedOff: false });
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
  ];
}
