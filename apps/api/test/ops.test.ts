import { randomBytes, randomUUID } from 'node:crypto';
import {
  buildFailure,
  emptyRunStats,
  fleetOrgSchema,
  integrationSettingsInputSchema,
  type Run,
  runSchema,
  unknownHealth,
} from '@pinnacle/domain';
import { createMetricsRecorder } from '@pinnacle/metrics';
import { queues, syncJobId } from '@pinnacle/queue-contracts';
import { TypedQueue } from '@pinnacle/queue-runtime';
import { type RedisServer, startRedisServer, waitFor } from '@pinnacle/testing';
import { type RedisFixture, test } from '@pinnacle/testing/fixtures';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { credentialsMatch, parseBasicAuthorization } from '../src/ops/basic-auth.js';
import { type ApiResponse, startTestApi, type TestApi } from './helpers.js';

const OPS_USER = 'ops-team';
const OPS_PASSWORD = 'correct-horse-battery-staple';
const SECRET_IN_JOB = 'Abc8Q~this-must-never-be-shown-0001';

let r: RedisFixture;
let api: TestApi;
let queue: Queue;

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const ops = { authorization: basic(OPS_USER, OPS_PASSWORD) };

test.beforeAll(async ({ redis }) => {
  r = redis;
  // This file sends many wrong credentials on purpose; the login throttle has tests of its own.
  api = await startTestApi(r, { env: { OPS_USER, OPS_PASSWORD, OPS_LOGIN_MAX_FAILURES: 10_000 } });
  queue = new Queue('sync', { connection: r.connect(), prefix: r.prefix });
});
afterAll(async () => {
  await queue?.close();
  await api?.close();
});

/** One sample line of a Prometheus text exposition, labels in any order. */
function sample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const wanted = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',');
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const got = (match[2] ?? '')
      .split(/,(?=[a-zA-Z_]+=")/)
      .filter(Boolean)
      .sort()
      .join(',');
    if (got === wanted) return Number(match[3]);
  }
  return undefined;
}

function finishedRun(patch: Partial<Run>): Run {
  return runSchema.parse({
    id: randomUUID(),
    orgId: 'org-ops',
    trigger: 'manual',
    status: 'succeeded',
    stage: 'commit',
    createdAt: '2030-01-01T10:00:00.000Z',
    startedAt: '2030-01-01T10:00:01.000Z',
    finishedAt: '2030-01-01T10:00:31.000Z',
    attempts: 1,
    failure: null,
    warnings: [],
    stats: { ...emptyRunStats(), graphRequests: 7, throttledRequests: 2 },
    ...patch,
  });
}

function expectBasicChallenge(res: ApiResponse): void {
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toBe('Basic realm="ops"');
  expect(res.json).toEqual({ error: 'unauthorized' });
}

describe('HTTP Basic parsing and comparison', () => {
  it('splits at the first colon only, and compares both parts', () => {
    expect(parseBasicAuthorization(basic('ops', 'pa:ss:word'))).toEqual({
      user: 'ops',
      password: 'pa:ss:word',
    });
    expect(parseBasicAuthorization(`basic  ${Buffer.from('a:b').toString('base64')}`)).toEqual({
      user: 'a',
      password: 'b',
    });
    expect(parseBasicAuthorization(undefined)).toBeUndefined();
    expect(parseBasicAuthorization('Basic !!!')).toBeUndefined();
    const expected = { user: 'ops', password: 'pa:ss:word' };
    expect(credentialsMatch(expected, { user: 'ops', password: 'pa:ss:word' })).toBe(true);
    expect(credentialsMatch(expected, { user: 'ops', password: 'pa:ss:wordx' })).toBe(false);
    expect(credentialsMatch(expected, { user: 'opsx', password: 'pa:ss:word' })).toBe(false);
    expect(credentialsMatch(expected, { user: '', password: '' })).toBe(false);
  });
});

