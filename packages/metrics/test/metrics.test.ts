import { randomUUID } from 'node:crypto';
import { buildFailure, emptyRunStats, type Run, runSchema } from '@pinnacle/domain';
import { startRedisServer } from '@pinnacle/testing';
import { type RedisFixture, test } from '@pinnacle/testing/fixtures';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import {
  createMetricsRecorder,
  metricDefinitions,
  metricKey,
  metricsKeyPrefix,
  type RecordedMetrics,
  RUN_DURATION_BUCKETS,
  readRecordedMetrics,
} from '../src/index.js';

let r: RedisFixture;

test.beforeAll(async ({ redis }) => {
  r = redis;
});

function finishedRun(patch: Partial<Run> & { durationSeconds?: number } = {}): Run {
  const { durationSeconds = 42, ...rest } = patch;
  const started = Date.parse('2030-01-01T10:00:00.000Z');
  return runSchema.parse({
    id: randomUUID(),
    orgId: 'org-metrics',
    trigger: 'schedule',
    status: 'succeeded',
    stage: 'commit',
    createdAt: new Date(started - 5_000).toISOString(),
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(started + durationSeconds * 1000).toISOString(),
    attempts: 1,
    failure: null,
    warnings: [],
    stats: { ...emptyRunStats(), graphRequests: 10, throttledRequests: 1 },
    ...rest,
  });
}

function failedRun(code: 'consent_missing' | 'entra_unreachable', durationSeconds = 3): Run {
  const failure =
    code === 'consent_missing'
      ? buildFailure('consent_missing', { missingPermissions: ['GroupMember.Read.All'] })
      : buildFailure('entra_unreachable', { attempts: 5, lastReason: 'http_503' });
  return finishedRun({
    status: 'failed',
    stage: 'preflight',
    failure,
    durationSeconds,
    stats: { ...emptyRunStats(), graphRequests: 2, throttledRequests: 0 },
  });
}

