/**
 * The API's abuse limits through HTTP, against real Redis: Sync Now's
 * per-org budget of new runs (with the real worker failing each run at
 * once, as a loop of presses against a broken org does), and the request
 * rate limit per token, with its own larger budget for `org: "*"`. Both are
 * shared by every api replica.
 */
import { Writable } from 'node:stream';
import { runSchema, syncAcceptedSchema } from '@pinnacle/domain';
import { createLogger } from '@pinnacle/logging';
import { dataPrefix, orgKeys } from '@pinnacle/redis-store';
import { useTestRedis, waitFor } from '@pinnacle/testing';
import { type RedisFixture, test } from '@pinnacle/testing/fixtures';
import { startWorkerRole, type WorkerRole } from '@pinnacle/worker';
import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { rateLimitedResponseSchema } from '../src/schemas.js';
import {
  type ApiResponse,
  ENCRYPTION_KEY,
  settingsBody,
  signToken,
  startTestApi,
  type TestApi,
} from './helpers.js';

const BUDGET = 3;
const PER_MINUTE = 30;
const ANY_ORG_PER_MINUTE = 60;
const limitsEnv = {
  SYNC_NOW_BUDGET: BUDGET,
  SYNC_NOW_BUDGET_WINDOW_SECONDS: 600,
  API_RATE_LIMIT_PER_MINUTE: PER_MINUTE,
  API_RATE_LIMIT_ANY_ORG_PER_MINUTE: ANY_ORG_PER_MINUTE,
};

let r: RedisFixture;
/** Two replicas on one Redis. */
let api: TestApi;
let replica: TestApi;
let worker: WorkerRole;
let syncQueue: Queue;
let notificationQueue: Queue;

test.beforeAll(async ({ redis }) => {
  r = redis;
  api = await startTestApi(r, { env: limitsEnv });
  replica = await startTestApi(r, { env: limitsEnv });
  worker = startWorkerRole(
    {
      ...r.env,
      SECRET_ENCRYPTION_KEY: ENCRYPTION_KEY,
      // Never reached: every run here stops in preflight on incomplete settings.
      ENTRA_AUTHORITY_HOST: 'https://login.invalid',
      GRAPH_BASE_URL: 'https://graph.invalid',
      SYNC_CONCURRENCY: 2,
      SYNC_GROUP_CONCURRENCY: 2,
      SYNC_ATTEMPTS: 3,
      SYNC_BACKOFF_MS: 1000,
      SYNC_LOCK_DURATION_MS: 30_000,
      SYNC_STALLED_INTERVAL_MS: 5_000,
      GRAPH_TIMEOUT_MS: 10_000,
    },
    createLogger({
      name: 'worker',
      level: 'silent',
      destination: new Writable({ write: (_c, _e, done) => done() }),
    }),
  );
  syncQueue = new Queue('sync', { connection: r.connect(), prefix: r.prefix });
  notificationQueue = new Queue('notifications', { connection: r.connect(), prefix: r.prefix });
});
afterAll(async () => {
  await worker?.close();
  await syncQueue?.close();
  await notificationQueue?.close();
  await replica?.close();
  await api?.close();
});

const runList = z.object({ items: z.array(runSchema) });

/** A 429 as DESIGN has it: Retry-After, and the body naming the limit and the same wait. */
function expectRateLimited(res: ApiResponse, limit: 'request_rate' | 'sync_now_budget') {
  expect(res.status, res.text).toBe(429);
  const body = rateLimitedResponseSchema.parse(res.json);
  expect(body.limit).toBe(limit);
  const retryAfter = res.headers.get('retry-after');
  expect(retryAfter).toMatch(/^[1-9][0-9]*$/);
  expect(body.retryAfterSeconds).toBe(Number(retryAfter));
  return body;
}

/** Audit lines (`audit: true`) of an api's log with this action. */
function auditLines(of: TestApi, action: string): Record<string, unknown>[] {
  return of.logs
    .flatMap((chunk) => chunk.split('\n').filter(Boolean))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.audit === true && line.action === action);
}

/** Every org's own token, with a `sub` of its own so the request rate limit stays out of the way. */
const orgToken = (org: string) => signToken({ sub: `admin-of-${org}`, org });

async function jobsOf(queue: Queue, orgId: string) {
  const jobs = await queue.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
  return jobs.filter((job) => (job.data as { orgId?: string }).orgId === orgId);
}

