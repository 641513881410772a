import { createLogger } from '@pinnacle/logging';
import {
  InvalidJobPayloadError,
  type NotificationJob,
  notificationJobId,
  type QueueKey,
  type QueuePayload,
  type SyncJob,
  syncJobId,
} from '@pinnacle/queue-contracts';
import {
  getFreePort,
  type RedisServer,
  startRedisServer,
  type TestRedis,
  useTestRedis,
  waitFor,
} from '@pinnacle/testing';
import { type Job, Queue, type Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisConnection, waitForReady } from '../src/connections.js';
import { TypedQueue } from '../src/typed-queue.js';
import { createTypedWorker } from '../src/typed-worker.js';

let r: TestRedis;
const connections: Redis[] = [];
const closers: (() => Promise<unknown>)[] = [];
const servers: RedisServer[] = [];

/** A connection closed in afterAll. */
function connection(url: string, role: 'producer' | 'worker'): Redis {
  const c = createRedisConnection(url, role);
  // Outages are provoked on purpose below; their errors are expected.
  c.on('error', () => {});
  connections.push(c);
  return c;
}

beforeAll(async () => {
  r = await useTestRedis('queue-runtime');
});

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  for (const c of connections) c.disconnect();
  for (const s of servers) await s.stop().catch(() => {});
  await r.cleanup();
});

/** Log lines captured from the worker's logger. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    name: 'queue-runtime-test',
    level: 'info',
    destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
  });
  return { logger, lines };
}

/** Unique queue prefix per test: the test prefix plus a suffix, so queues never share state. */
let prefixCount = 0;
const queuePrefix = () => `${r.prefix}:q${++prefixCount}`;

async function finishedState(queue: Queue, jobId: string): Promise<string> {
  return waitFor(
    async () => {
      const state = await queue.getJobState(jobId);
      return state === 'completed' || state === 'failed' ? state : null;
    },
    { timeoutMs: 15_000, description: `job ${jobId} to finish` },
  );
}

function startWorker<K extends QueueKey>(
  key: K,
  prefix: string,
  handler: (payload: QueuePayload<K>, job: Job) => Promise<unknown>,
) {
  const { logger, lines } = capturingLogger();
  const finished: { jobId: string | undefined; outcome: string; error?: string }[] = [];
  const worker: Worker = createTypedWorker(key, handler, {
    connection: connection(r.url, 'worker'),
    prefix,
    logger,
    onFinished: (_queue, job, outcome, error) =>
      finished.push({ jobId: job.id, outcome, ...(error ? { error: error.message } : {}) }),
  });
  closers.push(() => worker.close());
  return { worker, lines, finished };
}

function rawQueue(name: string, prefix: string): Queue {
  const queue = new Queue(name, { connection: connection(r.url, 'producer'), prefix });
  closers.push(() => queue.close());
  return queue;
}

