import { orgIdSchema, runIdSchema } from '@pinnacle/domain';
import { z } from 'zod';
import type { EnvOf, QueueDefinition } from './queue-definition.js';

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

/** A Sync Now job's ID: derived from its run, so the run has one job. BullMQ forbids ':' in it. */
export const syncJobId = (runId: string) => `run-${runId}`;
/** One job scheduler per org; its ID is how settings changes find it again. */
export const syncSchedulerId = (orgId: string) => `sync-schedule-${orgId}`;

export type SyncQueueEnv = EnvOf<'SYNC_ATTEMPTS' | 'SYNC_BACKOFF_MS'>;

/**
 * The `sync` queue. Sync Now jobs and the org's scheduled jobs alike retry
 * `SYNC_ATTEMPTS` times from `SYNC_BACKOFF_MS` (doubling, with jitter so a
 * Graph outage does not retry in lockstep).
 */
export const syncQueueDefinition = {
  name: 'sync',
  env: ['SYNC_ATTEMPTS', 'SYNC_BACKOFF_MS'],
  schema: syncJobSchema,
  jobName: (job) => `sync ${job.orgId}`,
  orgOfJob: (name) => /^sync ([A-Za-z0-9_-]+)$/.exec(name)?.[1] ?? null,
  // A scheduled job has no run yet: its job scheduler names it.
  jobId: (job) => (job.runId === undefined ? undefined : syncJobId(job.runId)),
  jobOptions: (env) => ({
    attempts: env.SYNC_ATTEMPTS,
    backoff: { type: 'exponential', delay: env.SYNC_BACKOFF_MS, jitter: 0.5 },
    removeOnComplete: { age: 7 * 24 * 3600, count: 5000 },
    removeOnFail: { age: 30 * 24 * 3600, count: 5000 },
  }),
} as const satisfies QueueDefinition<'sync', SyncJob, SyncQueueEnv>;
