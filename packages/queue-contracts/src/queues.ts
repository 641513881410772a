import { type EmailJob, type EmailQueueEnv, emailQueueDefinition } from './email-jobs.js';
import { type MaintenanceJob, maintenanceQueueDefinition } from './maintenance-jobs.js';
import { type NotificationJob, notificationQueueDefinition } from './notification-jobs.js';
import type { EnvOf, QueueDefinition } from './queue-definition.js';
import { type SyncJob, type SyncQueueEnv, syncQueueDefinition } from './sync-jobs.js';

/** Each queue's payload: the typed map every producer and worker is checked against. */
export interface QueuePayloads {
  sync: SyncJob;
  notifications: NotificationJob;
  maintenance: MaintenanceJob;
  email: EmailJob;
}

/** The environment each queue's job options are built from. */
export interface QueueEnvs {
  sync: SyncQueueEnv;
  notifications: EnvOf<never>;
  maintenance: EnvOf<never>;
  email: EmailQueueEnv;
}

export type QueueKey = keyof QueuePayloads;
export type QueuePayload<K extends QueueKey> = QueuePayloads[K];
export type QueueEnv<K extends QueueKey> = QueueEnvs[K];

/**
 * Every queue of the service, by key: its definition module's definition.
 * Typed as a map (not the union of its values) so code generic over the
 * queue key calls a definition with that queue's own payload.
 */
export const queues: { [K in QueueKey]: QueueDefinition<K, QueuePayloads[K], QueueEnvs[K]> } = {
  sync: syncQueueDefinition,
  notifications: notificationQueueDefinition,
  maintenance: maintenanceQueueDefinition,
  email: emailQueueDefinition,
};

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
  if (result.success) return result.data;
  throw new InvalidJobPayloadError(
    queue,
    result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
  );
}
