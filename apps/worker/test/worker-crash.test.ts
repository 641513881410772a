import { fileURLToPath } from 'node:url';
import { type NodeProcess, spawnNodeProcess, waitFor } from '@pinnacle/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { test } from './support/fixtures.js';
import { type Harness, newOrgId } from './support/harness.js';
import { addSeededTenant } from './support/tenants.js';

const workerEntry = fileURLToPath(new URL('../src/main.ts', import.meta.url));

let h: Harness;
const children: NodeProcess[] = [];

test.beforeAll(async ({ harness }) => {
  // No in-process worker: the jobs go to real worker processes.
  h = harness;
});
afterAll(async () => {
  for (const child of children) if (child.child.exitCode === null) await child.kill('SIGKILL');
});

function spawnWorker(): NodeProcess {
  const child = spawnNodeProcess(workerEntry, {
    env: {
      REDIS_URL: h.env.REDIS_URL,
      QUEUE_PREFIX: h.env.QUEUE_PREFIX,
      SECRET_ENCRYPTION_KEY: h.env.SECRET_ENCRYPTION_KEY,
      ENTRA_AUTHORITY_HOST: h.env.ENTRA_AUTHORITY_HOST,
      GRAPH_BASE_URL: h.env.GRAPH_BASE_URL,
      NODE_EXTRA_CA_CERTS: h.sim.caPath!,
      // A short lock so a dead worker's job is noticed within seconds.
      SYNC_LOCK_DURATION_MS: '2000',
      SYNC_STALLED_INTERVAL_MS: '1000',
      LOG_LEVEL: 'info',
      // No health server: the default port may be taken by another test process.
      WORKER_HEALTH_PORT: '0',
    },
  });
  children.push(child);
  return child;
}

async function readWholeSnapshot(orgId: string): Promise<number> {
  let count = 0;
  let cursor: string | undefined;
  do {
    const page = await h.stores.snapshots.readUsers(orgId, { cursor, limit: 500 });
    count += page.items.length;
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return count;
}

describe('a worker killed during fetch', () => {
  it('loses nothing: the job is picked up again and completes; readers always see a whole snapshot', {
    timeout: 120_000,
  }, async () => {
    const tenant = addSeededTenant(h.sim, {
      name: 'crash',
      userCount: 12_000,
      groups: [
        { key: 'first', ranges: [[0, 6000]] },
        { key: 'second', ranges: [[5000, 7000]] },
      ],
    });
    const { tenantId } = tenant;
    const orgId = newOrgId();
    const first = spawnWorker();
    await first.waitForLine(/worker ready/, 30_000);

    await h.configure(orgId, tenant.settings(['first']));
    const initial = await h.waitForRun(orgId, await h.syncNow(orgId), 60_000);
    expect(initial.status).toBe('succeeded');
    expect(await readWholeSnapshot(orgId)).toBe(6000);

    // Second sync: slow pages, so the kill lands mid-fetch.
    await h.configure(orgId, tenant.settings(['first', 'second']));
    h.sim.setFaults(tenantId, { latencyMs: 250 });
    const runId = await h.syncNow(orgId);
    await waitFor(async () => (await h.stores.runs.get(orgId, runId))?.stage === 'fetch', {
      timeoutMs: 30_000,
      description: 'the run to reach fetch',
    });
    // Staging buckets (`s:<n>`) appear as pages are staged.
    await waitFor(async () => (await h.redis.keys()).some((k) => k.includes(`snap:${runId}:s:`)), {
      timeoutMs: 30_000,
      description: 'pages to be staged',
    });
    await first.kill('SIGKILL');

    // With no worker alive, the committed snapshot is still the whole old one.
    expect(await readWholeSnapshot(orgId)).toBe(6000);
    expect((await h.stores.runs.get(orgId, runId))?.status).toBe('running');

    h.sim.setFaults(tenantId, { latencyMs: 20 });
    const second = spawnWorker();
    await second.waitForLine(/worker ready/, 30_000);
    // Read continuously while the new worker takes over: always old or new, never a mix.
    const counts = new Set<number>();
    const run = await waitFor(
      async () => {
        counts.add(await readWholeSnapshot(orgId));
        const r = await h.stores.runs.get(orgId, runId);
        return r && (r.status === 'succeeded' || r.status === 'failed') ? r : null;
      },
      {
        timeoutMs: 90_000,
        intervalMs: 20,
        description: 'the run to complete on the second worker',
      },
    );
    expect(run.status).toBe('succeeded');
    expect(run.stats).toMatchObject({ users: 12_000, added: 6000, removed: 0 });
    expect(await readWholeSnapshot(orgId)).toBe(12_000);
    expect([...counts].every((c) => c === 6000 || c === 12_000)).toBe(true);
    // Only the committed version and the retired one (expiring) remain.
    const versions = new Set(
      (await h.redis.keys()).flatMap((k) => /:snap:([^:]+):/.exec(k)?.[1] ?? []),
    );
    expect(versions).toEqual(new Set([runId, initial.id]));
    for (const key of (await h.redis.keys()).filter((k) => k.includes(`snap:${initial.id}:`))) {
      expect(await h.redis.redis.pttl(key), key).toBeGreaterThan(0);
    }
    // Graceful shutdown on SIGTERM: a clean exit.
    expect((await second.kill('SIGTERM')).code).toBe(0);
  });
});