describe('ops credentials', () => {
  it('are required for /metrics, /admin/queues and /ops/orgs', async () => {
    const refused: Record<string, string>[] = [
      {},
      { authorization: basic(OPS_USER, 'wrong-password-entirely') },
      { authorization: basic('someone-else', OPS_PASSWORD) },
      { authorization: basic(OPS_USER, `${OPS_PASSWORD}x`) },
      { authorization: basic(OPS_USER, '') },
      { authorization: 'Basic not base64 at all' },
      { authorization: `Basic ${Buffer.from('no-colon').toString('base64')}` },
      { authorization: 'Bearer abc.def.ghi' },
    ];
    for (const path of ['/metrics', '/admin/queues', '/admin/queues/api/queues', '/ops/orgs']) {
      for (const headers of refused) {
        expectBasicChallenge(await api.request('GET', path, { headers }));
      }
    }
    const ok = await api.request('GET', '/metrics', { headers: ops });
    expect(ok.status).toBe(200);
    const lines = api.logs.join('\n');
    expect(lines).toContain('ops credentials refused');
    expect(lines).not.toContain('wrong-password-entirely');
  });

  it('refuse everyone when OPS_USER / OPS_PASSWORD are not set', async () => {
    const bare = await startTestApi(r);
    try {
      expectBasicChallenge(await bare.request('GET', '/metrics', { headers: ops }));
      expectBasicChallenge(await bare.request('GET', '/admin/queues', { headers: ops }));
      expect((await bare.request('GET', '/healthz')).status).toBe(200);
    } finally {
      await bare.close();
    }
  });
});

