import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { newQueuedRun, type Run, runSchema, syncAcceptedSchema } from '@pinnacle/domain';
import { syncJobId } from '@pinnacle/queue-contracts';
import { createRedisConnection, TypedQueue, waitForReady } from '@pinnacle/queue-runtime';
import {
  createStores,
  dataPrefix,
  NotificationRepository,
  type Stores,
} from '@pinnacle/redis-store';
import { SyncScheduler } from '@pinnacle/sync-scheduler';
import { type RedisServer, startRedisServer } from '@pinnacle/testing';
import type { RedisFixture } from '@pinnacle/testing/fixtures';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createApiApp,
  createApiLimits,
  DEFAULT_LIMIT_SETTINGS,
  entraAccessFromEnv,
  redisReadiness,
} from '../src/index.js';
import { test } from './fixtures.js';
import {
  AUTH_SECRET,
  captureLogger,
  ENCRYPTION_KEY,
  send,
  settingsBody,
  signToken,
  type TestApi,
} from './helpers.js';

let r: RedisFixture;
let api: TestApi;
let token: string;
let stores: Stores;
let queue: Queue;

const runListSchema = z.object({ items: z.array(runSchema), nextCursor: z.string().nullable() });

test.beforeAll(async ({ redis, api: started, stores: repositories }) => {
  r = redis;
  api = started;
  token = await signToken({ org: '*' });
  stores = repositories;
  queue = new Queue('sync', {
    connection: r.connect({ maxRetriesPerRequest: null }),
    prefix: r.prefix,
  });
});
afterAll(async () => {
  await queue?.close();
});

async function jobsOf(orgId: string) {
  const jobs = await queue.getJobs(['waiting', 'delayed', 'active', 'prioritized']);
  return jobs.filter((job) => (job.data as { orgId?: string }).orgId === orgId);
}

const syncNow = (orgId: string, body?: unknown) =>
  api.request('POST', `/api/v1/orgs/${orgId}/syncs`, {
    token,
    ...(body === undefined ? {} : { body }),
  });

function manualRun(orgId: string, id: string, createdAt: Date, patch: Partial<Run> = {}): Run {
  return { ...newQueuedRun({ id, orgId, trigger: 'manual', createdAt }), ...patch };
}

describe('Sync Now', () => {
  it('makes one run and one job however often it is pressed', async () => {
    const orgId = 'org-dedup';
    await api.request('PUT', `/api/v1/orgs/${orgId}/integration`, { token, body: settingsBody() });
    const [a, b] = await Promise.all([syncNow(orgId), syncNow(orgId, {})]);
    const c = await syncNow(orgId);
    const answers = [a, b, c].map((res) => {
      expect(res.status).toBe(202);
      return syncAcceptedSchema.parse(res.json);
    });
    const runIds = new Set(answers.map((x) => x.runId));
    expect(runIds.size).toBe(1);
    expect(answers.filter((x) => !x.deduplicated)).toHaveLength(1);
    expect(answers.filter((x) => x.deduplicated)).toHaveLength(2);
    expect(answers.every((x) => x.status === 'queued')).toBe(true);

    const [runId] = [...runIds] as [string];
    // Sync Now jobs only: the org's job scheduler keeps its own next (delayed) job.
    const jobs = (await jobsOf(orgId)).filter((j) => j.data?.trigger === 'manual');
    expect(jobs).toHaveLength(1);
    const job = jobs[0]!;
    expect(job.id).toBe(syncJobId(runId));
    expect(job.data).toMatchObject({ orgId, runId, trigger: 'manual' });
    expect(job.opts.attempts).toBe(3);
    expect(job.opts.backoff).toMatchObject({ type: 'exponential', delay: 1000 });

    const run = runSchema.parse(
      (await api.request('GET', `/api/v1/orgs/${orgId}/syncs/${runId}`, { token })).json,
    );
    expect(run).toMatchObject({
      id: runId,
      orgId,
      trigger: 'manual',
      status: 'queued',
      stage: 'preflight',
    });
  });

  it('passes the one-run mass-removal override to the run and the job', async () => {
    const orgId = 'org-override';
    const res = await syncNow(orgId, { allowMassRemoval: true });
    expect(res.status).toBe(202);
    const { runId } = syncAcceptedSchema.parse(res.json);
    const [job] = await jobsOf(orgId);
    expect(job?.data).toMatchObject({ runId, allowMassRemoval: true });
    expect((await stores.runs.get(orgId, runId))?.allowMassRemoval).toBe(true);
  });

  it('records a run for an org without an integration (preflight reports it)', async () => {
    const res = await syncNow('org-unconfigured');
    expect(res.status).toBe(202);
    expect(syncAcceptedSchema.parse(res.json).deduplicated).toBe(false);
    expect(await jobsOf('org-unconfigured')).toHaveLength(1);
  });

  it('starts a new run once the active one has finished, and returns a running one', async () => {
    const orgId = 'org-sequence';
    const first = syncAcceptedSchema.parse((await syncNow(orgId)).json);
    const run = (await stores.runs.get(orgId, first.runId))!;
    await stores.runs.save({
      ...run,
      status: 'running',
      startedAt: new Date().toISOString(),
      attempts: 1,
    });
    const whileRunning = syncAcceptedSchema.parse((await syncNow(orgId)).json);
    expect(whileRunning).toEqual({ runId: first.runId, status: 'running', deduplicated: true });

    await stores.runs.save({ ...run, status: 'succeeded', finishedAt: new Date().toISOString() });
    const second = syncAcceptedSchema.parse((await syncNow(orgId)).json);
    expect(second.deduplicated).toBe(false);
    expect(second.runId).not.toBe(first.runId);
    expect((await jobsOf(orgId)).map((j) => j.id).sort()).toEqual(
      [syncJobId(first.runId), syncJobId(second.runId)].sort(),
    );
  });
});

