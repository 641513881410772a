import {
  parseJobPayload,
  type QueueKey,
  type QueuePayload,
  queues,
} from '@pinnacle/queue-contracts';
import { type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';

export interface QueueRuntimeOptions {
  connection: Redis;
  /** BullMQ key prefix (QUEUE_PREFIX); a `{hash-tag}` keeps a queue on one Cluster slot. */
  prefix: string;
}

/** A BullMQ queue that only accepts payloads its contract parses. */
export class TypedQueue<K extends QueueKey> {
  readonly queue: Queue;

  constructor(
    readonly key: K,
    options: QueueRuntimeOptions & { defaultJobOptions?: JobsOptions; skipVersionCheck?: boolean },
  ) {
    this.queue = new Queue(queues[key].name, {
      connection: options.connection,
      prefix: options.prefix,
      // A producer that boots while Redis is away must not be left broken
      // by a failed one-time version check: it should work once Redis is back.
      ...(options.skipVersionCheck ? { skipVersionCheck: true } : {}),
      ...(options.defaultJobOptions ? { defaultJobOptions: options.defaultJobOptions } : {}),
    });
  }

  async add(payload: QueuePayload<K>, options: JobsOptions = {}) {
    const data = parseJobPayload(this.key, payload);
    return this.queue.add(queues[this.key].jobName, data, options);
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
