import { fileURLToPath } from 'node:url';
import { spawnNodeProcess, waitFor } from '@pinnacle/testing';
import { describe, expect, it } from 'vitest';
import { test } from './support/fixtures.js';
import { type Harness, newOrgId } from './support/harness.js';
import { addSeededTenant } from './support/tenants.js';

const workerEntry = fileURLToPath(new URL('../src/main.ts', import.meta.url));

describe('worker boot configuration', () => {
  it.each([
    ['missing', {}, 'SECRET_ENCRYPTION_KEY'],
    ['malformed', { SECRET_ENCRYPTION_KEY: 'dG9vLXNob3J0' }, 'SECRET_ENCRYPTION_KEY'],
    [
      'malformed',
      { SECRET_ENCRYPTION_KEY: Buffer.alloc(32).toString('base64'), REDIS_URL: 'http://nope' },
      'REDIS_URL',
    ],
    [
      'malformed',
      { SECRET_ENCRYPTION_KEY: Buffer.alloc(32).toString('base64'), SYNC_CONCURRENCY: 'many' },
      'SYNC_CONCURRENCY',
    ],
  ])('exits 1 naming a %s variable (%o)', async (_kind, env, name) => {
    const child = spawnNodeProcess(workerEntry, { env: { WORKER_HEALTH_PORT: '0', ...env } });
    const exit = await child.exited;
    expect(exit.code).toBe(1);
    expect(child.stderrLines().join('\n')).toContain(name);
    // The bad value itself is never echoed.
    expect(child.stderrLines().join('\n')).not.toContain('dG9vLXNob3J0');
  });
});

describe('SIGTERM during a sync', () => {
  let h: Harness;
  test.beforeAll(async ({ harness }) => {
    h = harness;
  });

  it('exits cleanly, and the job completes', { timeout: 120_000 }, async () => {
    const tenant = addSeededTenant(h.sim, {
      name: 'term',
      userCount: 8000,
      groups: [{ key: 'all', ranges: [[0, 8000]] }],
    });
    const { tenantId } = tenant;
    const orgId = newOrgId();
    await h.configure(orgId, tenant.settings(['all']));
    const env = {
      REDIS_URL: h.env.REDIS_URL,
      QUEUE_PREFIX: h.env.QUEUE_PREFIX,
      SECRET_ENCRYPTION_KEY: h.env.SECRET_ENCRYPTION_KEY,
      ENTRA_AUTHORITY_HOST: h.env.ENTRA_AUTHORITY_HOST,
      GRAPH_BASE_URL: h.env.GRAPH_BASE_URL,
      NODE_EXTRA_CA_CERTS: h.sim.caPath!,
      SYNC_LOCK_DURATION_MS: '2000',
      SYNC_STALLED_INTERVAL_MS: '1000',
      WORKER_HEALTH_PORT: '0',
    };
    const first = spawnNodeProcess(workerEntry, { env });
    await first.waitForLine(/worker ready/, 30_000);
    h.sim.setFaults(tenantId, { latencyMs: 300 });
    const runId = await h.syncNow(orgId);
    await waitFor(async () => (await h.stores.runs.get(orgId, runId))?.stage === 'fetch', {
      timeoutMs: 30_000,
      description: 'the run to reach fetch',
    });
    const exit = await first.kill('SIGTERM');
    expect(exit.code).toBe(0);
    expect(first.stdoutLines().join('\n')).toContain('worker stopped');

    // Whether the worker finished the job while closing or left it for the
    // next one, a restarted worker brings it to a successful end.
    h.sim.clearFaults(tenantId);
    const second = spawnNodeProcess(workerEntry, { env });
    await second.waitForLine(/worker ready/, 30_000);
    const run = await h.waitForRun(orgId, runId, 60_000);
    expect(run.status).toBe('succeeded');
    expect(run.stats.users).toBe(8000);
    expect((await second.kill('SIGTERM')).code).toBe(0);
  });
});
