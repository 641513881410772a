import type { Run } from '@pinnacle/domain';
import type { Redis } from 'ioredis';
import {
  type CounterDefinition,
  type HistogramDefinition,
  metricDefinitions,
  metricKey,
  type NotificationChannel,
  type NotificationOutcome,
} from './definitions.js';

/** Field of a counter's hash: its label values in `labelNames` order, as JSON. */
export function counterField(values: readonly string[]): string {
  return JSON.stringify(values);
}

/** Field of a histogram's hash for one observation's bucket: `le:<bound>` or `le:+Inf`. */
export function bucketField(bound: number): string {
  return `le:${Number.isFinite(bound) ? String(bound) : '+Inf'}`;
}

/** The smallest bucket bound holding `value` (`+Inf` beyond the last). */
export function bucketFor(buckets: readonly number[], value: number): number {
  for (const bound of buckets) if (value <= bound) return bound;
  return Number.POSITIVE_INFINITY;
}

/**
 * Label values come from enums upstream (failure codes, statuses); anything
 * else is folded into `other` so a bug cannot blow up the series count.
 */
const LABEL_VALUE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
function safeLabel(value: string): string {
  return LABEL_VALUE.test(value) ? value : 'other';
}

export interface MetricsRecorder {
  /**
   * Records a finished run (status `succeeded` or `failed`; others are
   * ignored): the run and failure counters, its duration, and its Graph
   * request counts. Call once per finished run. Never rejects.
   */
  runFinished(run: Run): Promise<void>;
  /** Records one channel's delivery outcome for a notification. Never rejects. */
  notificationDelivered(channel: NotificationChannel, outcome: NotificationOutcome): Promise<void>;
}

export interface MetricsRecorderOptions {
  /** Told about a write that failed (Redis away, say); metrics never fail the caller. */
  onError?: (error: unknown) => void;
}

/**
 * Records the fleet-wide metrics into Redis: each write is one HINCRBY (or,
 * for the histogram, one MULTI on its single key), so concurrent processes
 * add up without coordination and nothing spans two Cluster slots.
 */
export function createMetricsRecorder(
  redis: Redis,
  queuePrefix: string,
  options: MetricsRecorderOptions = {},
): MetricsRecorder {
  const onError = options.onError ?? (() => {});

  const incrementCounter = async (
    definition: CounterDefinition,
    labelValues: readonly string[],
    by = 1,
  ): Promise<void> => {
    if (!Number.isInteger(by) || by <= 0) return;
    await redis.hincrby(
      metricKey(queuePrefix, definition),
      counterField(labelValues.map(safeLabel)),
      by,
    );
  };

  const observe = async (definition: HistogramDefinition, value: number): Promise<void> => {
    if (!Number.isFinite(value) || value < 0) return;
    const key = metricKey(queuePrefix, definition);
    await redis
      .multi()
      .hincrby(key, bucketField(bucketFor(definition.buckets, value)), 1)
      .hincrbyfloat(key, 'sum', value)
      .hincrby(key, 'count', 1)
      .exec();
  };

  const settle = async (writes: Promise<void>[]): Promise<void> => {
    for (const result of await Promise.allSettled(writes)) {
      if (result.status === 'rejected') onError(result.reason);
    }
  };

  return {
    async runFinished(run) {
      if (run.status !== 'succeeded' && run.status !== 'failed') return;
      const writes = [
        incrementCounter(metricDefinitions.runs, [run.status]),
        incrementCounter(metricDefinitions.graphRequests, [], run.stats.graphRequests),
        incrementCounter(metricDefinitions.graphThrottled, [], run.stats.throttledRequests),
      ];
      if (run.status === 'failed') {
        writes.push(incrementCounter(metricDefinitions.failures, [run.failure?.code ?? 'unknown']));
      }
      const duration = runDurationSeconds(run);
      if (duration !== undefined) writes.push(observe(metricDefinitions.runDuration, duration));
      await settle(writes);
    },
    async notificationDelivered(channel, outcome) {
      await settle([incrementCounter(metricDefinitions.notifications, [channel, outcome])]);
    },
  };
}

/** From the run's start (its first attempt) to its finish; undefined when either is unknown. */
export function runDurationSeconds(run: Run): number | undefined {
  const start = Date.parse(run.startedAt ?? run.createdAt);
  const end = run.finishedAt === null ? Number.NaN : Date.parse(run.finishedAt);
  if (!Number.isFinite(start) || !Number.isFinite(end)) return undefined;
  return Math.max(0, (end - start) / 1000);
}