describe('/metrics', () => {
  it('serves Prometheus text with process, HTTP, queue and fleet-wide series', async () => {
    const recorder = createMetricsRecorder(r.redis, r.prefix);
    await recorder.runFinished(finishedRun({}));
    await recorder.runFinished(
      finishedRun({
        status: 'failed',
        stage: 'preflight',
        failure: buildFailure('consent_missing', { missingPermissions: ['User.Read.All'] }),
        finishedAt: '2030-01-01T10:00:03.000Z',
      }),
    );
    await recorder.notificationDelivered('email', 'delivered');
    await queue.add('sync-org', { orgId: 'org-ops', trigger: 'manual' });
    await queue.add('sync-org', { orgId: 'org-ops-2', trigger: 'manual' }, { delay: 3_600_000 });
    await api.request('GET', '/healthz');
    await api.request('GET', '/no/such/path');

    const res = await api.request('GET', '/metrics', { headers: ops });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const text = res.text;

    // Fleet-wide, recorded by workers and notifiers into Redis.
    expect(sample(text, 'entra_sync_runs_total', { status: 'succeeded' })).toBe(1);
    expect(sample(text, 'entra_sync_runs_total', { status: 'failed' })).toBe(1);
    expect(sample(text, 'entra_sync_failures_total', { code: 'consent_missing' })).toBe(1);
    expect(sample(text, 'entra_sync_graph_requests_total')).toBe(14);
    expect(sample(text, 'entra_sync_graph_throttled_requests_total')).toBe(4);
    expect(
      sample(text, 'entra_sync_notifications_total', { channel: 'email', outcome: 'delivered' }),
    ).toBe(1);
    expect(text).toContain('# TYPE entra_sync_run_duration_seconds histogram');
    expect(sample(text, 'entra_sync_run_duration_seconds_bucket', { le: '1' })).toBe(0);
    expect(sample(text, 'entra_sync_run_duration_seconds_bucket', { le: '5' })).toBe(1);
    expect(sample(text, 'entra_sync_run_duration_seconds_bucket', { le: '30' })).toBe(2);
    expect(sample(text, 'entra_sync_run_duration_seconds_bucket', { le: '+Inf' })).toBe(2);
    expect(sample(text, 'entra_sync_run_duration_seconds_count')).toBe(2);
    expect(sample(text, 'entra_sync_run_duration_seconds_sum')).toBe(32);

    // Jobs by queue and state, from BullMQ at scrape time; every queue of the contracts.
    expect(sample(text, 'entra_sync_queue_jobs', { queue: 'sync', state: 'waiting' })).toBe(1);
    expect(sample(text, 'entra_sync_queue_jobs', { queue: 'sync', state: 'delayed' })).toBe(1);
    for (const { name } of Object.values(queues)) {
      expect(sample(text, 'entra_sync_queue_jobs', { queue: name, state: 'failed' })).toBe(0);
    }
    expect(sample(text, 'entra_sync_redis_up')).toBe(1);

    // This process: default metrics and requests by route pattern, never the raw URL.
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_heap_size_used_bytes');
    expect(
      sample(text, 'http_requests_total', { method: 'GET', route: '/healthz', status: '200' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(text, 'http_requests_total', { method: 'GET', route: 'unmatched', status: '404' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(text, 'http_requests_total', { method: 'GET', route: '/metrics', status: '401' }),
    ).toBeGreaterThanOrEqual(1);
    expect(text).toContain('http_request_duration_seconds_bucket');
    expect(text).not.toContain('/no/such/path');
  });

  it('labels /api/v1 requests by their route pattern', async () => {
    await api.request('GET', '/api/v1/orgs/org-pattern/syncs');
    const text = (await api.request('GET', '/metrics', { headers: ops })).text;
    // No bearer token: refused before a route matched, still not the raw URL.
    expect(
      sample(text, 'http_requests_total', { method: 'GET', route: '/api/v1/*', status: '401' }),
    ).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain('org-pattern');
  });

  it('gives the same fleet-wide numbers whichever api process is scraped', async () => {
    // Replicas share the login throttle's counters too: the same generous limit.
    const other = await startTestApi(r, {
      env: { OPS_USER, OPS_PASSWORD, OPS_LOGIN_MAX_FAILURES: 10_000 },
    });
    try {
      const [a, b] = await Promise.all([
        api.request('GET', '/metrics', { headers: ops }),
        other.request('GET', '/metrics', { headers: ops }),
      ]);
      for (const [name, labels] of [
        ['entra_sync_runs_total', { status: 'succeeded' }],
        ['entra_sync_failures_total', { code: 'consent_missing' }],
        ['entra_sync_run_duration_seconds_count', {}],
        ['entra_sync_queue_jobs', { queue: 'sync', state: 'waiting' }],
      ] as const) {
        expect(sample(b.text, name, labels), name).toBeDefined();
        expect(sample(b.text, name, labels), name).toBe(sample(a.text, name, labels));
      }
    } finally {
      await other.close();
    }
  });
});

describe('Bull Board', () => {
  it('serves its page under /admin/queues, with assets and API under the same base path', async () => {
    const page = await api.request('GET', '/admin/queues', { headers: ops });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('x-powered-by')).toBeNull();
    expect(page.text).toContain('<base href="/admin/queues/"');
    const asset = /(?:src|href)="(static\/[^"]+\.js)"/.exec(page.text)?.[1];
    expect(asset).toBeDefined();
    const script = await api.request('GET', `/admin/queues/${asset}`, { headers: ops });
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toContain('javascript');

    // A deep link of the single-page app answers the same page.
    const deep = await api.request('GET', '/admin/queues/queue/sync', { headers: ops });
    expect(deep.status).toBe(200);

    const list = await api.request('GET', '/admin/queues/api/queues', { headers: ops });
    expect(list.status).toBe(200);
    const names = (list.json as { queues: { name: string }[] }).queues.map((q) => q.name).sort();
    expect(names).toEqual(
      Object.values(queues)
        .map((q) => q.name)
        .sort(),
    );
  });

  it('lists each job under a name that says whose job it is', async () => {
    const syncQueue = new TypedQueue('sync', {
      connection: r.connect({ maxRetriesPerRequest: null }),
      prefix: r.prefix,
      env: { SYNC_ATTEMPTS: 3, SYNC_BACKOFF_MS: 1000 },
    });
    try {
      await syncQueue.add({ orgId: 'org-named', trigger: 'manual', runId: 'named-run' });
    } finally {
      await syncQueue.close();
    }
    const list = await api.request(
      'GET',
      '/admin/queues/api/queues?activeQueue=sync&status=waiting&page=1&jobsPerPage=50',
      { headers: ops },
    );
    expect(list.status).toBe(200);
    const listed = (
      list.json as { queues: { name: string; jobs: { id: string; name: string }[] }[] }
    ).queues
      .find((q) => q.name === 'sync')
      ?.jobs.find((j) => j.id === syncJobId('named-run'));
    expect(listed?.name).toBe('sync org-named');
  });

  it('never shows a value under a key named like a secret, password or token', async () => {
    // Contracts forbid secrets in payloads; this one breaks them on purpose.
    await queue.add('sync-org', {
      orgId: 'org-leaky',
      trigger: 'manual',
      clientSecret: SECRET_IN_JOB,
      nested: { password: SECRET_IN_JOB, accessToken: SECRET_IN_JOB, list: [{ token: 1 }] },
    });
    await queue.upsertJobScheduler(
      `leaky-${randomBytes(3).toString('hex')}`,
      { every: 3_600_000 },
      {
        name: 'sync-org',
        data: { orgId: 'org-leaky', trigger: 'schedule', apiKey: SECRET_IN_JOB },
      },
    );

    const jobs = await api.request(
      'GET',
      '/admin/queues/api/queues?activeQueue=sync&status=waiting&page=1&jobsPerPage=50',
      { headers: ops },
    );
    expect(jobs.status).toBe(200);
    expect(jobs.text).toContain('org-leaky');
    expect(jobs.text).toContain('[REDACTED]');
    expect(jobs.text).not.toContain(SECRET_IN_JOB);

    const schedulers = await api.request('GET', '/admin/queues/api/job-schedulers', {
      headers: ops,
    });
    expect(schedulers.status).toBe(200);
    expect(schedulers.text).toContain('org-leaky');
    expect(schedulers.text).not.toContain(SECRET_IN_JOB);

    const jobId = (
      jobs.json as { queues: { name: string; jobs: { id: string; data: { orgId?: string } }[] }[] }
    ).queues
      .find((q) => q.name === 'sync')
      ?.jobs.find((j) => j.data.orgId === 'org-leaky')?.id;
    expect(jobId).toBeDefined();
    const job = await api.request('GET', `/admin/queues/api/queues/sync/${jobId}`, {
      headers: ops,
    });
    expect(job.status).toBe(200);
    expect(job.text).toContain('[REDACTED]');
    expect(job.text).not.toContain(SECRET_IN_JOB);
  });
});

describe('/ops/orgs (the fleet view)', () => {
  const HOUR = 3_600_000;
  const ago = (hours: number) => new Date(Date.now() - hours * HOUR).toISOString();
  const fleetList = z.object({
    items: z.array(fleetOrgSchema),
    nextCursor: z.string().nullable(),
    counts: z.object({
      total: z.number(),
      byStatus: z.record(z.string(), z.number()),
      byFailureCode: z.record(z.string(), z.number()),
      stale: z.number(),
    }),
    generatedAt: z.string(),
  });
  const list = async (query = '') => {
    const res = await api.request('GET', `/ops/orgs${query}`, { headers: ops });
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    return fleetList.parse(res.json);
  };

  beforeAll(async () => {
    const { stores } = api.role.deps;
    const settings = (expiresInDays: number) =>
      integrationSettingsInputSchema.parse({
        clientSecret: `Fleet8Q~${randomUUID()}`,
        // Half a day off the boundary: whole days left are floored.
        clientSecretExpiresAt: new Date(
          Date.now() + (expiresInDays + 0.5) * 24 * HOUR,
        ).toISOString(),
        groupIds: [],
        schedule: { enabled: true, every: '6h' },
      });
    for (const [orgId, days] of [
      ['fleet-expired', -3],
      ['fleet-consent', 200],
      ['fleet-healthy', 5],
      ['fleet-new', 90],
    ] as const) {
      await stores.integrations.put(orgId, settings(days));
    }
    const failing = (code: string, since: string, lastSuccessAt: string | null) => ({
      ...unknownHealth,
      status: 'failing' as const,
      openFailure: {
        code,
        category: 'credentials',
        since,
        lastSeenAt: ago(1),
        firstRunId: 'r1',
        lastRunId: 'r2',
        count: 3,
      },
      lastRunId: 'r2',
      lastRunAt: ago(1),
      lastSuccessAt,
    });
    await stores.fleet.recordHealth(
      'fleet-expired',
      failing('client_secret_expired', ago(30), ago(30)),
      undefined,
      new Date(),
    );
    await stores.fleet.recordHealth(
      'fleet-consent',
      failing('consent_missing', ago(2), null),
      undefined,
      new Date(),
    );
    await stores.fleet.recordHealth(
      'fleet-healthy',
      {
        ...unknownHealth,
        status: 'healthy',
        lastRunId: 'r9',
        lastRunAt: ago(1),
        lastSuccessAt: ago(1),
      },
      undefined,
      new Date(),
    );
  });

  it('lists every org with its status, open failure and since, last success, staleness and secret days left', async () => {
    const page = await list();
    const byId = new Map(page.items.map((o) => [o.orgId, o]));
    expect(byId.get('fleet-expired')).toMatchObject({
      status: 'failing',
      failureCode: 'client_secret_expired',
      // Last success 30 h ago, on a 6 h schedule: stale since 12 h ago.
      stale: true,
      secretDaysLeft: -3,
    });
    expect(byId.get('fleet-expired')?.failingSince).toBe(byId.get('fleet-expired')?.lastSuccessAt);
    expect(byId.get('fleet-consent')).toMatchObject({
      status: 'failing',
      failureCode: 'consent_missing',
      lastSuccessAt: null,
      stale: false,
      secretDaysLeft: 200,
    });
    expect(byId.get('fleet-healthy')).toMatchObject({
      status: 'healthy',
      stale: false,
      secretDaysLeft: 5,
    });
    expect(byId.get('fleet-new')).toMatchObject({
      status: 'unknown',
      lastRunAt: null,
      stale: false,
    });
    expect(page.counts).toMatchObject({
      byStatus: { failing: 2, healthy: 1, unknown: 1 },
      byFailureCode: { client_secret_expired: 1, consent_missing: 1 },
      stale: 1,
    });
    expect(page.counts.total).toBe(page.items.length);
  });

  it('filters by status and failure code, and pages by org ID', async () => {
    expect((await list('?status=failing')).items.map((o) => o.orgId)).toEqual([
      'fleet-consent',
      'fleet-expired',
    ]);
    expect((await list('?code=consent_missing')).items.map((o) => o.orgId)).toEqual([
      'fleet-consent',
    ]);
    expect((await list('?status=healthy&code=consent_missing')).items).toEqual([]);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await list(`?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.items.length).toBeLessThanOrEqual(1);
      seen.push(...page.items.map((o) => o.orgId));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...seen].sort());
    expect(seen).toEqual(
      expect.arrayContaining(['fleet-consent', 'fleet-expired', 'fleet-healthy', 'fleet-new']),
    );
  });

  it('names each bad query parameter', async () => {
    const cases: [string, string][] = [
      ['?status=broken', 'status'],
      ['?code=no_such_code', 'code'],
      ['?limit=0', 'limit'],
      ['?limit=500', 'limit'],
      ['?cursor=%2F%2F', 'cursor'],
      [`?cursor=${Buffer.from('a:b').toString('base64url')}`, 'cursor'],
      ['?status=failing&status=healthy', 'status'],
      ['?org=x', 'org'],
    ];
    for (const [query, field] of cases) {
      const res = await api.request('GET', `/ops/orgs${query}`, { headers: ops });
      expect(res.status, query).toBe(400);
      const body = z
        .object({
          error: z.literal('validation_failed'),
          issues: z.array(z.object({ path: z.string() })),
        })
        .parse(res.json);
      expect(
        body.issues.map((i) => i.path),
        query,
      ).toEqual([field]);
    }
  });

  it('counts the stale orgs on /metrics as entra_sync_orgs_stale', async () => {
    const { counts } = await list();
    const text = (await api.request('GET', '/metrics', { headers: ops })).text;
    expect(text).toContain('# TYPE entra_sync_orgs_stale gauge');
    expect(sample(text, 'entra_sync_orgs_stale')).toBe(counts.stale);
    expect(counts.stale).toBeGreaterThan(0);
  });
});

describe('framing', () => {
  it('/metrics, /admin/queues and /ops/orgs forbid being framed, refusals included', async () => {
    const cases: [string, Record<string, string>][] = [
      ['/metrics', ops],
      ['/metrics', {}],
      ['/admin/queues', ops],
      ['/admin/queues', {}],
      ['/admin/queues/api/queues', ops],
      ['/ops/orgs', ops],
      ['/ops/orgs', {}],
    ];
    for (const [path, headers] of cases) {
      const res = await api.request('GET', path, { headers });
      expect(res.headers.get('content-security-policy'), path).toBe("frame-ancestors 'none'");
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
    }
  });
});

describe('OPS_READ_ONLY', () => {
  let readOnly: TestApi;
  let board: Queue;
  beforeAll(async () => {
    const prefix = `${r.prefix}-ro`;
    readOnly = await startTestApi(
      { env: { ...r.env, QUEUE_PREFIX: prefix } },
      { env: { OPS_USER, OPS_PASSWORD, OPS_READ_ONLY: true } },
    );
    board = new Queue('sync', { connection: r.connect(), prefix });
    await board.add('sync-org', { orgId: 'org-ro', trigger: 'manual' });
    await board.add('sync-org', { orgId: 'org-ro-2', trigger: 'manual' }, { delay: 3_600_000 });
  });
  afterAll(async () => {
    await board?.close();
    await readOnly?.close();
  });

  it('shows the queues and their jobs', async () => {
    expect((await readOnly.request('GET', '/admin/queues', { headers: ops })).status).toBe(200);
    const list = await readOnly.request(
      'GET',
      '/admin/queues/api/queues?activeQueue=sync&status=waiting&page=1&jobsPerPage=50',
      { headers: ops },
    );
    expect(list.status).toBe(200);
    expect(list.text).toContain('org-ro');
    const queues = (list.json as { queues: { name: string; readOnlyMode: boolean }[] }).queues;
    expect(queues.length).toBeGreaterThan(0);
    expect(queues.every((q) => q.readOnlyMode)).toBe(true);
  });

  it('refuses every write action, and nothing changes', async () => {
    const before = await board.getJobCounts();
    const writes: [string, string, unknown?][] = [
      ['PUT', '/admin/queues/api/queues/sync/pause'],
      ['PUT', '/admin/queues/api/queues/pause'],
      ['PUT', '/admin/queues/api/queues/sync/promote'],
      ['PUT', '/admin/queues/api/queues/sync/clean/waiting'],
      ['PUT', '/admin/queues/api/queues/sync/empty'],
      ['PUT', '/admin/queues/api/queues/sync/obliterate'],
      ['POST', '/admin/queues/api/queues/sync/add', { name: 'x', data: {} }],
      ['DELETE', '/admin/queues/api/queues/sync'],
    ];
    for (const [method, path, body] of writes) {
      const res = await readOnly.request(method, path, {
        headers: ops,
        ...(body === undefined ? {} : { body }),
      });
      expect(res.status, `${method} ${path}`).toBe(405);
    }
    expect(await board.isPaused()).toBe(false);
    expect(await board.getJobCounts()).toEqual(before);
  });

  it('is off by default: the same action works on a writable board', async () => {
    const res = await api.request('PUT', '/admin/queues/api/queues/sync/pause', { headers: ops });
    expect(res.status).toBe(200);
    expect(await queue.isPaused()).toBe(true);
    await queue.resume();
  });
});

describe('failed ops logins', () => {
  const wrong = { authorization: basic(OPS_USER, 'not-the-password-at-all') };

  async function throttledApi(name: string, env: Parameters<typeof startTestApi>[1]) {
    // A prefix of its own: the counters of this file's other api must not count here.
    return startTestApi({ env: { ...r.env, QUEUE_PREFIX: `${r.prefix}-${name}` } }, env);
  }

  it('are throttled per source address, even with the right password, across replicas', async () => {
    const env = {
      OPS_USER,
      OPS_PASSWORD,
      OPS_LOGIN_MAX_FAILURES: 3,
      OPS_LOGIN_WINDOW_SECONDS: 600,
    };
    const a = await throttledApi('throttle', { env });
    const b = await throttledApi('throttle', { env });
    try {
      for (let i = 0; i < 3; i++) {
        expectBasicChallenge(await a.request('GET', '/metrics', { headers: wrong }));
      }
      // Past the limit: 429 without looking at the credentials, right ones included.
      for (const headers of [wrong, ops]) {
        for (const path of ['/metrics', '/admin/queues']) {
          const res = await a.request('GET', path, { headers });
          expect(res.status, path).toBe(429);
          expect(res.json).toMatchObject({ error: 'rate_limited', message: expect.any(String) });
          const retryAfter = Number(res.headers.get('retry-after'));
          expect(retryAfter).toBeGreaterThan(0);
          expect(retryAfter).toBeLessThanOrEqual(600);
          expect((res.json as { retryAfterSeconds: number }).retryAfterSeconds).toBe(retryAfter);
          expect(res.headers.get('x-frame-options')).toBe('DENY');
        }
      }
      // The other replica counts in the same Redis keys.
      expect((await b.request('GET', '/metrics', { headers: ops })).status).toBe(429);
      // X-Forwarded-For is not believed without TRUST_PROXY: no way around the limit.
      const spoofed = await a.request('GET', '/metrics', {
        headers: { ...ops, 'x-forwarded-for': '198.51.100.77' },
      });
      expect(spoofed.status).toBe(429);
      // Asking without credentials is no failure: the browser's challenge still comes.
      expectBasicChallenge(await a.request('GET', '/metrics'));
      const log = a.logs.join('\n');
      expect(log).toContain('ops login throttled');
      expect(log).not.toContain('not-the-password-at-all');
      expect(log).not.toContain(OPS_PASSWORD);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('let no more guesses through than the limit, however many arrive at once', async () => {
    const t = await throttledApi('burst', {
      env: { OPS_USER, OPS_PASSWORD, OPS_LOGIN_MAX_FAILURES: 3 },
    });
    try {
      // Right credentials give their attempt back: using the board costs nothing.
      for (let i = 0; i < 5; i++) {
        expect((await t.request('GET', '/metrics', { headers: ops })).status).toBe(200);
      }
      const burst = await Promise.all(
        Array.from({ length: 20 }, () => t.request('GET', '/metrics', { headers: wrong })),
      );
      const statuses = burst.map((res) => res.status).sort();
      expect(statuses.filter((s) => s === 401)).toHaveLength(3);
      expect(statuses.filter((s) => s === 429)).toHaveLength(17);
    } finally {
      await t.close();
    }
  });

  it('behind a trusted proxy, count per client address from X-Forwarded-For', async () => {
    const t = await throttledApi('proxied', {
      env: { OPS_USER, OPS_PASSWORD, OPS_LOGIN_MAX_FAILURES: 2, TRUST_PROXY: ['loopback'] },
    });
    try {
      const attacker = { 'x-forwarded-for': '203.0.113.5' };
      for (let i = 0; i < 2; i++) {
        expectBasicChallenge(
          await t.request('GET', '/metrics', { headers: { ...wrong, ...attacker } }),
        );
      }
      expect(
        (await t.request('GET', '/metrics', { headers: { ...ops, ...attacker } })).status,
      ).toBe(429);
      // Another client behind the same proxy is not locked out.
      const colleague = { 'x-forwarded-for': '203.0.113.9' };
      expect(
        (await t.request('GET', '/metrics', { headers: { ...ops, ...colleague } })).status,
      ).toBe(200);
      expect(t.logs.join('\n')).toContain('"address":"203.0.113.5"');

      // Made-up forwarded "addresses" are one source, however they vary.
      for (const forged of ['not-an-ip', '<script>x</script>']) {
        expectBasicChallenge(
          await t.request('GET', '/metrics', {
            headers: { ...wrong, 'x-forwarded-for': `198.51.100.1, ${forged}` },
          }),
        );
      }
      const another = await t.request('GET', '/metrics', {
        headers: { ...ops, 'x-forwarded-for': 'yet-another-made-up-value' },
      });
      expect(another.status).toBe(429);
      expect(t.logs.join('\n')).not.toContain('<script>');
    } finally {
      await t.close();
    }
  });
});

describe('/metrics during a Redis outage', () => {
  let server: RedisServer;
  let outage: TestApi;

  beforeAll(async () => {
    server = await startRedisServer({ appendonly: false });
    outage = await startTestApi(
      {
        env: {
          REDIS_URL: server.url,
          QUEUE_PREFIX: `test:api-ops-outage:${randomBytes(4).toString('hex')}`,
        },
      },
      { env: { OPS_USER, OPS_PASSWORD } },
    );
  });
  afterAll(async () => {
    await outage?.close();
    await server?.stop();
  });

  it('still answers, without the Redis-backed series, and says Redis is down', async () => {
    await server.kill();
    await waitFor(async () => (await outage.request('GET', '/readyz')).status === 503, {
      timeoutMs: 10_000,
      description: '/readyz to answer 503',
    });
    const res = await outage.request('GET', '/metrics', { headers: ops });
    expect(res.status).toBe(200);
    expect(sample(res.text, 'entra_sync_redis_up')).toBe(0);
    expect(sample(res.text, 'entra_sync_runs_total', { status: 'succeeded' })).toBeUndefined();
    expect(res.text).toContain('process_cpu_user_seconds_total');

    await server.restart();
    await waitFor(
      async () =>
        sample(
          (await outage.request('GET', '/metrics', { headers: ops })).text,
          'entra_sync_redis_up',
        ) === 1,
      { timeoutMs: 15_000, description: 'entra_sync_redis_up back to 1' },
    );
  });
});