describe("Sync Now's budget of new runs per org", () => {
  it('a loop of presses against an org whose run fails at once: the first press past the budget is a 429 that makes nothing', async () => {
    const orgId = 'org-loop';
    const token = await orgToken(orgId);
    // Saved without a client ID: every run stops in preflight (settings_incomplete).
    const saved = await api.request('PUT', `/api/v1/orgs/${orgId}/integration`, {
      token,
      body: settingsBody({ clientId: undefined }),
    });
    expect(saved.status).toBe(201);

    for (let press = 0; press < BUDGET; press++) {
      // Alternating replicas: the budget is one, in Redis.
      const res = await (press % 2 === 0 ? api : replica).request(
        'POST',
        `/api/v1/orgs/${orgId}/syncs`,
        { token },
      );
      expect(res.status, res.text).toBe(202);
      const accepted = syncAcceptedSchema.parse(res.json);
      expect(accepted.deduplicated).toBe(false);
      // The worker fails it at once; the next press makes a new run. (Read from Redis:
      // polling through the API would spend the token's request rate.)
      await waitFor(
        async () => {
          const json = await r.redis.get(orgKeys(dataPrefix(r.prefix), orgId).run(accepted.runId));
          return json && runSchema.parse(JSON.parse(json)).status === 'failed' ? true : null;
        },
        { timeoutMs: 15_000, description: `run ${accepted.runId} to fail` },
      );
    }
    const runsBefore = runList.parse(
      (await api.request('GET', `/api/v1/orgs/${orgId}/syncs`, { token })).json,
    ).items;
    expect(runsBefore).toHaveLength(BUDGET);
    const syncJobsBefore = (await jobsOf(syncQueue, orgId)).length;
    const notificationJobsBefore = (await jobsOf(notificationQueue, orgId)).length;
    const auditBefore = auditLines(replica, 'sync.rate_limited').length;

    const refused = await replica.request('POST', `/api/v1/orgs/${orgId}/syncs`, { token });
    const body = expectRateLimited(refused, 'sync_now_budget');
    expect(body.retryAfterSeconds).toBeLessThanOrEqual(600);
    expect(body.message).toContain(`at most ${BUDGET} new runs in 10 minutes`);
    expect(body.message).toMatch(/Try again in \d+ (minute|second)s?\./);

    // Nothing was made: no run, no sync job, no notification job.
    const runsAfter = runList.parse(
      (await api.request('GET', `/api/v1/orgs/${orgId}/syncs`, { token })).json,
    ).items;
    expect(runsAfter.map((run) => run.id)).toEqual(runsBefore.map((run) => run.id));
    expect(await jobsOf(syncQueue, orgId)).toHaveLength(syncJobsBefore);
    expect(await jobsOf(notificationQueue, orgId)).toHaveLength(notificationJobsBefore);

    // Logged for the audit: who was refused, for which org, and until when.
    const lines = auditLines(replica, 'sync.rate_limited').slice(auditBefore);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      sub: `admin-of-${orgId}`,
      tokenOrg: orgId,
      orgId,
      fields: [],
      target: { limit: 'sync_now_budget', retryAfterSeconds: body.retryAfterSeconds },
    });

    // Saving the settings again (the other half of the alternating attack) starts no run past it either.
    const resaved = await api.request('PUT', `/api/v1/orgs/${orgId}/integration`, {
      token,
      body: settingsBody({ groupIds: [] }),
    });
    expect(resaved.status).toBe(200);
    expect(await jobsOf(syncQueue, orgId)).toHaveLength(syncJobsBefore);
    expect(api.logs.join('\n')).toContain("the org's Sync Now budget is spent");

    // Another org is not affected.
    const other = 'org-loop-neighbour';
    const otherToken = await orgToken(other);
    await api.request('PUT', `/api/v1/orgs/${other}/integration`, {
      token: otherToken,
      body: settingsBody({ clientId: undefined }),
    });
    const elsewhere = await api.request('POST', `/api/v1/orgs/${other}/syncs`, {
      token: otherToken,
    });
    expect(elsewhere.status).toBe(202);
  });

  it('a press that joins the run queued or running spends nothing, also once the budget is spent', async () => {
    // An api of its own with no worker behind it: a run stays queued until this test ends it.
    const own = await useTestRedis('api-limits-dedup');
    const alone = await startTestApi(own, { env: limitsEnv });
    try {
      await pressesJoinForFree(own, alone);
    } finally {
      await alone.close();
      await own.cleanup();
    }
  });

  async function pressesJoinForFree(own: RedisFixture, alone: TestApi) {
    const orgId = 'org-dedup-budget';
    const token = await orgToken(orgId);
    const k = orgKeys(dataPrefix(own.prefix), orgId);
    const finish = async (runId: string) => {
      // As a worker finishing it would: the org is idle again.
      const stored = runSchema.parse(JSON.parse((await own.redis.get(k.run(runId))) ?? 'null'));
      await own.redis.set(k.run(runId), JSON.stringify({ ...stored, status: 'failed' }));
      await own.redis.del(k.activeRun);
    };
    const press = () => alone.request('POST', `/api/v1/orgs/${orgId}/syncs`, { token });
    let runId = '';
    for (let round = 0; round < BUDGET; round++) {
      const first = await press();
      expect(first.status).toBe(202);
      const accepted = syncAcceptedSchema.parse(first.json);
      expect(accepted.deduplicated).toBe(false);
      runId = accepted.runId;
      // More presses while it is queued: all join it.
      const again = await Promise.all(Array.from({ length: 5 }, press));
      for (const res of again) {
        expect(res.status).toBe(202);
        expect(syncAcceptedSchema.parse(res.json)).toMatchObject({ runId, deduplicated: true });
      }
      if (round < BUDGET - 1) await finish(runId);
    }
    expect(await own.redis.get(k.syncNowBudget)).toBe(String(BUDGET));
    // Spent, but a run is queued: a press still joins it rather than being refused.
    const joined = await press();
    expect(joined.status).toBe(202);
    expect(syncAcceptedSchema.parse(joined.json)).toMatchObject({ runId, deduplicated: true });
    await finish(runId);
    expectRateLimited(await press(), 'sync_now_budget');
  }

  it('presses at once against an idle org make one run and spend one', async () => {
    const orgId = 'org-burst';
    const token = await orgToken(orgId);
    const answers = await Promise.all(
      Array.from({ length: BUDGET }, (_, i) =>
        (i % 2 === 0 ? api : replica).request('POST', `/api/v1/orgs/${orgId}/syncs`, { token }),
      ),
    );
    for (const res of answers) expect(res.status).toBe(202);
    const runIds = new Set(answers.map((res) => syncAcceptedSchema.parse(res.json).runId));
    expect(runIds.size).toBe(1);
    const k = orgKeys(dataPrefix(r.prefix), orgId);
    expect(await r.redis.get(k.syncNowBudget)).toBe('1');
    // The counter lives under the org's hash tag and expires with its window.
    expect(k.syncNowBudget).toContain(`{o:${orgId}}`);
    const ttl = await r.redis.ttl(k.syncNowBudget);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(600);
  });
});

