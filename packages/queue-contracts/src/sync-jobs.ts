import { orgIdSchema, runIdSchema } from '@pinnacle/domain';
import { z } from 'zod';

/**
 * A sync job names the org and, for Sync Now, the run the API already
 * recorded. Scheduled jobs come from a job scheduler template and carry no
 * run ID: the worker records the run when it picks the job up.
 * Never a secret: the worker reads the encrypted settings from the store.
 */
export const syncJobSchema = z.object({
  orgId: orgIdSchema,
  trigger: z.enum(['manual', 'schedule']),
  runId: runIdSchema.optional(),
  /** One-run override of the mass-removal guard (Sync Now only). */
  allowMassRemoval: z.boolean().optional(),
  requestedAt: z.iso.datetime().optional(),
});
export type SyncJob = z.infer<typeof syncJobSchema>;

export const maintenanceJobSchema = z.object({
  task: z.enum(['scan_secret_expiry', 'scan_failure_reminders']),
});
export type MaintenanceJob = z.infer<typeof maintenanceJobSchema>;

/** BullMQ forbids ':' in custom job IDs. */
export const syncJobId = (runId: string) => `run-${runId}`;
/** One scheduler per org; its ID is how settings changes find it again. */
export const syncSchedulerId = (orgId: string) => `sync-schedule-${orgId}`;

export interface SyncRetryPolicy {
  attempts: number;
  /** First backoff; doubles each attempt, with jitter so a Graph outage does not retry in lockstep. */
  backoffDelayMs: number;
}

export const defaultSyncRetryPolicy: SyncRetryPolicy = { attempts: 5, backoffDelayMs: 15_000 };

/** BullMQ options of every sync job (Sync Now and schedules alike). */
export function syncJobOptions(policy: SyncRetryPolicy = defaultSyncRetryPolicy) {
  return {
    attempts: policy.attempts,
    backoff: { type: 'exponential' as const, delay: policy.backoffDelayMs, jitter: 0.5 },
    removeOnComplete: { age: 7 * 24 * 3600, count: 5000 },
    removeOnFail: { age: 30 * 24 * 3600, count: 5000 },
  };
}

/**
 * Notification jobs are kept a week after completion: their IDs are what
 * makes a re-sent hand-off a no-op, and that only works while they exist.
 */
export function notificationJobOptions() {
  return {
    attempts: 12,
    backoff: { type: 'exponential' as const, delay: 5_000, jitter: 0.3 },
    removeOnComplete: { age: 7 * 24 * 3600 },
    removeOnFail: { age: 30 * 24 * 3600 },
  };
}
