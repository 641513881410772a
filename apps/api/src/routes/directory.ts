import { SnapshotCursorError } from '@pinnacle/redis-store';
import type { ApiDeps } from '../deps.js';
import { validationFailed } from '../errors.js';
import { type ApiRoute, defineRoute } from '../route.js';
import { directoryUserListSchema, orgParamsSchema, pageQuerySchema } from '../schemas.js';

export function directoryRoutes(deps: ApiDeps): ApiRoute[] {
  return [
    defineRoute({
      method: 'get',
      path: '/orgs/{orgId}/directory/users',
      operationId: 'listDirectoryUsers',
      summary: 'The committed snapshot of synced users, paged by user ID',
      tag: 'directory',
      params: orgParamsSchema,
      query: pageQuerySchema,
      responses: { 200: { description: 'A page of users', schema: directoryUserListSchema } },
      async handle({ params, query }) {
        try {
          const page = await deps.stores.snapshots.readUsers(params.orgId, {
            limit: query.limit,
            cursor: query.cursor,
          });
          return { status: 200, body: { items: page.items, nextCursor: page.nextCursor } };
        } catch (error) {
          // A cursor of a replaced snapshot, or one we never made: start again.
          if (error instanceof SnapshotCursorError) {
            throw validationFailed([{ path: 'cursor', message: error.message }]);
          }
          throw error;
        }
      },
    }),
  ];
}