describe('request rate limit per token', () => {
  it("an org's token gets API_RATE_LIMIT_PER_MINUTE requests a minute, then 429 with Retry-After, on every replica", async () => {
    const orgId = 'org-rate';
    const token = await signToken({ sub: 'flooder@contoso.com', org: orgId });
    for (let i = 0; i < PER_MINUTE; i++) {
      const res = await (i % 2 === 0 ? api : replica).request(
        'GET',
        `/api/v1/orgs/${orgId}/notifications`,
        { token },
      );
      expect(res.status, `request ${i + 1}`).toBe(200);
    }
    const from = api.logs.length;
    for (const which of [api, replica, api]) {
      const res = await which.request('GET', `/api/v1/orgs/${orgId}/notifications`, { token });
      const body = expectRateLimited(res, 'request_rate');
      expect(body.retryAfterSeconds).toBeLessThanOrEqual(60);
      expect(body.message).toContain(`at most ${PER_MINUTE} a minute`);
    }
    // Every route, writes included, and a token for another org's route alike: refused before anything else.
    const write = await api.request('PUT', `/api/v1/orgs/${orgId}/integration`, {
      token,
      body: settingsBody(),
    });
    expectRateLimited(write, 'request_rate');
    expect(await r.redis.exists(orgKeys(dataPrefix(r.prefix), orgId).integration)).toBe(0);
    // Logged once per window and token, not once per refusal; never with the token.
    const logged = api.logs
      .slice(from)
      .join('\n')
      .split('\n')
      .filter((line) => line.includes('request rate limit reached'));
    expect(logged.length).toBeLessThanOrEqual(1);
    expect(api.logs.join('\n')).not.toContain(token);

    // Another admin of the same org, and the same admin on another org, have allowances of their own.
    const colleague = await signToken({ sub: 'colleague@contoso.com', org: orgId });
    expect(
      (await api.request('GET', `/api/v1/orgs/${orgId}/notifications`, { token: colleague }))
        .status,
    ).toBe(200);
    const elsewhere = await signToken({ sub: 'flooder@contoso.com', org: 'org-rate-2' });
    expect(
      (await api.request('GET', '/api/v1/orgs/org-rate-2/notifications', { token: elsewhere }))
        .status,
    ).toBe(200);
    // A request without a valid token is a 401, whatever the flood.
    expect((await api.request('GET', `/api/v1/orgs/${orgId}/notifications`)).status).toBe(401);
  });

  it('the portal backend\'s org "*" token has its own, larger budget', async () => {
    const sub = 'portal-backend';
    const orgTokenOfSub = await signToken({ sub, org: 'org-star' });
    // The same sub on an org token spends that allowance first...
    for (let i = 0; i < PER_MINUTE; i++) {
      await api.request('GET', '/api/v1/orgs/org-star/notifications', { token: orgTokenOfSub });
    }
    expectRateLimited(
      await api.request('GET', '/api/v1/orgs/org-star/notifications', { token: orgTokenOfSub }),
      'request_rate',
    );
    // ...which leaves the "*" token's own untouched, and larger.
    const star = await signToken({ sub, org: '*' });
    expect(ANY_ORG_PER_MINUTE).toBeGreaterThan(PER_MINUTE);
    for (let i = 0; i < ANY_ORG_PER_MINUTE; i++) {
      const res = await (i % 2 === 0 ? api : replica).request(
        'GET',
        i % 3 === 0 ? '/api/v1/orgs' : `/api/v1/orgs/org-star-${i}/notifications`,
        { token: star },
      );
      expect(res.status, `request ${i + 1}`).toBe(200);
    }
    const refused = expectRateLimited(
      await replica.request('GET', '/api/v1/orgs', { token: star }),
      'request_rate',
    );
    expect(refused.message).toContain(`at most ${ANY_ORG_PER_MINUTE} a minute`);
  });
});
