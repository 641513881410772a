import type { Run } from '@pinnacle/domain';
import type { RedisClient } from '@pinnacle/redis-store';
import { defineScript } from '@pinnacle/redis-store';
import {
  type CounterDefinition,
  type HistogramDefinition,
  type MetricDefinition,
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

// Applies increments to the metric hashes in one step. increments:
// triplets of (index in hashes, field, amount); an amount with a '.' is a
// float.
const incrementMetrics = defineScript({
  name: 'incrementMetrics',
  keys: ['...hashes'],
  args: ['...increments'],
  lua: `
for i = 1, #increments, 3 do
  local key = hashes[tonumber(increments[i])]
  if string.find(increments[i + 2], '.', 1, true) then
    redis.call('HINCRBYFLOAT', key, increments[i + 1], increments[i + 2])
  else
    redis.call('HINCRBY', key, increments[i + 1], increments[i + 2])
  end
end
return 1
`,
  // Always 1: nothing to read back.
  parse: () => undefined,
});

/** One increment: metric hash, field, amount (as the script reads it). */
type Increment = [definition: MetricDefinition, field: string, by: string];

/**
 * Records the fleet-wide metrics into Redis: each call is one script over
 * the metric hashes (one slot, see `metricsKeyPrefix`), so concurrent
 * processes add up without coordination, a run's counters and histogram
 * move together, and a busy worker pays one command per finished run.
 */
export function createMetricsRecorder(
  redis: RedisClient,
  queuePrefix: string,
  options: MetricsRecorderOptions = {},
): MetricsRecorder {
  const onError = options.onError ?? (() => {});

  const apply = async (increments: Increment[]): Promise<void> => {
    const hashes: string[] = [];
    const triplets: string[] = [];
    for (const [definition, field, by] of increments) {
      const key = metricKey(queuePrefix, definition);
      let index = hashes.indexOf(key);
      if (index < 0) index = hashes.push(key) - 1;
      triplets.push(String(index + 1), field, by);
    }
    if (triplets.length > 0) {
      await incrementMetrics(redis, { keys: { hashes }, args: { increments: triplets } });
    }
  };

  /** Never rejects: metrics never fail the caller. */
  const record = async (increments: Increment[]): Promise<void> => {
    try {
      await apply(increments);
    } catch (error) {
      onError(error);
    }
  };

  const counter = (
    definition: CounterDefinition,
    labelValues: readonly string[],
    by = 1,
  ): Increment[] =>
    Number.isInteger(by) && by > 0
      ? [[definition, counterField(labelValues.map(safeLabel)), String(by)]]
      : [];

  const observation = (definition: HistogramDefinition, value: number): Increment[] =>
    Number.isFinite(value) && value >= 0
      ? [
          [definition, bucketField(bucketFor(definition.buckets, value)), '1'],
          // Always with a '.', so the script adds it as a float.
          [definition, 'sum', value.toFixed(6)],
          [definition, 'count', '1'],
        ]
      : [];

  return {
    async runFinished(run) {
      if (run.status !== 'succeeded' && run.status !== 'failed') return;
      const duration = runDurationSeconds(run);
      await record([
        ...counter(metricDefinitions.runs, [run.status]),
        ...counter(metricDefinitions.graphRequests, [], run.stats.graphRequests),
        ...counter(metricDefinitions.graphThrottled, [], run.stats.throttledRequests),
        ...(run.status === 'failed'
          ? counter(metricDefinitions.failures, [run.failure?.code ?? 'unknown'])
          : []),
        ...(duration === undefined ? [] : observation(metricDefinitions.runDuration, duration)),
      ]);
    },
    async notificationDelivered(channel, outcome) {
      await record(counter(metricDefinitions.notifications, [channel, outcome]));
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
