import {
  type JobOptions,
  parseJobPayload,
  type QueueEnv,
  type QueueKey,
  type QueuePayload,
  queues,
} from '@pinnacle/queue-contracts';
import { type Job, type JobSchedulerJson, Queue, type RepeatOptions } from 'bullmq';
import type { RedisClient } from './connections.js';
import {
  jobsOfOrg,
  type OrgJob,
  type OrgJobsRemoval,
  type QueueHandle,
  removeJobsOfOrg,
} from './org-jobs.js';

export interface QueueRuntimeOptions {
  connection: RedisClient;
  /** BullMQ key prefix (QUEUE_PREFIX); a `{hash-tag}` keeps a queue on one Cluster slot. */
  prefix: string;
}

export interface TypedQueueOptions<K extends QueueKey> extends QueueRuntimeOptions {
  /** What the queue's job options are built from (e.g. SYNC_ATTEMPTS, SYNC_BACKOFF_MS). */
  env: QueueEnv<K>;
  /**
   * A producer that boots while Redis is away must not be left broken by a
   * failed one-time version check: it should work once Redis is back.
   */
  skipVersionCheck?: boolean;
}

/** When a job scheduler fires: every `every` ms (from `offset`), or on a cron `pattern`. */
export type SchedulerRepeat = Pick<RepeatOptions, 'every' | 'offset' | 'pattern' | 'tz'>;

/**
 * The one way to put a job on a queue: the payload is parsed with the
 * queue's contract (a bad one is refused before Redis is touched), and the
 * job is named, identified and given its options by the queue's definition.
 * A job scheduler's template is made the same way, so a scheduled job
 * cannot carry other options than a job added by hand.
 */
export class TypedQueue<K extends QueueKey> {
  /** The BullMQ queue, for reading (jobs, states, counts). */
  readonly queue: Queue;
  private readonly env: QueueEnv<K>;
  private readonly connection: RedisClient;

  constructor(
    readonly key: K,
    options: TypedQueueOptions<K>,
  ) {
    this.env = options.env;
    this.connection = options.connection;
    this.queue = new Queue(queues[key].name, {
      connection: options.connection,
      prefix: options.prefix,
      ...(options.skipVersionCheck ? { skipVersionCheck: true } : {}),
    });
  }

  /** The options every job of this queue gets (a fresh object each call). */
  private jobOptions(): JobOptions {
    return queues[this.key].jobOptions(this.env);
  }

  /** Adds one job; the same payload again (same job ID) is the same job. */
  async add(payload: QueuePayload<K>): Promise<Job> {
    const { name, data, opts } = this.jobOf(payload);
    return this.queue.add(name, data, opts);
  }

  /** Adds many jobs in one round trip; every payload is parsed before any is added. */
  async addBulk(payloads: readonly QueuePayload<K>[]): Promise<Job[]> {
    return this.queue.addBulk(payloads.map((payload) => this.jobOf(payload)));
  }

  /** Creates or updates a job scheduler whose jobs carry `payload`. */
  async upsertScheduler(
    schedulerId: string,
    repeat: SchedulerRepeat,
    payload: QueuePayload<K>,
  ): Promise<void> {
    const definition = queues[this.key];
    const data = parseJobPayload(this.key, payload);
    await this.queue.upsertJobScheduler(schedulerId, repeat, {
      name: definition.jobName(data),
      data,
      opts: this.jobOptions(),
    });
  }

  async removeScheduler(schedulerId: string): Promise<void> {
    await this.queue.removeJobScheduler(schedulerId);
  }

  async getScheduler(schedulerId: string): Promise<JobSchedulerJson | undefined> {
    return this.queue.getJobScheduler(schedulerId);
  }

  /** The org's jobs in every state (see `jobsOfOrg`). */
  jobsOfOrg(orgId: string): Promise<OrgJob[]> {
    return jobsOfOrg(this.handle(), orgId);
  }

  /** Removes every job of the org but those running (see `removeJobsOfOrg`). */
  removeJobsOfOrg(orgId: string): Promise<OrgJobsRemoval> {
    return removeJobsOfOrg(this.handle(), orgId);
  }

  close(): Promise<void> {
    return this.queue.close();
  }

  private handle(): QueueHandle<K> {
    return { key: this.key, queue: this.queue, connection: this.connection };
  }

  private jobOf(payload: QueuePayload<K>) {
    const definition = queues[this.key];
    const data = parseJobPayload(this.key, payload);
    const jobId = definition.jobId(data);
    return {
      name: definition.jobName(data),
      data,
      opts: { ...this.jobOptions(), ...(jobId === undefined ? {} : { jobId }) },
    };
  }
}
