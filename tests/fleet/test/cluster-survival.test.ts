/**
 * Redis Cluster survival: two worker processes and the API on a local
 * cluster of three primaries, each with a replica, while syncs run:
 * - a coordinated failover (CLUSTER FAILOVER) of the primary that serves
 *   the queues, then a restart of the demoted node: every sync commits once,
 *   nothing lost or doubled;
 * - that primary killed outright (SIGKILL; its replica takes over after the
 *   node timeout): every run still ends terminal, none left queued or running.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ApiRole, startApiRole } from '@pinnacle/api';
import type { Run } from '@pinnacle/domain';
import { type Simulator, startSimulator, trustSimulatorCa } from '@pinnacle/entra-simulator';
import { createLogger } from '@pinnacle/logging';
import { createStores, type Stores } from '@pinnacle/redis-store';
import {
  type NodeProcess,
  type RedisCluster,
  type RedisClusterNode,
  spawnNodeProcess,
  startRedisCluster,
  waitFor,
} from '@pinnacle/testing';
import { Queue } from 'bullmq';
import { Cluster } from 'ioredis';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const entry = (app: string) =>
  fileURLToPath(new URL(`../../../apps/${app}/src/main.ts`, import.meta.url));
const DAY = 86_400_000;
const ORGS = 32;
const USERS = 300;
const AUTH = 'cluster-test-auth-secret-0123456789abcdef';
const KEY = randomBytes(32).toString('base64');
const PREFIX = `{cluster-survival-${randomBytes(4).toString('hex')}}`;

let cluster: RedisCluster;
let client: Cluster;
let sim: Simulator;
let api: ApiRole;
let stores: Stores;
let caDir: string;
const processes: NodeProcess[] = [];

const tenantId = randomUUID();
const clientId = randomUUID();
const secret = `Cl8~${randomUUID()}`;
const groupId = randomUUID();
const orgs = Array.from({ length: ORGS }, (_, i) => `cluster-${i}`);

beforeAll(async () => {
  cluster = await startRedisCluster({ primaries: 3, replicasPerPrimary: 1 });
  client = new Cluster(
    cluster.nodes.map((n) => ({ host: n.host, port: n.port })),
    {
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 300,
      redisOptions: { maxRetriesPerRequest: null },
    },
  );
  client.on('error', () => {});
  caDir = mkdtempSync(join(tmpdir(), 'pinnacle-cluster-'));
  sim = await startSimulator({ caPath: join(caDir, 'ca.pem') });
  trustSimulatorCa(sim.caCertPem);
  const domain = 'cluster.onmicrosoft.com';
  const users = Array.from({ length: USERS }, (_, i) => ({
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
    displayName: 'Cluster',
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
  // Slow Graph answers keep syncs in flight while the cluster fails over.
  sim.setFaults(tenantId, { latencyMs: 150 });
  const seedUrl = `redis://${cluster.nodes[0]?.address}`;
  const common = {
    REDIS_URL: seedUrl,
    REDIS_CLUSTER_NODES: cluster.seeds,
    QUEUE_PREFIX: PREFIX,
    SECRET_ENCRYPTION_KEY: KEY,
    ENTRA_AUTHORITY_HOST: sim.authorityHost,
    GRAPH_BASE_URL: sim.graphBaseUrl,
    NODE_EXTRA_CA_CERTS: sim.caPath!,
    WORKER_HEALTH_PORT: '0',
    NOTIFIER_HEALTH_PORT: '0',
    LOG_LEVEL: 'warn',
    SYNC_ATTEMPTS: '5',
    SYNC_BACKOFF_MS: '200',
    // The job lock outlasts a failover (node timeout 2 s plus the election),
    // as the default 120 s does, yet a job whose completion the killed
    // primary lost is taken up again within the test.
    SYNC_LOCK_DURATION_MS: '15000',
    SYNC_STALLED_INTERVAL_MS: '5000',
  };
  for (let i = 0; i < 2; i++) processes.push(spawnNodeProcess(entry('worker'), { env: common }));
  api = await startApiRole(
    {
      ...common,
      REDIS_CLUSTER_NODES: cluster.nodes.map((n) => ({ host: n.host, port: n.port })),
      PORT: 0,
      API_AUTH_SECRET: AUTH,
      OPS_USER: 'ops',
      OPS_PASSWORD: 'cluster-ops-password',
      SYNC_ATTEMPTS: 5,
      SYNC_BACKOFF_MS: 200,
    } as unknown as Parameters<typeof startApiRole>[0],
    createLogger({ name: 'api', level: 'silent' }),
    { host: '127.0.0.1' },
  );
  stores = createStores(client, PREFIX, KEY);
  for (const org of orgs) {
    const res = await call('PUT', `/orgs/${org}/integration`, {
      tenantId,
      clientId,
      clientSecret: secret,
      clientSecretExpiresAt: new Date(Date.now() + 90 * DAY).toISOString(),
      groupIds: [groupId],
    });
    expect(res.status).toBe(201);
  }
}, 120_000);

afterAll(async () => {
  await Promise.all(
    processes.map((p) => (p.child.exitCode === null ? p.kill('SIGTERM') : undefined)),
  );
  await api?.close();
  await sim?.close();
  client?.disconnect();
  await cluster?.stop();
  if (caDir) rmSync(caDir, { recursive: true, force: true });
});

let token: string | undefined;
async function call(method: string, path: string, body?: unknown) {
  token ??= await new SignJWT({ sub: 'cluster', org: '*', role: 'admin' })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(AUTH));
  const res = await fetch(`http://127.0.0.1:${api.port}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** The primary serving the queues' slot (the prefix's hash tag). */
