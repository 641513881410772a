import { encodeCursor } from '@pinnacle/domain';
import { z } from 'zod';
import { ANY_ORG } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { forbidden } from '../errors.js';
import { type ApiRoute, defineRoute } from '../route.js';
import { orgListSchema, pageQuerySchema } from '../schemas.js';
import { orgIdAfterCursor } from '../validation.js';

export function orgRoutes(deps: ApiDeps): ApiRoute[] {
  return [
    defineRoute({
      method: 'get',
      path: '/orgs',
      operationId: 'listOrgs',
      summary:
        'The orgs with an integration, by org ID (for the portal backend\'s org "*" token only)',
      tag: 'orgs',
      params: z.strictObject({}),
      query: pageQuerySchema,
      responses: { 200: { description: 'A page of orgs', schema: orgListSchema } },
      async handle({ query, auth }) {
        // An org's own admin must not learn which other orgs exist.
        if (auth.org !== ANY_ORG) throw forbidden();
        const after = orgIdAfterCursor(query.cursor);
        const page = await deps.stores.integrations.listOrgIdsPage({ limit: query.limit, after });
        const last = page.orgIds[page.orgIds.length - 1];
        return {
          status: 200,
          body: {
            items: page.orgIds.map((orgId) => ({ orgId })),
            nextCursor: page.more && last !== undefined ? encodeCursor(last) : null,
          },
        };
      },
    }),
  ];
}