describe('TypedQueue', () => {
  it('refuses an invalid payload before touching Redis', async () => {
    const prefix = queuePrefix();
    const queue = new TypedQueue('sync', { connection: connection(r.url, 'producer'), prefix });
    closers.push(() => queue.close());
    const bad = { orgId: 'org:1', trigger: 'manual' } as unknown as SyncJob;
    await expect(queue.add(bad, { jobId: 'job-bad' })).rejects.toBeInstanceOf(
      InvalidJobPayloadError,
    );
    await expect(queue.add(bad)).rejects.toThrow(/orgId/);
    expect(await queue.queue.getJobCounts()).toEqual(
      expect.objectContaining({ waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 }),
    );
    expect(await queue.queue.getJob('job-bad')).toBeUndefined();
    // No job ID was even allocated.
    expect(await r.redis.exists(`${prefix}:sync:id`)).toBe(0);
    expect(await r.redis.exists(`${prefix}:sync:job-bad`)).toBe(0);
  });

  it('refuses an invalid payload even when Redis is down (it never gets that far)', async () => {
    const server = await startRedisServer({ appendonly: false });
    servers.push(server);
    const producer = connection(server.url, 'producer');
    await waitForReady(producer);
    const queue = new TypedQueue('sync', { connection: producer, prefix: queuePrefix() });
    queue.queue.on('error', () => {});
    closers.push(() => queue.close());
    await server.kill();
    const bad = { orgId: 'org-1', trigger: 'sometimes' } as unknown as SyncJob;
    await expect(queue.add(bad)).rejects.toBeInstanceOf(InvalidJobPayloadError);
    // A valid payload does go to Redis, and fails for lack of it.
    const error = await queue.add({ orgId: 'org-1', trigger: 'manual' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(InvalidJobPayloadError);
  });

  it('stores the parsed payload, under the given prefix, with the given job ID', async () => {
    const prefix = queuePrefix();
    const queue = new TypedQueue('sync', { connection: connection(r.url, 'producer'), prefix });
    closers.push(() => queue.close());
    const payload = { orgId: 'org-1', trigger: 'manual', runId: 'run-1', extra: 'dropped' };
    const job = await queue.add(payload as SyncJob, { jobId: syncJobId('run-1') });
    expect(job.id).toBe('run-run-1');
    expect(job.name).toBe('sync-org');
    const stored = await queue.queue.getJob('run-run-1');
    expect(stored?.data).toEqual({ orgId: 'org-1', trigger: 'manual', runId: 'run-1' });
    expect(await r.redis.exists(`${prefix}:sync:run-run-1`)).toBe(1);
    // The same job ID again is the same job: BullMQ keeps one.
    await queue.add({ orgId: 'org-1', trigger: 'manual', runId: 'run-1' }, { jobId: 'run-run-1' });
    expect(await queue.queue.getJobCounts('waiting')).toEqual({ waiting: 1 });
  });

  it('notification job IDs are accepted by BullMQ and deduplicate re-sends', async () => {
    const queue = new TypedQueue('notifications', {
      connection: connection(r.url, 'producer'),
      prefix: queuePrefix(),
    });
    closers.push(() => queue.close());
    const messages: NotificationJob[] = [
      {
        type: 'sync_recovered',
        orgId: 'org-1',
        occurredAt: '2026-01-01T00:00:00.000Z',
        runId: 'run-9',
        previousFailureCode: 'consent_missing',
      },
      {
        type: 'client_secret_expiring',
        orgId: 'org-1',
        occurredAt: '2026-01-01T00:00:00.000Z',
        expiresAt: '2026-01-08T10:20:30.000Z',
        thresholdDays: 7,
        daysLeft: 7,
      },
      {
        type: 'client_secret_expired',
        orgId: 'org-1',
        occurredAt: '2026-01-01T00:00:00.000Z',
        expiresAt: '2025-12-31T10:20:30.000Z',
      },
    ];
    for (const m of messages) {
      const job = await queue.add(m, { jobId: notificationJobId(m) });
      expect(job.id).toBe(notificationJobId(m));
      await queue.add({ ...m, occurredAt: '2026-01-02T00:00:00.000Z' }, { jobId: job.id });
    }
    expect(await queue.queue.getJobCounts('waiting')).toEqual({ waiting: messages.length });
  });
});

describe('createTypedWorker', () => {
  it('processes a valid job and hands the handler the parsed payload', async () => {
    const prefix = queuePrefix();
    const raw = rawQueue('sync', prefix);
    const received: { payload: SyncJob; data: unknown }[] = [];
    const { finished } = startWorker('sync', prefix, async (payload, job) => {
      received.push({ payload, data: job.data });
      return { handled: payload.orgId };
    });
    // Added raw, with a field the contract does not know: the handler gets the parsed payload.
    await raw.add(
      'sync-org',
      { orgId: 'org-7', trigger: 'schedule', futureField: 1 },
      { jobId: 'valid-1' },
    );
    expect(await finishedState(raw, 'valid-1')).toBe('completed');
    expect(received).toEqual([
      {
        payload: { orgId: 'org-7', trigger: 'schedule' },
        data: { orgId: 'org-7', trigger: 'schedule', futureField: 1 },
      },
    ]);
    const job = await raw.getJob('valid-1');
    expect(job?.returnvalue).toEqual({ handled: 'org-7' });
    await waitFor(() => finished.length === 1, { description: 'onFinished' });
    expect(finished).toEqual([{ jobId: 'valid-1', outcome: 'completed' }]);
  });

  it('fails an invalid payload once, without retrying, naming the problem', async () => {
    const prefix = queuePrefix();
    const raw = rawQueue('sync', prefix);
    let calls = 0;
    const { lines, finished } = startWorker('sync', prefix, async () => {
      calls++;
    });
    await raw.add(
      'sync-org',
      { orgId: 'org:bad', trigger: 'manual' },
      { jobId: 'invalid-1', attempts: 5, backoff: { type: 'fixed', delay: 10 } },
    );
    expect(await finishedState(raw, 'invalid-1')).toBe('failed');
    const job = (await raw.getJob('invalid-1')) as Job;
    expect(job.attemptsMade).toBe(1);
    expect(job.opts.attempts).toBe(5);
    expect(job.failedReason).toMatch(/^Invalid sync job payload: orgId: /);
    expect(calls).toBe(0);
    // Final: not waiting or delayed for another attempt.
    expect(await raw.getJobCounts('delayed', 'waiting', 'active')).toEqual({
      delayed: 0,
      waiting: 0,
      active: 0,
    });
    await waitFor(() => finished.length === 1, { description: 'onFinished' });
    expect(finished[0]).toMatchObject({ jobId: 'invalid-1', outcome: 'failed' });
    const logged = lines.find((l) => l.msg === 'invalid job payload; not retrying');
    expect(logged).toMatchObject({ level: 'error', jobId: 'invalid-1', queue: 'sync' });
    expect(JSON.stringify(logged?.issues)).toContain('orgId');
  });

  it('a handler error is retried as configured (only bad payloads are final)', async () => {
    const prefix = queuePrefix();
    const raw = rawQueue('maintenance', prefix);
    let calls = 0;
    startWorker('maintenance', prefix, async () => {
      calls++;
      if (calls < 3) throw new Error(`transient ${calls}`);
      return 'done';
    });
    await raw.add(
      'maintenance',
      { task: 'scan_secret_expiry' },
      { jobId: 'retry-1', attempts: 5, backoff: { type: 'fixed', delay: 10 } },
    );
    expect(await finishedState(raw, 'retry-1')).toBe('completed');
    expect(calls).toBe(3);
    expect((await raw.getJob('retry-1'))?.attemptsMade).toBe(3);
  });
});

describe('createRedisConnection', () => {
  it('a producer fails fast while the server is down and recovers when it is back', async () => {
    const server = await startRedisServer({ appendonly: false });
    servers.push(server);
    const producer = connection(server.url, 'producer');
    await waitForReady(producer);
    expect(await producer.ping()).toBe('PONG');

    await server.kill();
    for (const command of [() => producer.ping(), () => producer.set('k', 'v')]) {
      // Bounded well below the test timeout: a hang is reported as such.
      const outcome = await Promise.race([
        command().then(
          () => 'resolved',
          () => 'rejected',
        ),
        new Promise((resolve) => setTimeout(resolve, 10_000, 'hung')),
      ]);
      expect(outcome).toBe('rejected');
    }

    await server.restart();
    await waitForReady(producer, 15_000);
    expect(await producer.ping()).toBe('PONG');
  });

  it('a producer to a server that never answered fails fast too', async () => {
    const port = await getFreePort();
    const producer = connection(`redis://127.0.0.1:${port}`, 'producer');
    const outcome = await Promise.race([
      producer.get('x').then(
        () => 'resolved',
        () => 'rejected',
      ),
      new Promise((resolve) => setTimeout(resolve, 10_000, 'hung')),
    ]);
    expect(outcome).toBe('rejected');
  });

  it('a worker connection waits out an outage instead of failing', async () => {
    const server = await startRedisServer({ appendonly: false });
    servers.push(server);
    const worker = connection(server.url, 'worker');
    await waitForReady(worker);
    await server.kill();
    await waitFor(() => worker.status !== 'ready', { description: 'the outage to be noticed' });
    const pending = worker.ping();
    await server.restart();
    expect(await pending).toBe('PONG');
  });
});

describe('waitForReady', () => {
  it('resolves at once for a ready connection and once a new one is ready', async () => {
    const c = connection(r.url, 'producer');
    const listenersBefore = c.listenerCount('ready');
    await waitForReady(c);
    expect(c.status).toBe('ready');
    expect(c.listenerCount('ready')).toBe(listenersBefore);
    await waitForReady(c); // already ready
    expect(await c.ping()).toBe('PONG');
  });

  it('rejects after the timeout when Redis does not answer, and cleans up', async () => {
    const port = await getFreePort();
    const c = connection(`redis://127.0.0.1:${port}`, 'producer');
    const listenersBefore = c.listenerCount('ready');
    await expect(waitForReady(c, 300)).rejects.toThrow(/did not become ready within 300 ms/);
    expect(c.listenerCount('ready')).toBe(listenersBefore);
  });
});
