import type { Logger } from '@pinnacle/logging';
import { createMetricsRecorder, type MetricsRecorder } from '@pinnacle/metrics';
import {
  InvalidJobPayloadError,
  parseJobPayload,
  type QueueEnv,
  type QueueKey,
  type QueuePayload,
  queues,
} from '@pinnacle/queue-contracts';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { RedisOptions } from 'ioredis';
import {
  createRedisConnection,
  type RedisClient,
  type RedisTarget,
  toTarget,
} from './connections.js';
import { TypedQueue } from './typed-queue.js';

/** How every worker of a role holds and takes over job locks. */
export interface LockSettings {
  /** A job's lock, renewed every half period while it runs: above the longest step of a job. */
  lockDuration: number;
  /** How often the locks of dead processes are looked for. */
  stalledInterval: number;
  /** How often a job whose process died is picked up again before it fails. */
  maxStalledCount: number;
}

/** What a handler gets besides its payload. */
export interface JobContext {
  job: Job;
  /**
   * The role's fleet-wide metrics: a handler records what its job counts
   * (a finished run, a delivery) here, as it happens. Never rejects.
   */
  metrics: MetricsRecorder;
  /**
   * Removes the job as it finishes, whatever the queue's retention: its org
   * was offboarded while it ran, and nothing of the org may stay (not even
   * a finished job; it cannot be removed while it runs).
   */
  discard(): void;
}

/** Processes one job of queue K, its payload already parsed with the queue's contract. */
export type JobHandler<K extends QueueKey, R = unknown> = (
  payload: QueuePayload<K>,
  context: JobContext,
) => Promise<R>;

export interface WorkerRegistryOptions {
  /** The role (`worker`, `notifier`): the `component` of its log lines. */
  role: string;
  /** Where Redis is: a URL, or a target from `redisTarget(env)` (a single Redis or a Cluster). */
  redis: RedisTarget | string;
  /** BullMQ key prefix (QUEUE_PREFIX). */
  prefix: string;
  logger: Logger;
  lock: LockSettings;
}

/**
 * Starts every worker of a role, and owns what they run on, so that each
 * worker is started and stopped alike: its payload parsed with its queue's
 * contract (a bad payload fails once, never retried), the same lock
 * settings, a log line per failed attempt, worker and connection errors
 * logged instead of crashing the process, one metrics recorder for every
 * handler, and one close order (workers, then queues, then connections).
 */
export class WorkerRegistry {
  /** The role's logger (`component`: the role). */
  readonly log: Logger;
  /**
   * For the stores, the metrics and the queues a job hands work on to:
   * ioredis batches what concurrent jobs issue in one tick into one write.
   */
  readonly storeConnection: RedisClient;
  readonly metrics: MetricsRecorder;
  private queueConnection: RedisClient | undefined;
  private readonly connections: RedisClient[] = [];
  private readonly workers: Worker[] = [];
  private readonly producers: { close(): Promise<void> }[] = [];
  private readonly closers: (() => void | Promise<void>)[] = [];
  private closing: Promise<void> | undefined;

  constructor(private readonly options: WorkerRegistryOptions) {
    this.log = options.logger.child({ component: options.role });
    this.storeConnection = this.connection({ enableAutoPipelining: true });
    this.metrics = createMetricsRecorder(this.storeConnection, options.prefix, {
      onError: (error) => this.log.warn({ err: error }, 'metrics not recorded'),
    });
  }

  /** A Redis connection that waits out outages; closed last. */
  connection(extra: RedisOptions = {}): RedisClient {
    const connection = createRedisConnection(toTarget(this.options.redis), 'worker', extra);
    connection.on('error', (error) => this.log.warn({ err: error }, 'redis connection error'));
    this.connections.push(connection);
    return connection;
  }

  /**
   * A producer of queue K, its job options built from `env`; closed after
   * the workers. Default connection: one shared by the role's queues.
   */
  queue<K extends QueueKey>(
    key: K,
    env: QueueEnv<K>,
    options: { connection?: RedisClient } = {},
  ): TypedQueue<K> {
    this.queueConnection ??= this.connection();
    const queue = new TypedQueue(key, {
      connection: options.connection ?? this.queueConnection,
      prefix: this.options.prefix,
      env,
    });
    queue.queue.on('error', (error) =>
      this.log.warn({ err: error, queue: queue.queue.name }, 'queue error'),
    );
    this.producers.push(queue);
    return queue;
  }

  /** Starts a worker of queue K on a connection of its own. */
  worker<K extends QueueKey, R>(
    key: K,
    handler: JobHandler<K, R>,
    options: { concurrency: number },
  ): Worker {
    const log = this.log.child({ queue: queues[key].name });
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
        return handler(payload, {
          job,
          metrics: this.metrics,
          discard() {
            // BullMQ reads these as the job moves to completed or failed,
            // and then deletes the job in that same step.
            job.opts.removeOnComplete = true;
            job.opts.removeOnFail = true;
          },
        });
      },
      {
        connection: this.connection(),
        prefix: this.options.prefix,
        concurrency: options.concurrency,
        lockDuration: this.options.lock.lockDuration,
        stalledInterval: this.options.lock.stalledInterval,
        maxStalledCount: this.options.lock.maxStalledCount,
      },
    );
    worker.on('error', (error) => log.error({ err: error }, 'worker error'));
    worker.on('failed', (job, error) => {
      // One line per failed attempt, whatever the handler logged itself: it
      // also covers errors thrown before a handler's own handling begins.
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
    });
    this.workers.push(worker);
    return worker;
  }

  /** Something else to close once the workers and queues are closed (an SMTP pool, say). */
  onClose(close: () => void | Promise<void>): void {
    this.closers.push(close);
  }

  /** Resolves once every worker is connected. */
  async ready(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.waitUntilReady()));
  }

  /**
   * Stops taking jobs and lets the current ones finish (or be handed back),
   * then closes the queues, then the rest, then the connections.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled(this.workers.map((worker) => worker.close()));
      await Promise.allSettled(this.producers.map((queue) => queue.close()));
      for (const close of this.closers) {
        try {
          await close();
        } catch (error) {
          this.log.warn({ err: error }, 'close step failed');
        }
      }
      await Promise.allSettled(this.connections.map((connection) => connection.quit()));
    })();
    return this.closing;
  }
}
