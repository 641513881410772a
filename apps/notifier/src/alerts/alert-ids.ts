import { createHash } from 'node:crypto';
import { notificationIdSchema } from '@pinnacle/domain';
import { type NotificationJob, notificationJobId } from '@pinnacle/queue-contracts';

/**
 * An alert's ID is the notification job ID its message has, recomputed from
 * the payload: every attempt, replay or re-sent hand-off of the same message
 * names the same alert, whatever job ID it was enqueued under.
 */
export function alertIdOf(job: NotificationJob): string {
  return notificationJobId(job);
}

/**
 * The in-app notification an alert raises. The alert ID itself when it fits
 * the notification ID format (the readable case), else a hash of it; alert IDs
 * start with a type word, so the two forms never collide.
 */
export function notificationIdOf(alertId: string): string {
  if (notificationIdSchema.safeParse(alertId).success) return alertId;
  return `n-${createHash('sha256').update(alertId).digest('hex').slice(0, 40)}`;
}
