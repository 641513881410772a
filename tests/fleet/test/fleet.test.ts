/**
 * Horizontal scale: two worker processes and two notifier processes on one
 * Redis, the API in front. 200 orgs synced; each exactly once per trigger,
 * every alert delivered once on each channel.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { type ApiRole, startApiRole } from '@pinnacle/api';
import { createLogger } from '@pinnacle/logging';
import { createStores, type Stores } from '@pinnacle/redis-store';
import { type NodeProcess, type SmtpSink, spawnNodeProcess, waitFor } from '@pinnacle/testing';
import { type RedisFixture, type SimulatorFixture, test } from '@pinnacle/testing/fixtures';
import { Queue } from 'bullmq';
import { SignJWT } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';

const entry = (app: string) =>
  fileURLToPath(new URL(`../../../apps/${app}/src/main.ts`, import.meta.url));
const DAY = 86_400_000;
const ORGS = 200;
const FAILING = 50;
const AUTH = 'fleet-test-auth-secret-0123456789abcdef';
const KEY = randomBytes(32).toString('base64');

let r: RedisFixture;
let sim: SimulatorFixture;
let smtp: SmtpSink;
let api: ApiRole;
let stores: Stores;
const processes: NodeProcess[] = [];

const tenantId = randomUUID();
const clientId = randomUUID();
const secret = `Fl8~${randomUUID()}`;
const groupId = randomUUID();

test.beforeAll(async ({ redis, simulator, smtp: sink }) => {
  r = redis;
  sim = simulator;
  smtp = sink;
  const domain = 'fleet.onmicrosoft.com';
  const users = Array.from({ length: 25 }, (_, i) => ({
    id: randomUUID(),
    displayName: `User ${i}`,
    userPrincipalName: `user${i}@${domain}`,
    mail: null,
    accountEnabled: true,
    givenName: null,
    surname: null,
  }));
  sim.addTenant({
    kind: 'fixture',
    tenantId,
    displayName: 'Fleet',
    domains: [domain],
    applications: [
      {
        appId: clientId,
        displayName: 'Pinnacle Entra Sync',
        roles: ['User.Read.All', 'GroupMember.Read.All'],
        secrets: [
          { keyId: randomUUID(), value: secret, expiresAt: new Date(Date.now() + 90 * DAY) },
        ],
      },
    ],
    users,
    groups: [
      {
        id: groupId,
        displayName: 'All',
        description: null,
        members: users.map((u) => u.id),
        memberGroups: [],
      },
    ],
  });
  const common = {
    // On a cluster (TEST_REDIS_CLUSTER=1), its seeds and a hash-tagged prefix.
    ...r.processEnv,
    SECRET_ENCRYPTION_KEY: KEY,
    ENTRA_AUTHORITY_HOST: sim.authorityHost,
    GRAPH_BASE_URL: sim.graphBaseUrl,
    NODE_EXTRA_CA_CERTS: sim.caPath,
    SMTP_URL: smtp.url,
    MAIL_FROM: 'Pinnacle <no-reply@pinnacle.example>',
    PORTAL_BASE_URL: 'https://portal.example',
    WORKER_HEALTH_PORT: '0',
    NOTIFIER_HEALTH_PORT: '0',
    LOG_LEVEL: 'warn',
  };
  for (const app of ['worker', 'worker', 'notifier', 'notifier']) {
    processes.push(spawnNodeProcess(entry(app), { env: common }));
  }
  api = await startApiRole(
    {
      ...common,
      ...r.env,
      PORT: 0,
      API_AUTH_SECRET: AUTH,
      OPS_USER: 'ops',
      OPS_PASSWORD: 'fleet-ops-password',
      SYNC_ATTEMPTS: 3,
      SYNC_BACKOFF_MS: 100,
    } as Parameters<typeof startApiRole>[0],
    createLogger({ name: 'api', level: 'silent' }),
    { host: '127.0.0.1' },
  );
  stores = createStores(r.connect(), r.prefix, KEY);
}, 120_000);

afterAll(async () => {
  await Promise.all(
    processes.map((p) => (p.child.exitCode === null ? p.kill('SIGTERM') : undefined)),
  );
  await api?.close();
});

describe('two workers and two notifiers on one Redis', () => {
  it('sync 200 orgs exactly once each and deliver every alert once', {
    timeout: 180_000,
  }, async () => {
    const token = await new SignJWT({ sub: 'fleet', org: '*', role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(AUTH));
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`http://127.0.0.1:${api.port}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    const orgs = Array.from({ length: ORGS }, (_, i) => `fleet-${i}`);
    const failing = new Set(orgs.slice(0, FAILING));
    for (const org of orgs) {
      const res = await call('PUT', `/orgs/${org}/integration`, {
        tenantId,
        clientId,
        clientSecret: secret,
        // The failing orgs' recorded expiry has passed: preflight stops them.
        clientSecretExpiresAt: new Date(
          Date.now() + (failing.has(org) ? -DAY : 90 * DAY),
        ).toISOString(),
        groupIds: [groupId],
        notifications: { email: { enabled: true, recipients: [`admin@${org}.example`] } },
      });
      expect(res.status).toBe(201);
    }
    const syncRound = async (round: number) => {
      const accepted = await Promise.all(orgs.map((org) => call('POST', `/orgs/${org}/syncs`, {})));
      expect(accepted.every((a) => a.status === 202 && a.json.deduplicated === false)).toBe(true);
      await waitFor(
        async () => {
          const runs = await Promise.all(orgs.map((org) => stores.runs.list(org, { limit: 5 })));
          return runs.every(
            (page) =>
              page.items.length === round &&
              page.items.every((run) => ['succeeded', 'failed'].includes(run.status)),
          );
        },
        { timeoutMs: 150_000, intervalMs: 250, description: `every org to finish run ${round}` },
      );
      const syncQueue = new Queue('sync', { connection: r.connect(), prefix: r.env.QUEUE_PREFIX });
      const counts = await syncQueue.getJobCounts(
        'completed',
        'failed',
        'active',
        'wait',
        'delayed',
      );
      await syncQueue.close();
      // Each trigger ran exactly once, across both worker processes.
      expect((counts.completed ?? 0) + (counts.failed ?? 0)).toBe(ORGS * round);
      expect((counts.active ?? 0) + (counts.wait ?? 0) + (counts.delayed ?? 0)).toBe(0);
      for (const org of orgs) {
        const [run] = (await stores.runs.list(org, { limit: 5 })).items;
        if (failing.has(org)) expect(run?.failure?.code).toBe('client_secret_expired');
        else expect(run?.stats.users).toBe(25);
        expect(run?.attempts).toBe(1);
      }
    };
    await syncRound(1);

    // One alert per failing org: one inbox entry and exactly one email each.
    await waitFor(async () => smtp.messages().length >= FAILING, {
      timeoutMs: 60_000,
      description: 'the failure emails',
    });
    await new Promise((resolve) => setTimeout(resolve, 1500)); // let any duplicate arrive
    const recipients = smtp.messages().flatMap((m) => m.envelope.to);
    expect(recipients).toHaveLength(FAILING);
    expect(new Set(recipients).size).toBe(FAILING);
    for (const org of failing) {
      const inbox = await call('GET', `/orgs/${org}/notifications`);
      const items = inbox.json.items as {
        type: string;
        delivery: { inApp: string; email: string };
      }[];
      expect(items).toHaveLength(1);
      expect(items[0]).toMatchObject({
        type: 'sync_failed',
        delivery: { inApp: 'delivered', email: 'delivered' },
      });
    }
    for (const org of orgs.slice(FAILING, FAILING + 10)) {
      expect((await call('GET', `/orgs/${org}/notifications`)).json.items).toEqual([]);
    }

    // A second trigger: every org syncs once more; the same failure again is
    // the same episode (count 2), not a second email.
    await syncRound(2);
    await waitFor(
      async () => {
        const counts = await Promise.all(
          [...failing].map(async (org) => {
            const items = (await call('GET', `/orgs/${org}/notifications`)).json.items as {
              count: number;
            }[];
            return items.length === 1 && items[0]!.count === 2;
          }),
        );
        return counts.every(Boolean);
      },
      { timeoutMs: 60_000, description: 'the episodes to count the repeat' },
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(smtp.messages()).toHaveLength(FAILING);
  });
});