describe('stale-run recovery', () => {
  const twoMinutesAgo = () => new Date(Date.now() - 120_000);

  it('replaces a queued manual run whose job was never added', async () => {
    const orgId = 'org-stale';
    const lost = manualRun(orgId, 'lost-run', twoMinutesAgo());
    expect((await stores.runs.createIfIdle(lost)).created).toBe(true);

    const res = await syncNow(orgId);
    expect(res.status).toBe(202);
    const accepted = syncAcceptedSchema.parse(res.json);
    expect(accepted.deduplicated).toBe(false);
    expect(accepted.runId).not.toBe('lost-run');
    expect(await stores.runs.activeRunId(orgId)).toBe(accepted.runId);

    const old = await stores.runs.get(orgId, 'lost-run');
    expect(old).toMatchObject({ status: 'failed', failure: { code: 'internal_error' } });
    expect(old?.finishedAt).not.toBeNull();
    expect((await jobsOf(orgId)).map((j) => j.id)).toEqual([syncJobId(accepted.runId)]);
  });

  it('keeps a queued run whose job exists, however old', async () => {
    const orgId = 'org-old-but-alive';
    const alive = manualRun(orgId, 'alive-run', twoMinutesAgo());
    await stores.runs.createIfIdle(alive);
    const typed = new TypedQueue('sync', {
      connection: r.connect({ maxRetriesPerRequest: null }),
      prefix: r.prefix,
      env: { SYNC_ATTEMPTS: 3, SYNC_BACKOFF_MS: 1000 },
    });
    expect((await typed.add({ orgId, runId: 'alive-run', trigger: 'manual' })).id).toBe(
      syncJobId('alive-run'),
    );
    await typed.close();

    const accepted = syncAcceptedSchema.parse((await syncNow(orgId)).json);
    expect(accepted).toEqual({ runId: 'alive-run', status: 'queued', deduplicated: true });
    expect((await stores.runs.get(orgId, 'alive-run'))?.status).toBe('queued');
  });

  it('keeps a young queued run without a job (its job may be on the way)', async () => {
    const orgId = 'org-young';
    await stores.runs.createIfIdle(manualRun(orgId, 'young-run', new Date(Date.now() - 5_000)));
    const accepted = syncAcceptedSchema.parse((await syncNow(orgId)).json);
    expect(accepted).toEqual({ runId: 'young-run', status: 'queued', deduplicated: true });
    expect(await jobsOf(orgId)).toHaveLength(0);
  });

  it('keeps an old running run (a worker holds it)', async () => {
    const orgId = 'org-running';
    await stores.runs.createIfIdle(
      manualRun(orgId, 'running-run', twoMinutesAgo(), { status: 'running', attempts: 1 }),
    );
    const accepted = syncAcceptedSchema.parse((await syncNow(orgId)).json);
    expect(accepted).toEqual({ runId: 'running-run', status: 'running', deduplicated: true });
  });
});

