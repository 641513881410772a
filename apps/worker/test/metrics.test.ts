import { randomUUID } from 'node:crypto';
import { metricDefinitions, type RecordedMetrics, readRecordedMetrics } from '@pinnacle/metrics';
import { waitFor } from '@pinnacle/testing';
import { describe, expect, it } from 'vitest';
import { test } from './support/fixtures.js';
import { type Harness, newOrgId } from './support/harness.js';
import { type FixtureTenant, fixtureTenant, settingsFor } from './support/tenants.js';

let h: Harness;
let t: FixtureTenant;

test.beforeAll(async ({ harness }) => {
  h = harness;
  t = fixtureTenant();
  h.sim.addTenant(t.input);
  h.startWorker();
});

function counter(metrics: RecordedMetrics, name: string, labels: Record<string, string> = {}) {
  return metrics.counters
    .find((c) => c.definition.name === name)
    ?.series.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

describe('run metrics recorded by the worker', () => {
  it('counts each finished run, its failure code, duration and Graph requests in Redis', async () => {
    const ok = newOrgId();
    await h.configure(ok, settingsFor(t, [t.groups.engineering]));
    const succeeded = await h.syncAndWait(ok);
    expect(succeeded.status).toBe('succeeded');

    const broken = newOrgId();
    await h.configure(broken, settingsFor(t, [randomUUID()]));
    const failed = await h.syncAndWait(broken);
    expect(failed.failure?.code).toBe('group_not_found');

    // Recorded right after each run is saved, without holding the job up.
    const metrics = await waitFor(
      async () => {
        const read = await readRecordedMetrics(h.redis.redis, h.env.QUEUE_PREFIX);
        const duration = read.histograms.find(
          (h) => h.definition.name === metricDefinitions.runDuration.name,
        );
        return duration?.count === 2 ? read : undefined;
      },
      { timeoutMs: 10_000, description: 'two runs in the duration histogram' },
    );
    expect(counter(metrics, 'entra_sync_runs_total', { status: 'succeeded' })).toBe(1);
    expect(counter(metrics, 'entra_sync_runs_total', { status: 'failed' })).toBe(1);
    expect(counter(metrics, 'entra_sync_failures_total', { code: 'group_not_found' })).toBe(1);
    expect(counter(metrics, 'entra_sync_graph_requests_total')).toBe(
      succeeded.stats.graphRequests + failed.stats.graphRequests,
    );
    expect(counter(metrics, 'entra_sync_graph_requests_total')).toBeGreaterThan(0);
  });
});
