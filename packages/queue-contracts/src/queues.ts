import type { z } from 'zod';
import { emailJobSchema } from './email-jobs.js';
import { notificationJobSchema } from './notification-jobs.js';
import { maintenanceJobSchema, syncJobSchema } from './sync-jobs.js';

/**
 * Every queue of the service, its job names and payload schema, in one place.
 * Producers and consumers both parse with these schemas. Fields added later
 * must be optional so a rolling deploy (old worker, new API) keeps working.
 */
export const queues = {
  sync: { name: 'sync', jobName: 'sync-org', schema: syncJobSchema },
  notifications: { name: 'notifications', jobName: 'notify', schema: notificationJobSchema },
  maintenance: { name: 'maintenance', jobName: 'maintenance', schema: maintenanceJobSchema },
  email: { name: 'email', jobName: 'send-email', schema: emailJobSchema },
} as const;

export type QueueKey = keyof typeof queues;
export type QueuePayload<K extends QueueKey> = z.infer<(typeof queues)[K]['schema']>;
export const queueNames = Object.values(queues).map((q) => q.name);

export class InvalidJobPayloadError extends Error {
  readonly code = 'invalid_job_payload';
  constructor(
    readonly queue: QueueKey,
    readonly issues: { path: string; message: string }[],
  ) {
    super(
      `Invalid ${queue} job payload: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`,
    );
    this.name = 'InvalidJobPayloadError';
  }
}

/** Parses a job payload at either end; throws InvalidJobPayloadError (never echoing values). */
export function parseJobPayload<K extends QueueKey>(queue: K, data: unknown): QueuePayload<K> {
  const result = queues[queue].schema.safeParse(data);
  if (result.success) return result.data as QueuePayload<K>;
  throw new InvalidJobPayloadError(
    queue,
    result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
  );
}
