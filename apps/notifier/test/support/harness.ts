import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { integrationSettingsInputSchema, type Notification, newQueuedRun } from '@pinnacle/domain';
import { createLogger } from '@pinnacle/logging';
import { type MaintenanceJob, type NotificationJob, queues } from '@pinnacle/queue-contracts';
import { TypedQueue } from '@pinnacle/queue-runtime';
import { createStores, type Stores } from '@pinnacle/redis-store';
import { type ReceivedMail, type SmtpSink, waitFor } from '@pinnacle/testing';
import type { RedisFixture } from '@pinnacle/testing/fixtures';
import { type Job, Queue } from 'bullmq';
import {
  alertFence,
  type NotifierEnv,
  type NotifierOptions,
  type NotifierRole,
  startNotifierRole,
} from '../../src/index.js';

export const MAIL_FROM = 'Pinnacle Series <alerts@pinnacle.test>';
export const PORTAL = 'https://portal.pinnacle.test';

/** A clock the tests move by hand. */
export class TestClock {
  constructor(public current: Date = new Date()) {}
  now = (): Date => new Date(this.current);
  set(at: Date): void {
    this.current = at;
  }
}

export interface NotifierHarness {
  redis: RedisFixture;
  smtp: SmtpSink;
  stores: Stores;
  /** The SECRET_ENCRYPTION_KEY the stores seal secrets with (for a worker sharing them). */
  secretKey: string;
  env: NotifierEnv;
  clock: TestClock;
  logLines: string[];
  role: NotifierRole | null;
  /** The notifications queue, used exactly as the worker's hand-off uses it. */
  notifications: TypedQueue<'notifications'>;
  maintenance: TypedQueue<'maintenance'>;
  /** Raw BullMQ handles, for inspecting jobs and adding payloads the contracts refuse. */
  raw: Record<'notifications' | 'email' | 'maintenance', Queue>;
  start(overrides?: Partial<NotifierEnv>, options?: NotifierOptions): Promise<NotifierRole>;
  /** Saves an org's settings, as the API does. */
  configure(
    orgId: string,
    options?: {
      email?: boolean;
      recipients?: string[];
      expiresAt?: Date;
      authMethod?: 'client_secret' | 'certificate';
    },
  ): Promise<void>;
  /**
   * Adds a notification job as the worker does: through the queue's
   * definition, for a run it recorded (the run is recorded first, finished,
   * when the test did not record it: an alert of a run is fenced by it).
   */
  handOff(message: NotificationJob): Promise<Job>;
  inbox(orgId: string): Promise<Notification[]>;
  /** Messages the SMTP server received for an org (by its X-Pinnacle-Org-Id header). */
  mailsFor(orgId: string): ReceivedMail[];
  /** Resolves once the job has completed or failed, with its state. */
  finished(queue: Queue, jobId: string, timeoutMs?: number): Promise<'completed' | 'failed'>;
  /** Resolves once nothing is waiting, active or delayed in the queue. */
  drained(queue: Queue, timeoutMs?: number): Promise<void>;
  /**
   * Runs a maintenance task with the clock at `now`, as its job scheduler
   * would, and waits until what it queued is delivered, emails included.
   * Throws if the task's job fails.
   */
  runMaintenanceAt(task: MaintenanceJob['task'], now: Date): Promise<void>;
  close(): Promise<void>;
}

export const newOrgId = () => `org-${randomUUID().slice(0, 8)}`;

/**
 * The notifier role (started with `start`) over the file's Redis and SMTP
 * fixtures, which outlive it: `close()` stops what the harness started, the
 * fixtures clean up after the file.
 */
