import type { Logger } from '@pinnacle/logging';
import {
  InvalidJobPayloadError,
  parseJobPayload,
  type QueueKey,
  type QueuePayload,
  queues,
} from '@pinnacle/queue-contracts';
import { type Job, UnrecoverableError, Worker, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';

export type JobHandler<K extends QueueKey> = (
  payload: QueuePayload<K>,
  job: Job,
) => Promise<unknown>;

export interface TypedWorkerOptions {
  connection: Redis;
  prefix: string;
  logger: Logger;
  concurrency?: number;
  /** Lock held while a job runs; renewed every lockDuration/2. */
  lockDuration?: number;
  stalledInterval?: number;
  maxStalledCount?: number;
  autorun?: boolean;
  /** Called with each finished job, for metrics. */
  onFinished?: (queue: QueueKey, job: Job, outcome: 'completed' | 'failed', error?: Error) => void;
}

/**
 * Every processor goes through here: the payload is parsed with its queue's
 * contract (a bad payload fails once, never retried), each job logs with its
 * IDs, and worker errors are logged instead of crashing the process.
 */
export function createTypedWorker<K extends QueueKey>(
  key: K,
  handler: JobHandler<K>,
  options: TypedWorkerOptions,
): Worker {
  const log = options.logger.child({ queue: queues[key].name });
  const workerOptions: WorkerOptions = {
    connection: options.connection,
    prefix: options.prefix,
    concurrency: options.concurrency ?? 1,
    autorun: options.autorun ?? true,
    ...(options.lockDuration ? { lockDuration: options.lockDuration } : {}),
    ...(options.stalledInterval ? { stalledInterval: options.stalledInterval } : {}),
    ...(options.maxStalledCount !== undefined ? { maxStalledCount: options.maxStalledCount } : {}),
  };
  const worker = new Worker(
    queues[key].name,
    async (job: Job) => {
      let payload: QueuePayload<K>;
      try {
        payload = parseJobPayload(key, job.data);
      } catch (error) {
        if (error instanceof InvalidJobPayloadError) {
          log.error({ jobId: job.id, issues: error.issues }, 'invalid job payload; not retrying');
          throw new UnrecoverableError(error.message);
        }
        throw error;
      }
      return handler(payload, job);
    },
    workerOptions,
  );
  worker.on('error', (error) => log.error({ err: error }, 'worker error'));
  worker.on('failed', (job, error) => {
    // One line per failed attempt, whatever the processor logged itself: it
    // also covers errors thrown before a processor's own handling begins.
    const data = job?.data as { orgId?: unknown; runId?: unknown } | undefined;
    log.warn(
      {
        jobId: job?.id,
        orgId: typeof data?.orgId === 'string' ? data.orgId : undefined,
        runId: typeof data?.runId === 'string' ? data.runId : undefined,
        attemptsMade: job?.attemptsMade,
        reason: error.message,
      },
      'job attempt failed',
    );
    if (job) options.onFinished?.(key, job, 'failed', error);
  });
  worker.on('completed', (job) => options.onFinished?.(key, job, 'completed'));
  return worker;
}