describe('run history', () => {
  it('pages newest first and finds single runs', async () => {
    const orgId = 'org-history';
    const base = Date.UTC(2026, 0, 1);
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const id = `hist-${i}`;
      ids.push(id);
      const run = manualRun(orgId, id, new Date(base + i * 60_000));
      await stores.runs.createIfIdle(run);
      await stores.runs.save({
        ...run,
        status: 'succeeded',
        finishedAt: new Date(base + i * 60_000 + 1000).toISOString(),
      });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `?limit=3&cursor=${cursor}` : '?limit=3';
      const res = await api.request('GET', `/api/v1/orgs/${orgId}/syncs${query}`, { token });
      expect(res.status).toBe(200);
      const page = runListSchema.parse(res.json);
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items.map((run) => run.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());

    const one = await api.request('GET', `/api/v1/orgs/${orgId}/syncs/hist-3`, { token });
    expect(runSchema.parse(one.json)).toMatchObject({ id: 'hist-3', status: 'succeeded' });
    const missing = await api.request('GET', `/api/v1/orgs/${orgId}/syncs/no-such-run`, { token });
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ error: 'not_found' });
    const otherOrg = await api.request('GET', '/api/v1/orgs/org-elsewhere/syncs/hist-3', { token });
    expect(otherOrg.status).toBe(404);
  });

  it('uses the default page size and answers an empty history', async () => {
    const res = await api.request('GET', '/api/v1/orgs/org-empty/syncs', { token });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ items: [], nextCursor: null });
  });
});

describe('when the job cannot be added', () => {
  let queueRedis: RedisServer;
  let server: Server;
  let url: string;
  let typed: TypedQueue<'sync'>;
  let queueConnection: ReturnType<typeof createRedisConnection>;

  beforeAll(async () => {
    // The queue lives on its own throwaway Redis, so it can fail while the stores stay up.
    queueRedis = await startRedisServer({ appendonly: false });
    const storeConnection = createRedisConnection(r.url, 'producer');
    queueConnection = createRedisConnection(queueRedis.url, 'producer');
    queueConnection.on('error', () => {});
    await Promise.all([waitForReady(storeConnection), waitForReady(queueConnection)]);
    typed = new TypedQueue('sync', {
      connection: queueConnection,
      prefix: r.prefix,
      env: { SYNC_ATTEMPTS: 2, SYNC_BACKOFF_MS: 100 },
    });
    typed.queue.on('error', () => {});
    await typed.queue.waitUntilReady();
    const { logger } = captureLogger();
    const app = createApiApp({
      stores: {
        ...createStores(storeConnection, r.prefix, ENCRYPTION_KEY),
        notifications: new NotificationRepository(storeConnection, dataPrefix(r.prefix)),
      },
      syncQueue: typed,
      scheduler: new SyncScheduler(typed),
      limits: createApiLimits({
        redis: storeConnection,
        prefix: dataPrefix(r.prefix),
        settings: DEFAULT_LIMIT_SETTINGS,
        timeoutMs: 3000,
      }),
      orgQueues: [{ key: 'sync', queue: typed.queue, connection: queueConnection }],
      logger,
      config: { authSecret: AUTH_SECRET, queueTimeoutMs: 3000 },
      clock: () => new Date(),
      entra: entraAccessFromEnv({}),
      readiness: redisReadiness([storeConnection, queueConnection]),
    });
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await typed.close().catch(() => {});
      storeConnection.disconnect();
      queueConnection.disconnect();
      await queueRedis.stop();
    };
  });

  it('answers 503, frees the org and records the run as failed', async () => {
    const orgId = 'org-enqueue-fails';
    await queueRedis.kill();
    const res = await send(url, 'POST', `/api/v1/orgs/${orgId}/syncs`, { token });
    expect(res.status).toBe(503);
    expect(res.json).toEqual({ error: 'unavailable' });
    expect(await stores.runs.activeRunId(orgId)).toBeNull();
    const history = await stores.runs.list(orgId, { limit: 10 });
    expect(history.items).toHaveLength(1);
    expect(history.items[0]).toMatchObject({
      status: 'failed',
      failure: { code: 'internal_error' },
    });

    await queueRedis.restart();
    await waitForReady(queueConnection, 10_000);
    const again = await send(url, 'POST', `/api/v1/orgs/${orgId}/syncs`, { token });
    expect(again.status).toBe(202);
    expect(syncAcceptedSchema.parse(again.json).deduplicated).toBe(false);
  });
});
