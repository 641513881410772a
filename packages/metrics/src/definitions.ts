/**
 * The fleet-wide metrics: recorded into Redis by whichever worker or
 * notifier process saw the event, and read back by the API at scrape time,
 * so the numbers do not depend on which process Prometheus scrapes.
 */

export interface CounterDefinition<L extends string = string> {
  type: 'counter';
  name: string;
  help: string;
  labelNames: readonly L[];
}

export interface HistogramDefinition {
  type: 'histogram';
  name: string;
  help: string;
  /** Upper bounds (`le`), ascending; `+Inf` is implied. Fixed: changing them splits history. */
  buckets: readonly number[];
}

export type MetricDefinition = CounterDefinition | HistogramDefinition;

/**
 * Sync run durations run from seconds (a preflight that stops at once) to
 * hours (a 100,000-user tenant under throttling).
 */
export const RUN_DURATION_BUCKETS = [
  1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400,
] as const;

export const metricDefinitions = {
  runs: {
    type: 'counter',
    name: 'entra_sync_runs_total',
    help: 'Sync runs finished, by final status (succeeded or failed).',
    labelNames: ['status'],
  },
  failures: {
    type: 'counter',
    name: 'entra_sync_failures_total',
    help: 'Failed sync runs, by failure code (settings_incomplete, entra_unreachable, ...).',
    labelNames: ['code'],
  },
  runDuration: {
    type: 'histogram',
    name: 'entra_sync_run_duration_seconds',
    help: 'Duration of finished sync runs, from the first attempt starting to the run finishing, in seconds.',
    buckets: RUN_DURATION_BUCKETS,
  },
  graphRequests: {
    type: 'counter',
    name: 'entra_sync_graph_requests_total',
    help: 'Microsoft Graph requests made by finished sync runs.',
    labelNames: [],
  },
  graphThrottled: {
    type: 'counter',
    name: 'entra_sync_graph_throttled_requests_total',
    help: 'Graph and token requests answered 429/503 (and retried) in finished sync runs.',
    labelNames: [],
  },
  notifications: {
    type: 'counter',
    name: 'entra_sync_notifications_total',
    help: 'Notification deliveries, by channel (inApp, email) and outcome.',
    labelNames: ['channel', 'outcome'],
  },
} as const satisfies Record<string, MetricDefinition>;

export type MetricId = keyof typeof metricDefinitions;

/** The notification channels (the keys of a notification's `delivery`). */
export type NotificationChannel = 'inApp' | 'email';

/**
 * What became of one channel's delivery attempt: `delivered`; `failed` for
 * good (retries exhausted); `retrying` (failed, will be retried); `disabled`
 * (the channel is off for the org, nothing attempted); `suppressed` (an
 * email held back by the org's email cap, nothing sent).
 */
export type NotificationOutcome = 'delivered' | 'failed' | 'retrying' | 'disabled' | 'suppressed';

/**
 * Metric keys: one hash per metric under `<prefix>:{metrics}`, where the
 * prefix is QUEUE_PREFIX without braces (like the data keys), so a
 * `{hash-tag}` prefix pins only the queues to one Cluster slot. The metrics
 * share their own tag: a finished run updates all of its metrics in one
 * atomic script, which a Cluster allows only within one slot.
 */
export function metricsKeyPrefix(queuePrefix: string): string {
  return `${queuePrefix.replace(/[{}]/g, '')}:{metrics}`;
}

export function metricKey(queuePrefix: string, definition: MetricDefinition): string {
  return `${metricsKeyPrefix(queuePrefix)}:${definition.name}`;
}
