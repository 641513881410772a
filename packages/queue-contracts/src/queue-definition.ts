import type { Env } from '@pinnacle/config';
import type { z } from 'zod';

/**
 * How many finished jobs are kept, newest first (`count`: every queue has
 * one, so Redis stays bounded whatever the traffic), and for how long at
 * most (`age`, seconds).
 */
export type JobRetention = { age?: number; count: number };

/** BullMQ options of a queue's jobs, as plain data (BullMQ's `JobsOptions` takes them as they are). */
export interface JobOptions {
  attempts: number;
  backoff: { type: 'exponential' | 'fixed'; delay: number; jitter?: number };
  removeOnComplete: JobRetention;
  removeOnFail: JobRetention;
}

/**
 * Everything a producer and a consumer of one queue must agree on. Every job
 * of the queue, a job scheduler's included, is made from its definition: the
 * payload parsed with `schema`, named by `jobName`, identified by `jobId`,
 * with the options `jobOptions` builds from the environment.
 */
export interface QueueDefinition<Name extends string, Payload, QueueEnv> {
  /** The BullMQ queue name (never a ':'). */
  readonly name: Name;
  /** The environment variables `jobOptions` reads: every role adding the queue's jobs must set them alike. */
  readonly env: readonly (keyof QueueEnv)[];
  /**
   * The payload contract, parsed by the producer and again by the worker.
   * Fields added later must be optional, so a rolling deploy (old worker,
   * new producer, or the other way round) keeps working.
   */
  readonly schema: z.ZodType<Payload>;
  /** What the job is about ("sync org-1"): Bull Board's lists say whose job each is. */
  jobName(payload: Payload): string;
  /**
   * The org a job belongs to, read back from its name (`jobName`'s rule), or
   * null for a job of no org: offboarding finds an org's jobs by it.
   */
  orgOfJob(jobName: string): string | null;
  /**
   * The job's idempotency key, derived from the payload: the same message
   * added twice is one job. Undefined where BullMQ (or the job scheduler
   * that made the job) names it.
   */
  jobId(payload: Payload): string | undefined;
  /** Attempts, backoff and retention of every job of the queue. */
  jobOptions(env: QueueEnv): JobOptions;
}

/** The environment variables a queue's job options are built from. */
export type EnvOf<Variables extends keyof Env> = Pick<Env, Variables>;