export async function startHarness(fixtures: {
  redis: RedisFixture;
  smtp: SmtpSink;
}): Promise<NotifierHarness> {
  const { redis, smtp } = fixtures;
  const logLines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      logLines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger({ name: 'notifier', level: 'debug', destination });
  const env: NotifierEnv = {
    ...redis.env,
    SMTP_URL: smtp.url,
    MAIL_FROM,
    PORTAL_BASE_URL: PORTAL,
    NOTIFIER_CONCURRENCY: 8,
    NOTIFIER_EMAIL_CONCURRENCY: 2,
    NOTIFIER_EMAIL_ATTEMPTS: 15,
    NOTIFIER_EMAIL_BACKOFF_MS: 100,
    NOTIFIER_LOCK_DURATION_MS: 5_000,
    NOTIFIER_STALLED_INTERVAL_MS: 1_000,
  };
  const connection = redis.connect({ maxRetriesPerRequest: null });
  const secretKey = randomBytes(32).toString('base64');
  const stores = createStores(connection, env.QUEUE_PREFIX, secretKey);
  const notifications = new TypedQueue('notifications', {
    connection,
    prefix: env.QUEUE_PREFIX,
    env,
  });
  const maintenance = new TypedQueue('maintenance', { connection, prefix: env.QUEUE_PREFIX, env });
  const raw = {
    notifications: notifications.queue,
    maintenance: maintenance.queue,
    email: new Queue(queues.email.name, { connection, prefix: env.QUEUE_PREFIX }),
  };
  const clock = new TestClock();
  // One at a time: each takes and frees the org's single run slot.
  let recording: Promise<unknown> = Promise.resolve();
  const recordRun = async (message: NotificationJob, runId: string) => {
    if (await stores.runs.exists(message.orgId, runId)) return;
    const run = newQueuedRun({
      id: runId,
      orgId: message.orgId,
      trigger: 'manual',
      createdAt: new Date(message.occurredAt),
    });
    const { created } = await stores.runs.createIfIdle(run);
    if (!created) throw new Error(`run ${runId} could not be recorded: another is active`);
    const failure = 'failure' in message ? message.failure : null;
    await stores.runs.save({
      ...run,
      status: failure ? 'failed' : 'succeeded',
      finishedAt: message.occurredAt,
      failure,
    });
  };

  const harness: NotifierHarness = {
    redis,
    smtp,
    stores,
    secretKey,
    env,
    clock,
    logLines,
    role: null,
    notifications,
    maintenance,
    raw,
    async start(overrides = {}, roleOptions = {}) {
      harness.role = await startNotifierRole({ ...env, ...overrides }, logger, {
        now: clock.now,
        ...roleOptions,
      });
      return harness.role;
    },
    async configure(orgId, o = {}) {
      await stores.integrations.put(
        orgId,
        integrationSettingsInputSchema.parse({
          tenantId: 'contoso.onmicrosoft.com',
          clientId: randomUUID(),
          clientSecret: `Sx8~${randomUUID()}`,
          clientSecretExpiresAt: (
            o.expiresAt ?? new Date(Date.now() + 365 * 86_400_000)
          ).toISOString(),
          groupIds: [randomUUID()],
          notifications: {
            email: {
              enabled: o.email ?? true,
              recipients: o.recipients ?? (o.email === false ? [] : [`admin@${orgId}.test`]),
            },
          },
          ...(o.authMethod ? { authMethod: o.authMethod } : {}),
        }),
      );
    },
    async handOff(message) {
      const fence = alertFence(message);
      if (fence !== 'integration') {
        const recorded = recording.then(() => recordRun(message, fence.runId));
        recording = recorded.catch(() => {});
        await recorded;
      }
      return notifications.add(message);
    },
    async inbox(orgId) {
      return (await stores.notifications.list(orgId, { limit: 100 })).items;
    },
    mailsFor(orgId) {
      return smtp.messages().filter((m) => m.parsed.headers['x-pinnacle-org-id'] === orgId);
    },
    async runMaintenanceAt(task, now) {
      clock.set(now);
      const { id } = await maintenance.add({ task });
      const state = await harness.finished(raw.maintenance, id!);
      if (state !== 'completed') throw new Error(`maintenance job ${id} ${state}`);
      await harness.drained(raw.notifications);
      await harness.drained(raw.email);
    },
    async finished(queue, jobId, timeoutMs = 15_000) {
      return waitFor(
        async () => {
          const state = await queue.getJobState(jobId);
          return state === 'completed' || state === 'failed' ? state : null;
        },
        { timeoutMs, intervalMs: 20, description: `job ${jobId} in ${queue.name} to finish` },
      );
    },
    async drained(queue, timeoutMs = 15_000) {
      await waitFor(
        async () => {
          const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
          return Object.values(counts).every((n) => n === 0);
        },
        { timeoutMs, intervalMs: 20, description: `queue ${queue.name} to drain` },
      );
    },
    async close() {
      await harness.role?.close();
      await raw.email.close();
      await notifications.close();
      await maintenance.close();
    },
  };
  return harness;
}
