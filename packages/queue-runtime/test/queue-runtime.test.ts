import { createLogger } from '@pinnacle/logging';
import { metricDefinitions, readRecordedMetrics } from '@pinnacle/metrics';
import {
  InvalidJobPayloadError,
  type NotificationJob,
  notificationJobId,
  queues,
  type SyncJob,
  syncJobId,
} from '@pinnacle/queue-contracts';
import { getFreePort, type RedisServer, startRedisServer, waitFor } from '@pinnacle/testing';
import { type RedisFixture, test } from '@pinnacle/testing/fixtures';
import { type Job, Queue, QueueEvents, UnrecoverableError } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisConnection, waitForReady } from '../src/connections.js';
import { TypedQueue } from '../src/typed-queue.js';
import { type LockSettings, WorkerRegistry } from '../src/worker-registry.js';

let r: RedisFixture;
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

test.beforeAll(async ({ redis }) => {
  r = redis;
});

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  for (const c of connections) c.disconnect();
  for (const s of servers) await s.stop().catch(() => {});
});

/** Log lines captured from a logger. */
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

const syncEnv = { SYNC_ATTEMPTS: 4, SYNC_BACKOFF_MS: 250 };

async function finishedState(queue: Queue, jobId: string): Promise<string> {
  return waitFor(
    async () => {
      const state = await queue.getJobState(jobId);
      return state === 'completed' || state === 'failed' ? state : null;
    },
    { timeoutMs: 15_000, description: `job ${jobId} to finish` },
  );
}

const LOCK: LockSettings = { lockDuration: 7_000, stalledInterval: 3_000, maxStalledCount: 3 };

/** A registry on the test Redis, closed in afterAll. */
function registry(prefix: string) {
  const { logger, lines } = capturingLogger();
  const created = new WorkerRegistry({
    role: 'test-role',
    redis: r.url,
    prefix,
    logger,
    lock: LOCK,
  });
  closers.push(() => created.close());
  return { registry: created, lines };
}

function rawQueue(name: string, prefix: string): Queue {
  const queue = new Queue(name, { connection: connection(r.url, 'producer'), prefix });
  closers.push(() => queue.close());
  return queue;
}

function syncQueue(prefix: string, producer = connection(r.url, 'producer')) {
  const queue = new TypedQueue('sync', { connection: producer, prefix, env: syncEnv });
  closers.push(() => queue.close());
  return queue;
}