async function queuePrimary(): Promise<RedisClusterNode> {
  const slot = Number(await client.call('CLUSTER', 'KEYSLOT', PREFIX));
  const primaries = await cluster.primaries();
  for (const node of primaries) {
    const ranges = (await client.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
    const owner = ranges.find(([from, to]) => slot >= from && slot <= to)?.[2];
    if (owner?.[1] === node.port) return node;
  }
  throw new Error(`no primary serves slot ${slot}`);
}

/** Starts one sync per org and resolves once some are under way. */
async function triggerRound(): Promise<void> {
  const accepted = await Promise.all(orgs.map((org) => call('POST', `/orgs/${org}/syncs`, {})));
  expect(accepted.map((a) => a.status)).toEqual(orgs.map(() => 202));
  await waitFor(
    async () => {
      const runs = await Promise.all(orgs.map((org) => stores.runs.list(org, { limit: 1 })));
      return runs.some((page) => page.items[0]?.status === 'running');
    },
    { timeoutMs: 20_000, intervalMs: 50, description: 'a sync to be running' },
  );
}

/** How many orgs' latest runs are still queued or running. */
async function unfinished(): Promise<number> {
  const pages = await Promise.all(orgs.map((org) => stores.runs.list(org, { limit: 1 })));
  return pages.filter((p) => ['queued', 'running'].includes(p.items[0]?.status ?? '')).length;
}

/** Every org's runs once none is queued or running. */
async function settledRuns(round: number, timeoutMs: number): Promise<Run[][]> {
  return waitFor(
    async () => {
      const pages = await Promise.all(orgs.map((org) => stores.runs.list(org, { limit: 10 })));
      const settled = pages.every(
        (page) =>
          page.items.length >= round &&
          page.items.every((run) => run.status !== 'queued' && run.status !== 'running'),
      );
      return settled ? pages.map((page) => page.items) : undefined;
    },
    { timeoutMs, intervalMs: 250, description: `every org's run ${round} to end` },
  );
}

async function jobCounts() {
  const queue = new Queue('sync', { connection: client, prefix: PREFIX });
  try {
    return await queue.getJobCounts(
      'completed',
      'failed',
      'active',
      'wait',
      'delayed',
      'prioritized',
    );
  } finally {
    await queue.close();
  }
}

describe('on a Redis Cluster with replicas', () => {
  it('a coordinated failover and a node restart mid-sync: every sync commits once, nothing lost or doubled', {
    timeout: 90_000,
  }, async () => {
    await triggerRound();
    const primary = await queuePrimary();
    const promoted = await cluster.failover(primary);
    // The failover landed while syncs were in flight (else it proves nothing).
    expect(await unfinished()).toBeGreaterThan(0);
    // The demoted primary (a replica now) restarts and resyncs.
    await cluster.restartNode(primary);
    expect((await queuePrimary()).port).toBe(promoted.port);

    const runs = await settledRuns(1, 60_000);
    for (const items of runs) {
      expect(items).toHaveLength(1);
      expect(items[0]).toMatchObject({ status: 'succeeded', stats: { users: USERS } });
    }
    const counts = await jobCounts();
    expect(counts).toMatchObject({ completed: ORGS, failed: 0, active: 0, wait: 0, delayed: 0 });
    // Each committed snapshot holds every user once.
    for (const org of orgs.slice(0, 4)) {
      const ids: string[] = [];
      let cursor: string | undefined;
      do {
        const query = cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`;
        const page = await call('GET', `/orgs/${org}/directory/users?limit=100${query}`);
        expect(page.status).toBe(200);
        ids.push(...(page.json.items as { id: string }[]).map((u) => u.id));
        cursor = (page.json.nextCursor as string | null) ?? undefined;
      } while (cursor !== undefined);
      expect(ids).toHaveLength(USERS);
      expect(new Set(ids).size).toBe(USERS);
    }
  });

  it('a primary killed outright mid-sync: every run still ends terminal', {
    timeout: 90_000,
  }, async () => {
    await triggerRound();
    await cluster.killNode(await queuePrimary());
    await cluster.waitUntilOk();
    // Its replica took over while syncs were in flight.
    expect(await unfinished()).toBeGreaterThan(0);

    const runs = await settledRuns(2, 75_000);
    for (const items of runs) {
      // Round 2's run ended (a lost write is retried, never left half-committed).
      expect(items).toHaveLength(2);
      for (const run of items) expect(['succeeded', 'failed']).toContain(run.status);
    }
    const succeeded = runs.filter((items) => items[0]?.status === 'succeeded');
    for (const items of succeeded) expect(items[0]?.stats.users).toBe(USERS);
    const counts = await jobCounts();
    expect((counts.active ?? 0) + (counts.wait ?? 0) + (counts.delayed ?? 0)).toBe(0);
  });
});
