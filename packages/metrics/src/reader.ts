import type { RedisClient } from '@pinnacle/redis-store';
import {
  type CounterDefinition,
  type HistogramDefinition,
  type MetricDefinition,
  metricDefinitions,
  metricKey,
} from './definitions.js';

export interface CounterSeries {
  labels: Record<string, string>;
  value: number;
}

export interface RecordedCounter {
  definition: CounterDefinition;
  series: CounterSeries[];
}

export interface HistogramBucket {
  /** Upper bound; `Infinity` for the `+Inf` bucket. */
  le: number;
  /** Cumulative: observations at or below `le`. */
  count: number;
}

export interface RecordedHistogram {
  definition: HistogramDefinition;
  /** Every configured bound and `+Inf`, cumulative, ascending. */
  buckets: HistogramBucket[];
  sum: number;
  count: number;
}

export interface RecordedMetrics {
  counters: RecordedCounter[];
  histograms: RecordedHistogram[];
}

/**
 * Label values every scrape shows, even at zero, so `rate()` and alerts
 * have a series from the start.
 */
const knownSeries: Partial<Record<string, readonly (readonly string[])[]>> = {
  [metricDefinitions.runs.name]: [['succeeded'], ['failed']],
};

function toNumber(raw: string | undefined): number {
  const value = raw === undefined ? 0 : Number(raw);
  return Number.isFinite(value) ? value : 0;
}

function parseLabelValues(field: string, arity: number): string[] | undefined {
  try {
    const parsed: unknown = JSON.parse(field);
    if (!Array.isArray(parsed) || parsed.length !== arity) return undefined;
    return parsed.every((v): v is string => typeof v === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export function counterFromHash(
  definition: CounterDefinition,
  hash: Record<string, string>,
): RecordedCounter {
  const values = new Map<string, { labelValues: readonly string[]; value: number }>();
  for (const labelValues of knownSeries[definition.name] ?? []) {
    values.set(JSON.stringify(labelValues), { labelValues, value: 0 });
  }
  if (definition.labelNames.length === 0) values.set('[]', { labelValues: [], value: 0 });
  for (const [field, raw] of Object.entries(hash)) {
    const labelValues = parseLabelValues(field, definition.labelNames.length);
    if (labelValues === undefined) continue;
    values.set(JSON.stringify(labelValues), { labelValues, value: toNumber(raw) });
  }
  const series = [...values.values()].map(({ labelValues, value }) => ({
    labels: Object.fromEntries(
      definition.labelNames.map((name, i) => [name, labelValues[i] ?? '']),
    ),
    value,
  }));
  return { definition, series };
}

export function histogramFromHash(
  definition: HistogramDefinition,
  hash: Record<string, string>,
): RecordedHistogram {
  // Each observation is counted in one `le:` field; cumulate per bound here,
  // so a field of a bound no longer configured still lands in the right buckets.
  const observed: { le: number; count: number }[] = [];
  for (const [field, raw] of Object.entries(hash)) {
    if (!field.startsWith('le:')) continue;
    const bound = field === 'le:+Inf' ? Number.POSITIVE_INFINITY : Number(field.slice(3));
    if (Number.isNaN(bound)) continue;
    observed.push({ le: bound, count: toNumber(raw) });
  }
  const bounds = [...definition.buckets, Number.POSITIVE_INFINITY];
  const buckets = bounds.map((le) => ({
    le,
    count: observed.filter((o) => o.le <= le).reduce((total, o) => total + o.count, 0),
  }));
  const count = buckets.at(-1)?.count ?? 0;
  return { definition, buckets, sum: toNumber(hash.sum), count };
}

/** Reads every recorded metric back (one HGETALL per metric, sent together). */
export async function readRecordedMetrics(
  redis: RedisClient,
  queuePrefix: string,
): Promise<RecordedMetrics> {
  const definitions: MetricDefinition[] = Object.values(metricDefinitions);
  const hashes = await Promise.all(
    definitions.map((definition) => redis.hgetall(metricKey(queuePrefix, definition))),
  );
  const result: RecordedMetrics = { counters: [], histograms: [] };
  definitions.forEach((definition, i) => {
    const hash = hashes[i] ?? {};
    if (definition.type === 'counter') result.counters.push(counterFromHash(definition, hash));
    else result.histograms.push(histogramFromHash(definition, hash));
  });
  return result;
}