describe('TypedQueue', () => {
  it('refuses an invalid payload before touching Redis', async () => {
    const prefix = queuePrefix();
    const queue = syncQueue(prefix);
    const bad = { orgId: 'org:1', trigger: 'manual', runId: 'job-bad' } as unknown as SyncJob;
    await expect(queue.add(bad)).rejects.toBeInstanceOf(InvalidJobPayloadError);
    await expect(queue.add(bad)).rejects.toThrow(/orgId/);
    await expect(queue.addBulk([{ orgId: 'org-1', trigger: 'manual' }, bad])).rejects.toThrow(
      /orgId/,
    );
    await expect(
      queue.upsertScheduler('s-1', { every: 60_000 }, { ...bad, trigger: 'schedule' }),
    ).rejects.toBeInstanceOf(InvalidJobPayloadError);
    expect(await queue.queue.getJobCounts()).toEqual(
      expect.objectContaining({ waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 }),
    );
    expect(await queue.getScheduler('s-1')).toBeUndefined();
    // No job ID was even allocated, and the valid half of the bulk was not added either.
    expect(await r.redis.exists(`${prefix}:sync:id`)).toBe(0);
    expect(await r.redis.exists(`${prefix}:sync:${syncJobId('job-bad')}`)).toBe(0);
  });

  it('refuses an invalid payload even when Redis is down (it never gets that far)', async () => {
    const server = await startRedisServer({ appendonly: false });
    servers.push(server);
    const producer = connection(server.url, 'producer');
    await waitForReady(producer);
    const queue = syncQueue(queuePrefix(), producer);
    queue.queue.on('error', () => {});
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

  it("stores the parsed payload under the definition's job ID, name and options from the environment", async () => {
    const prefix = queuePrefix();
    const queue = syncQueue(prefix);
    const payload = { orgId: 'org-1', trigger: 'manual', runId: 'r-1', extra: 'dropped' };
    const job = await queue.add(payload as SyncJob);
    expect(job.id).toBe(syncJobId('r-1'));
    expect(job.name).toBe('sync org-1');
    const stored = await queue.queue.getJob(syncJobId('r-1'));
    expect(stored?.data).toEqual({ orgId: 'org-1', trigger: 'manual', runId: 'r-1' });
    expect(stored?.opts).toMatchObject({
      attempts: 4,
      backoff: { type: 'exponential', delay: 250, jitter: 0.5 },
      removeOnComplete: { age: 7 * 24 * 3600, count: 5000 },
    });
    expect(await r.redis.exists(`${prefix}:sync:${syncJobId('r-1')}`)).toBe(1);
    // The same run again is the same job: BullMQ keeps one.
    await queue.add({ orgId: 'org-1', trigger: 'manual', runId: 'r-1' });
    expect(await queue.queue.getJobCounts('waiting')).toEqual({ waiting: 1 });
  });

  it('adds in bulk, each job named and identified by the definition', async () => {
    const queue = syncQueue(queuePrefix());
    const jobs = await queue.addBulk([
      { orgId: 'org-a', trigger: 'manual', runId: 'bulk-a' },
      { orgId: 'org-b', trigger: 'manual', runId: 'bulk-b' },
    ]);
    expect(jobs.map((j) => [j.id, j.name, j.opts.attempts])).toEqual([
      [syncJobId('bulk-a'), 'sync org-a', 4],
      [syncJobId('bulk-b'), 'sync org-b', 4],
    ]);
  });

  it("a job scheduler's template is the job the definition makes: same name, payload and options", async () => {
    const queue = syncQueue(queuePrefix());
    await queue.upsertScheduler(
      'sched-1',
      { every: 3_600_000, offset: 1_000 },
      { orgId: 'org-s', trigger: 'schedule' },
    );
    const scheduler = await queue.getScheduler('sched-1');
    expect(scheduler).toMatchObject({
      name: 'sync org-s',
      every: 3_600_000,
      template: {
        data: { orgId: 'org-s', trigger: 'schedule' },
        opts: queues.sync.jobOptions(syncEnv),
      },
    });
    // The job it made for the next slot carries the same options.
    const [next] = await queue.queue.getDelayed();
    expect(next?.name).toBe('sync org-s');
    expect(next?.opts).toMatchObject({ attempts: 4, backoff: { delay: 250 } });
    await queue.removeScheduler('sched-1');
    expect(await queue.getScheduler('sched-1')).toBeUndefined();
  });

  it('notification job IDs are accepted by BullMQ and deduplicate re-sends', async () => {
    const queue = new TypedQueue('notifications', {
      connection: connection(r.url, 'producer'),
      prefix: queuePrefix(),
      env: {},
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
      const job = await queue.add(m);
      expect(job.id).toBe(notificationJobId(m));
      expect(job.name).toBe(`notify ${m.type} org-1`);
      await queue.add({ ...m, occurredAt: '2026-01-02T00:00:00.000Z' });
    }
    expect(await queue.queue.getJobCounts('waiting')).toEqual({ waiting: messages.length });
  });
});

describe('WorkerRegistry', () => {
  it("hands the handler the parsed payload, its job and the role's metrics", async () => {
    const prefix = queuePrefix();
    const raw = rawQueue('sync', prefix);
    const { registry: reg } = registry(prefix);
    const received: { payload: SyncJob; data: unknown }[] = [];
    reg.worker(
      'sync',
      async (payload, { job, metrics }) => {
        received.push({ payload, data: job.data });
        await metrics.notificationDelivered('email', 'delivered');
        return { handled: payload.orgId };
      },
      { concurrency: 1 },
    );
    // Added raw, with a field the contract does not know: the handler gets the parsed payload.
    await raw.add(
      'sync org-7',
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
    expect((await raw.getJob('valid-1'))?.returnvalue).toEqual({ handled: 'org-7' });
    // Recorded under the queue prefix, where the API's /metrics reads them back.
    const recorded = await readRecordedMetrics(r.redis, prefix);
    const deliveries = recorded.counters.find(
      (c) => c.definition.name === metricDefinitions.notifications.name,
    );
    expect(deliveries?.series).toEqual([
      { labels: { channel: 'email', outcome: 'delivered' }, value: 1 },
    ]);
  });

  it('fails an invalid payload once, without retrying, naming the problem', async () => {
    const prefix = queuePrefix();
    const raw = rawQueue('sync', prefix);
    const { registry: reg, lines } = registry(prefix);
    let calls = 0;
    reg.worker(
      'sync',
      async () => {
        calls++;
      },
      { concurrency: 1 },
    );
    await raw.add(
      'sync',
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
    const logged = lines.find((l) => l.msg === 'invalid job payload; not retrying');
    expect(logged).toMatchObject({
      level: 'error',
      jobId: 'invalid-1',
      queue: 'sync',
      component: 'test-role',
    });
    expect(JSON.stringify(logged?.issues)).toContain('orgId');
    await waitFor(() => lines.some((l) => l.msg === 'job attempt failed'), {
      description: 'the failed attempt to be logged',
    });
  });

  it('a handler error is retried as configured and each failed attempt logged with its org', async () => {
    const prefix = queuePrefix();
    const raw = rawQueue('maintenance', prefix);
    const { registry: reg, lines } = registry(prefix);
    let calls = 0;
    reg.worker(
      'maintenance',
      async () => {
        calls++;
        if (calls < 3) throw new Error(`transient ${calls}`);
        return 'done';
      },
      { concurrency: 1 },
    );
    await raw.add(
      'scan_secret_expiry',
      { task: 'scan_secret_expiry' },
      { jobId: 'retry-1', attempts: 5, backoff: { type: 'fixed', delay: 10 } },
    );
    expect(await finishedState(raw, 'retry-1')).toBe('completed');
    expect(calls).toBe(3);
    expect((await raw.getJob('retry-1'))?.attemptsMade).toBe(3);
    expect(
      lines.filter((l) => l.msg === 'job attempt failed').map((l) => [l.jobId, l.reason]),
    ).toEqual([
      ['retry-1', 'transient 1'],
      ['retry-1', 'transient 2'],
    ]);
  });

  it("starts every worker with the role's lock settings", async () => {
    const { registry: reg } = registry(queuePrefix());
    const workers = [
      reg.worker('notifications', async () => undefined, { concurrency: 3 }),
      reg.worker('email', async () => undefined, { concurrency: 2 }),
    ];
    await reg.ready();
    for (const worker of workers) {
      expect(worker.opts).toMatchObject({
        lockDuration: LOCK.lockDuration,
        stalledInterval: LOCK.stalledInterval,
        maxStalledCount: LOCK.maxStalledCount,
      });
    }
    expect(workers.map((w) => w.opts.concurrency)).toEqual([3, 2]);
  });

  it('closes gracefully: a running job finishes, handing off through its queue, before the connections close', async () => {
    const prefix = queuePrefix();
    const raw = rawQueue('notifications', prefix);
    const { registry: reg } = registry(prefix);
    const handOff = reg.queue('notifications', {}, { connection: reg.storeConnection });
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = false;
    reg.worker(
      'sync',
      async (payload) => {
        started = true;
        await gate;
        // The hand-off after close() began: the queue and its connection must still be open.
        await handOff.add({
          type: 'client_secret_expired',
          orgId: payload.orgId,
          occurredAt: '2026-01-01T00:00:00.000Z',
          expiresAt: '2026-01-01T00:00:00.000Z',
        });
      },
      { concurrency: 1 },
    );
    await reg.ready();
    const producer = syncQueue(prefix);
    const job = await producer.add({ orgId: 'org-close', trigger: 'manual', runId: 'r-close' });
    await waitFor(() => started, { description: 'the job to start' });

    const closed = reg.close();
    let closedYet = false;
    void closed.then(() => {
      closedYet = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(closedYet).toBe(false);
    release();
    await closed;
    expect(await producer.queue.getJobState(job.id!)).toBe('completed');
    const handedOff = await raw.getJobs(['waiting']);
    expect(handedOff.map((j) => j.name)).toEqual(['notify client_secret_expired org-close']);
    expect(reg.storeConnection.status).toBe('end');
    // Closing again is the same close.
    await reg.close();
  });
});

describe("an org's jobs (offboarding)", () => {
  it('removes every job of the org in every state but running, and no other org’s', async () => {
    const prefix = queuePrefix();
    const queue = syncQueue(prefix);
    const { registry: reg } = registry(prefix);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    reg.worker(
      'sync',
      async (payload) => {
        if (payload.runId === 'a-running') await gate;
        if (payload.runId?.endsWith('-fails')) throw new Error('blocked');
        return 'ok';
      },
      { concurrency: 4 },
    );
    await reg.ready();
    // Finished jobs of both orgs: completed and failed (one attempt each).
    for (const org of ['org-a', 'org-b']) {
      const short = org.slice(-1);
      for (const runId of [`${short}-done`, `${short}-fails`]) {
        const job = await queue.add({ orgId: org, trigger: 'manual', runId });
        await finishedState(queue.queue, job.id!);
      }
    }
    const running = await queue.add({ orgId: 'org-a', trigger: 'manual', runId: 'a-running' });
    await waitFor(async () => (await queue.queue.getJobState(running.id!)) === 'active', {
      description: 'the job to run',
    });
    // Waiting and delayed jobs, added raw past the worker: a second queue object, no worker.
    await queue.queue.pause();
    await queue.add({ orgId: 'org-a', trigger: 'manual', runId: 'a-waiting' });
    await queue.add({ orgId: 'org-b', trigger: 'manual', runId: 'b-waiting' });
    await queue.queue.add('sync org-a', { orgId: 'org-a', trigger: 'schedule' }, { delay: 60_000 });
    // A name that only starts like the org's.
    await queue.add({ orgId: 'org-ab', trigger: 'manual', runId: 'ab-waiting' });

    const ofOrg = async (org: string) =>
      (await queue.jobsOfOrg(org)).map((j) => `${j.id}:${j.state}`).sort();
    expect(await ofOrg('org-a')).toEqual(
      [
        `${syncJobId('a-done')}:completed`,
        `${syncJobId('a-fails')}:failed`,
        `${syncJobId('a-running')}:active`,
        `${syncJobId('a-waiting')}:wait`,
        expect.stringMatching(/:delayed$/),
      ].sort(),
    );
    const before = await ofOrg('org-b');
    expect(before).toHaveLength(3);

    const removal = await queue.removeJobsOfOrg('org-a');
    expect(removal).toEqual({ removed: 4, running: [syncJobId('a-running')] });
    expect(await ofOrg('org-a')).toEqual([`${syncJobId('a-running')}:active`]);
    expect(await ofOrg('org-b')).toEqual(before);
    expect(await ofOrg('org-ab')).toHaveLength(1);
    // Nothing of the removed jobs is left under the queue prefix.
    const left = (await r.keys()).filter((k) => k.startsWith(`${prefix}:sync:`));
    for (const id of ['a-done', 'a-fails', 'a-waiting']) {
      expect(left.filter((k) => k.includes(syncJobId(id)))).toEqual([]);
    }
    await queue.queue.resume();
    release();
    await finishedState(queue.queue, running.id!);
  });

  it('a job discarded by its handler is deleted as it completes or fails, whatever the retention', async () => {
    const prefix = queuePrefix();
    const queue = syncQueue(prefix);
    const { registry: reg } = registry(prefix);
    const finished: string[] = [];
    reg.worker(
      'sync',
      async (payload, { discard }) => {
        if (payload.runId?.startsWith('gone')) discard();
        if (payload.runId?.endsWith('fails')) throw new UnrecoverableError('stop');
        return 'ok';
      },
      { concurrency: 1 },
    );
    const events = new QueueEvents('sync', { connection: connection(r.url, 'worker'), prefix });
    closers.push(() => events.close());
    events.on('completed', ({ jobId }) => void finished.push(jobId));
    events.on('failed', ({ jobId }) => void finished.push(jobId));
    await events.waitUntilReady();
    await reg.ready();
    const ids: string[] = [];
    for (const runId of ['kept', 'gone', 'gone-fails', 'kept-fails']) {
      ids.push((await queue.add({ orgId: 'org-d', trigger: 'manual', runId })).id!);
    }
    await waitFor(() => finished.length === 4, { description: 'every job to finish' });
    expect(await queue.queue.getJobState(syncJobId('kept'))).toBe('completed');
    expect(await queue.queue.getJobState(syncJobId('kept-fails'))).toBe('failed');
    for (const id of [syncJobId('gone'), syncJobId('gone-fails')]) {
      expect(await queue.queue.getJob(id)).toBeUndefined();
      expect((await r.keys()).filter((k) => k.includes(id))).toEqual([]);
    }
    expect(ids).toHaveLength(4);
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
