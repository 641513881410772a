import { createHash } from 'node:crypto';
import { notificationIdSchema } from '@pinnacle/domain';
import { type NotificationJob, notificationJobId } from '@pinnacle/queue-contracts';
import type { WriteFence } from '@pinnacle/redis-store';

/**
 * An alert's ID is the notification job ID its message has, recomputed from
 * the payload: every attempt, replay or re-sent hand-off of the same message
 * names the same alert, whatever job ID it was enqueued under.
 */
export function alertIdOf(job: NotificationJob): string {
  return notificationJobId(job);
}

/**
 * What an alert's writes belong to (see WriteFence): the run it is about,
 * or for an expiry warning the integration. Once that is gone (the org was
 * offboarded) the alert writes nothing.
 */
export function alertFence(job: NotificationJob): WriteFence {
  switch (job.type) {
    case 'sync_failed':
    case 'sync_recovered':
    case 'sync_failure_reminder':
      return { runId: job.runId };
    case 'client_secret_expiring':
    case 'client_secret_expired':
    // About the integration's certificates (a sync's acceptance hands it off, mid-run).
    case 'certificate_rotated':
    case 'certificate_expiring':
    case 'certificate_expired':
      return 'integration';
  }
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
