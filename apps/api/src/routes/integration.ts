import {
  clientSecretRotationSchema,
  integrationSettingsInputSchema,
  integrationSettingsViewSchema,
} from '@pinnacle/domain';
import { IntegrationNotFoundError } from '@pinnacle/redis-store';
import type { ApiDeps } from '../deps.js';
import { notFound } from '../errors.js';
import { type ApiRoute, defineRoute } from '../route.js';
import { noQuerySchema, orgParamsSchema } from '../schemas.js';
import { integrationView } from '../views.js';

const tag = 'integration';

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
      async handle({ params, body, holdSecret }) {
        if (body.clientSecret) holdSecret(body.clientSecret);
        const { integration, created } = await integrations.put(params.orgId, body, deps.clock());
        deps.logger.info(
          { orgId: params.orgId, created, revision: integration.revision },
          'integration settings saved',
        );
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
      async handle({ params, body, holdSecret }) {
        holdSecret(body.clientSecret);
        try {
          const integration = await integrations.rotateSecret(params.orgId, body, deps.clock());
          deps.logger.info({ orgId: params.orgId }, 'client secret rotated');
          return { status: 200, body: integrationView(integration) };
        } catch (error) {
          if (error instanceof IntegrationNotFoundError) throw notFound();
          throw error;
        }
      },
    }),
  ];
}
