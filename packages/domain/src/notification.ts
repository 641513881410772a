import { z } from 'zod';
import { notificationIdSchema, runIdSchema } from './identifiers.js';

export const notificationTypeSchema = z.enum([
  'sync_failed',
  'sync_recovered',
  'client_secret_expiring',
  'client_secret_expired',
  'certificate_expiring',
  'certificate_expired',
  /** A newer certificate took over: the older one may be removed from the app registration. */
  'certificate_rotated',
]);
export type NotificationType = z.infer<typeof notificationTypeSchema>;

export const notificationSeveritySchema = z.enum(['error', 'warning', 'info']);
export type NotificationSeverity = z.infer<typeof notificationSeveritySchema>;

/** The severity each type is shown with. */
export const NOTIFICATION_SEVERITY: Readonly<Record<NotificationType, NotificationSeverity>> = {
  sync_failed: 'error',
  sync_recovered: 'info',
  client_secret_expiring: 'warning',
  client_secret_expired: 'error',
  certificate_expiring: 'warning',
  certificate_expired: 'error',
  certificate_rotated: 'info',
};

/**
 * Whether a type's emails count against the org's email cap (and are held
 * back past it), or are exempt: those that tell admins something they must
 * not miss (a recovery; a credential about to expire or expired, each
 * threshold once). A new notification type must take a side here.
 */
export type EmailCapPolicy = 'capped' | 'exempt';
export const NOTIFICATION_EMAIL_CAP: Readonly<Record<NotificationType, EmailCapPolicy>> = {
  // Reminders of a failure episode are sync_failed notifications: capped too.
  sync_failed: 'capped',
  sync_recovered: 'exempt',
  client_secret_expiring: 'exempt',
  client_secret_expired: 'exempt',
  certificate_expiring: 'exempt',
  certificate_expired: 'exempt',
  // At most one per certificate Entra accepts (an admin's upload): nothing can repeat it.
  certificate_rotated: 'exempt',
};

export function isEmailCapped(type: NotificationType): boolean {
  return NOTIFICATION_EMAIL_CAP[type] === 'capped';
}

/**
 * Where one channel's delivery of a notification stands:
 * - `pending`: queued, not delivered yet (includes retries in progress);
 * - `delivered`: done (stored in the inbox / accepted by the SMTP server);
 * - `failed`: retries ran out; the other channel is unaffected;
 * - `disabled`: the channel is off for this org (email disabled, no
 *   recipients, or no SMTP configured), so nothing was attempted;
 * - `suppressed`: held back by the org's email cap (the notification's
 *   message says until when); nothing was sent.
 */
export const deliveryStateSchema = z.enum([
  'pending',
  'delivered',
  'failed',
  'disabled',
  'suppressed',
]);
export type DeliveryState = z.infer<typeof deliveryStateSchema>;

const timestamp = z.iso.datetime({ offset: true });

/**
 * An in-app notification. One failure episode is one notification: a repeat
 * of the same code bumps `count` and `lastSeenAt` instead of adding another.
 */
export const notificationSchema = z.object({
  id: notificationIdSchema,
  type: notificationTypeSchema,
  severity: notificationSeveritySchema,
  title: z.string().min(1),
  message: z.string().min(1),
  /** The failure code for `sync_failed` (and the recovered one for `sync_recovered`). */
  failureCode: z.string().nullable(),
  runId: runIdSchema.nullable(),
  /** Occurrences folded into this notification (1 when first raised). */
  count: z.number().int().min(1),
  firstSeenAt: timestamp,
  lastSeenAt: timestamp,
  createdAt: timestamp,
  readAt: timestamp.nullable(),
  delivery: z.object({ inApp: deliveryStateSchema, email: deliveryStateSchema }),
});
export type Notification = z.infer<typeof notificationSchema>;