function counter(metrics: RecordedMetrics, name: string, labels: Record<string, string> = {}) {
  const found = metrics.counters.find((c) => c.definition.name === name);
  if (!found) throw new Error(`no counter ${name}`);
  const series = found.series.find((s) =>
    Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return series?.value;
}

describe('metrics recorder and reader', () => {
  it('keeps its hashes under the QUEUE_PREFIX without braces', () => {
    expect(metricsKeyPrefix('{entra-sync}')).toBe('entra-sync:{metrics}');
    expect(metricKey('{entra-sync}', metricDefinitions.runs)).toBe(
      'entra-sync:{metrics}:entra_sync_runs_total',
    );
  });

  it('reads zeros before anything was recorded', async () => {
    const metrics = await readRecordedMetrics(r.redis, `${r.prefix}:empty`);
    expect(counter(metrics, 'entra_sync_runs_total', { status: 'succeeded' })).toBe(0);
    expect(counter(metrics, 'entra_sync_runs_total', { status: 'failed' })).toBe(0);
    expect(counter(metrics, 'entra_sync_graph_requests_total')).toBe(0);
    const histogram = metrics.histograms.find(
      (h) => h.definition.name === metricDefinitions.runDuration.name,
    );
    expect(histogram?.count).toBe(0);
    expect(histogram?.buckets.map((b) => b.le)).toEqual([
      ...RUN_DURATION_BUCKETS,
      Number.POSITIVE_INFINITY,
    ]);
  });

  it('adds up what several processes record, and reads it back', async () => {
    const prefix = `${r.prefix}:fleet`;
    // Two connections stand for two worker processes; a third for the notifier.
    const workerA = createMetricsRecorder(r.connect(), prefix);
    const workerB = createMetricsRecorder(r.connect(), prefix);
    const notifier = createMetricsRecorder(r.connect(), prefix);

    await Promise.all([
      ...Array.from({ length: 20 }, () =>
        workerA.runFinished(finishedRun({ durationSeconds: 42 })),
      ),
      ...Array.from({ length: 10 }, () =>
        workerB.runFinished(finishedRun({ durationSeconds: 900 })),
      ),
      workerA.runFinished(failedRun('consent_missing')),
      workerB.runFinished(failedRun('consent_missing')),
      workerB.runFinished(failedRun('entra_unreachable', 20_000)),
      ...Array.from({ length: 5 }, () => notifier.notificationDelivered('email', 'delivered')),
      notifier.notificationDelivered('email', 'failed'),
      notifier.notificationDelivered('inApp', 'delivered'),
    ]);
    // Runs that have not finished are not counted.
    await workerA.runFinished(finishedRun({ status: 'running', finishedAt: null }));

    const metrics = await readRecordedMetrics(r.redis, prefix);
    expect(counter(metrics, 'entra_sync_runs_total', { status: 'succeeded' })).toBe(30);
    expect(counter(metrics, 'entra_sync_runs_total', { status: 'failed' })).toBe(3);
    expect(counter(metrics, 'entra_sync_failures_total', { code: 'consent_missing' })).toBe(2);
    expect(counter(metrics, 'entra_sync_failures_total', { code: 'entra_unreachable' })).toBe(1);
    expect(counter(metrics, 'entra_sync_graph_requests_total')).toBe(30 * 10 + 3 * 2);
    expect(counter(metrics, 'entra_sync_graph_throttled_requests_total')).toBe(30);
    expect(
      counter(metrics, 'entra_sync_notifications_total', {
        channel: 'email',
        outcome: 'delivered',
      }),
    ).toBe(5);
    expect(
      counter(metrics, 'entra_sync_notifications_total', { channel: 'email', outcome: 'failed' }),
    ).toBe(1);
    expect(
      counter(metrics, 'entra_sync_notifications_total', {
        channel: 'inApp',
        outcome: 'delivered',
      }),
    ).toBe(1);

    const duration = metrics.histograms.find(
      (h) => h.definition.name === 'entra_sync_run_duration_seconds',
    );
    expect(duration?.count).toBe(33);
    expect(duration?.sum).toBeCloseTo(20 * 42 + 10 * 900 + 2 * 3 + 20_000, 6);
    const bucket = (le: number) => duration?.buckets.find((b) => b.le === le)?.count;
    expect(bucket(1)).toBe(0);
    expect(bucket(5)).toBe(2); // the two 3 s failures
    expect(bucket(60)).toBe(22); // + twenty 42 s runs
    expect(bucket(600)).toBe(22);
    expect(bucket(1200)).toBe(32); // + ten 900 s runs
    expect(bucket(14400)).toBe(32);
    expect(bucket(Number.POSITIVE_INFINITY)).toBe(33); // + the 20,000 s one
  });

  it('keeps hostile label values from making new series', async () => {
    const prefix = `${r.prefix}:labels`;
    const recorder = createMetricsRecorder(r.redis, prefix);
    const run = failedRun('consent_missing');
    const hostile = {
      ...run,
      failure: run.failure ? { ...run.failure, code: 'x"} 1\nfake_metric 9' } : null,
    } as unknown as Run;
    await recorder.runFinished(hostile);
    const metrics = await readRecordedMetrics(r.redis, prefix);
    expect(counter(metrics, 'entra_sync_failures_total', { code: 'other' })).toBe(1);
  });

  it('never rejects when Redis is away, and reports the failed writes', async () => {
    const server = await startRedisServer({ appendonly: false });
    const redis = new Redis(server.url, {
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => 200,
      lazyConnect: false,
    });
    redis.on('error', () => {});
    try {
      await server.kill();
      const errors: unknown[] = [];
      const recorder = createMetricsRecorder(redis, 'down', { onError: (e) => errors.push(e) });
      await expect(recorder.runFinished(finishedRun())).resolves.toBeUndefined();
      await expect(recorder.notificationDelivered('email', 'failed')).resolves.toBeUndefined();
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });
});
