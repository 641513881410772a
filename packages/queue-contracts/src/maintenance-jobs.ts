import { z } from 'zod';
import type { EnvOf, QueueDefinition } from './queue-definition.js';

/** The notifier's periodic scans; each job names one. */
export const maintenanceJobSchema = z.object({
  task: z.enum(['scan_secret_expiry', 'scan_failure_reminders']),
});
export type MaintenanceJob = z.infer<typeof maintenanceJobSchema>;
export type MaintenanceTask = MaintenanceJob['task'];

/**
 * The job scheduler of each task: its ID (every notifier upserts it at
 * start, so one schedule whatever their number) and its default cron
 * pattern, in UTC.
 */
export const maintenanceSchedules = {
  /** Daily at 05:00 UTC: before the working day in Europe, late evening in the Americas. */
  scan_secret_expiry: { schedulerId: 'scan-secret-expiry', pattern: '0 5 * * *' },
  /**
   * Hourly, for failure reminders that fell due with no run to bring them
   * up. A reminder is due days after its episode opened: an hour late is fine.
   */
  scan_failure_reminders: { schedulerId: 'scan-failure-reminders', pattern: '17 * * * *' },
} as const satisfies Record<MaintenanceTask, { schedulerId: string; pattern: string }>;

/**
 * The `maintenance` queue. Its jobs come from the job schedulers above; a
 * scan that fails is retried a few times a minute or more apart, and only
 * the last 30 runs are kept.
 */
export const maintenanceQueueDefinition = {
  name: 'maintenance',
  env: [],
  schema: maintenanceJobSchema,
  jobName: (job) => job.task,
  orgOfJob: () => null,
  jobId: () => undefined,
  jobOptions: () => ({
    attempts: 5,
    backoff: { type: 'exponential', delay: 60_000 },
    removeOnComplete: { count: 30 },
    removeOnFail: { count: 30 },
  }),
} as const satisfies QueueDefinition<'maintenance', MaintenanceJob, EnvOf<never>>;
