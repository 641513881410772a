import { notificationSchema } from '@pinnacle/domain';
import { NotificationCursorError } from '@pinnacle/redis-store';
import { recordAudit } from '../audit.js';
import type { ApiDeps } from '../deps.js';
import { invalidCursor, notFound } from '../errors.js';
import { type ApiRoute, defineRoute } from '../route.js';
import {
  emptyBodySchema,
  markAllReadResponseSchema,
  noQuerySchema,
  notificationListSchema,
  notificationParamsSchema,
  notificationsQuerySchema,
  orgParamsSchema,
} from '../schemas.js';

const tag = 'notifications';

export function notificationRoutes(deps: ApiDeps): ApiRoute[] {
  const { notifications } = deps.stores;
  return [
    defineRoute({
      method: 'get',
      path: '/orgs/{orgId}/notifications',
      operationId: 'listNotifications',
      summary: 'The in-app inbox, newest first, with the unread count of the whole inbox',
      tag,
      params: orgParamsSchema,
      query: notificationsQuerySchema,
      responses: {
        200: { description: 'A page of notifications', schema: notificationListSchema },
      },
      async handle({ params, query }) {
        try {
          const [page, unreadCount] = await Promise.all([
            notifications.list(params.orgId, query),
            notifications.unreadCount(params.orgId),
          ]);
          return { status: 200, body: { ...page, unreadCount } };
        } catch (error) {
          if (error instanceof NotificationCursorError) {
            throw invalidCursor();
          }
          throw error;
        }
      },
    }),
    defineRoute({
      method: 'post',
      path: '/orgs/{orgId}/notifications/{id}/read',
      operationId: 'markNotificationRead',
      summary: 'Marks a notification read (idempotent)',
      tag,
      params: notificationParamsSchema,
      query: noQuerySchema,
      body: { schema: emptyBodySchema, required: false },
      responses: { 200: { description: 'The notification, read', schema: notificationSchema } },
      async handle({ params, auth }) {
        const at = deps.clock();
        const read = await notifications.markRead(params.orgId, params.id, at);
        if (!read) throw notFound();
        recordAudit(deps.logger, auth, {
          action: 'notification.read',
          orgId: params.orgId,
          // Marking it again keeps the first readAt: nothing changed then.
          fields: read.readAt === at.toISOString() ? ['readAt'] : [],
          target: { notificationId: params.id },
        });
        return { status: 200, body: read };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/orgs/{orgId}/notifications/read-all',
      operationId: 'markAllNotificationsRead',
      summary: 'Marks every unread notification read (idempotent)',
      tag,
      params: orgParamsSchema,
      query: noQuerySchema,
      body: { schema: emptyBodySchema, required: false },
      responses: {
        200: { description: 'How many were marked read', schema: markAllReadResponseSchema },
      },
      async handle({ params, auth }) {
        const markedRead = await notifications.markAllRead(params.orgId, deps.clock());
        recordAudit(deps.logger, auth, {
          action: 'notifications.read_all',
          orgId: params.orgId,
          // Nothing was unread: nothing changed.
          fields: markedRead > 0 ? ['readAt'] : [],
          target: { markedRead },
        });
        return { status: 200, body: { markedRead } };
      },
    }),
  ];
}
