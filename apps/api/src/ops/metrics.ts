import type { Logger } from '@pinnacle/logging';
import {
  type HistogramDefinition,
  metricDefinitions,
  type RecordedHistogram,
  type RecordedMetrics,
  readRecordedMetrics,
} from '@pinnacle/metrics';
import type { RedisClient } from '@pinnacle/queue-runtime';
import type { FleetIndex } from '@pinnacle/redis-store';
import type { Queue } from 'bullmq';
import type { Request, RequestHandler } from 'express';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { withTimeout } from '../errors.js';
import { API_BASE_PATH } from '../openapi.js';
import { requestContext } from '../request-context.js';

/** A scrape must not hang on Redis: Prometheus times out at 10 s by default. */
const SCRAPE_TIMEOUT_MS = 3_000;

const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export interface ApiMetricsOptions {
  /** Every queue of the service: their job counts by state are read at scrape time. */
  queues: readonly Queue[];
  /** Reads what workers and notifiers recorded (a fail-fast connection). */
  redis: RedisClient;
  queuePrefix: string;
  logger: Logger;
  /** The fleet index: how many orgs are stale, at scrape time. */
  fleet?: FleetIndex;
}

export interface ApiMetrics {
  registry: Registry;
  /** Counts and times every request by route pattern and status. */
  httpMetrics: RequestHandler;
  /** `GET /metrics`, Prometheus text format. */
  handler: RequestHandler;
}

/** The route label: a pattern, never the raw URL, so the series stay few. */
function routeLabel(req: Request): string {
  const context = requestContext(req).route;
  if (context !== undefined) return context;
  const matched = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof matched === 'string') return `${req.baseUrl}${matched}`;
  if (req.originalUrl.startsWith(`${API_BASE_PATH}/`)) return `${API_BASE_PATH}/*`;
  return 'unmatched';
}

interface FleetSnapshot {
  jobCounts: { queue: string; byState: Record<string, number> }[];
  /** Undefined when Redis did not answer. */
  recorded: RecordedMetrics | undefined;
  /** Orgs whose last success is older than three schedule intervals; undefined when unknown. */
  staleOrgs: number | undefined;
  /** Every read answered. */
  complete: boolean;
}

async function readFleet(options: ApiMetricsOptions): Promise<FleetSnapshot> {
  const failed: string[] = [];
  let reason: string | undefined;
  const unavailable = (what: string) => (error: unknown) => {
    failed.push(what);
    reason ??= error instanceof Error ? error.message : String(error);
    return undefined;
  };
  const [counts, recorded, staleOrgs] = await Promise.all([
    Promise.all(
      options.queues.map((queue) =>
        withTimeout('counting jobs', SCRAPE_TIMEOUT_MS, queue.getJobCounts()).then(
          (byState) => ({ queue: queue.name, byState }),
          unavailable(`${queue.name} job counts`),
        ),
      ),
    ),
    withTimeout(
      'reading recorded metrics',
      SCRAPE_TIMEOUT_MS,
      readRecordedMetrics(options.redis, options.queuePrefix),
    ).catch(unavailable('recorded metrics')),
    options.fleet
      ? withTimeout(
          'counting stale orgs',
          SCRAPE_TIMEOUT_MS,
          options.fleet.staleCount(new Date()),
        ).catch(unavailable('stale orgs'))
      : Promise.resolve(undefined),
  ]);
  // One line per scrape, without a stack: the connection watch already reports the outage.
  if (failed.length > 0)
    options.logger.warn({ failed, reason }, 'metrics scrape: redis unavailable');
  const jobCounts = counts.filter((c): c is NonNullable<typeof c> => c !== undefined);
  return { jobCounts, recorded, staleOrgs, complete: failed.length === 0 };
}

/**
 * A histogram whose buckets are read from Redis at scrape time instead of
 * observed in this process. prom-client has no setter for a histogram's
 * buckets, so the metric object is built here: name, help and type from an
 * unregistered twin, the values from Redis.
 */
class RecordedHistogramMetric extends Histogram<string> {
  private readonly twin: Histogram<string>;

  constructor(
    private readonly definition: HistogramDefinition,
    private readonly read: () => Promise<RecordedHistogram | undefined>,
    registry: Registry,
  ) {
    const config = {
      name: definition.name,
      help: definition.help,
      buckets: [...definition.buckets],
    };
    super({ ...config, registers: [registry] });
    this.twin = new Histogram({ ...config, registers: [] });
  }

  override get() {
    return this.snapshot();
  }

  /** prom-client's registry prefers this (untyped) method to get() for the text format. */
  getForPromString() {
    return this.snapshot();
  }

  private async snapshot() {
    const [base, recorded] = await Promise.all([this.twin.get(), this.read()]);
    const name = this.definition.name;
    const values = recorded
      ? [
          ...recorded.buckets.map((bucket) => ({
            metricName: `${name}_bucket`,
            labels: { le: Number.isFinite(bucket.le) ? bucket.le : '+Inf' },
            value: bucket.count,
          })),
          { metricName: `${name}_sum`, labels: {}, value: recorded.sum },
          { metricName: `${name}_count`, labels: {}, value: recorded.count },
        ]
      : [];
    return { ...base, values };
  }
}

/**
 * The api role's Prometheus registry:
 * - this process: Node's default metrics, HTTP requests by route and status;
 * - the fleet, read from Redis at scrape time (so any api replica answers the
 *   same): jobs by queue and state (BullMQ `getJobCounts`), and the run and
 *   notification metrics the workers and notifiers record (@pinnacle/metrics).
 * When Redis does not answer, those series are left out and
 * `entra_sync_redis_up` is 0; the scrape itself still succeeds.
 */
export function createApiMetrics(options: ApiMetricsOptions): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered by this api process, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer HTTP requests in this api process, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  const httpMetrics: RequestHandler = (req, res, next) => {
    const stop = httpDuration.startTimer();
    res.once('finish', () => {
      const labels = {
        method: HTTP_METHODS.has(req.method) ? req.method : 'other',
        route: routeLabel(req),
        status: String(res.statusCode),
      };
      httpRequests.inc(labels);
      stop(labels);
    });
    next();
  };

  // One round of Redis reads per scrape, shared by every metric that needs it.
  let inFlight: Promise<FleetSnapshot> | undefined;
  const fleet = (): Promise<FleetSnapshot> => {
    inFlight ??= readFleet(options).finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };

  new Gauge({
    name: 'entra_sync_queue_jobs',
    help: 'Jobs in each queue by state (BullMQ getJobCounts), read at scrape time.',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      const { jobCounts } = await fleet();
      // Reset and set with no await in between, so concurrent scrapes cannot interleave.
      this.reset();
      for (const { queue, byState } of jobCounts) {
        for (const [state, count] of Object.entries(byState)) this.set({ queue, state }, count);
      }
    },
  });

  for (const definition of Object.values(metricDefinitions)) {
    if (definition.type === 'histogram') {
      new RecordedHistogramMetric(
        definition,
        async () => (await fleet()).recorded?.histograms.find((h) => h.definition === definition),
        registry,
      );
      continue;
    }
    new Counter({
      name: definition.name,
      help: definition.help,
      labelNames: [...definition.labelNames],
      registers: [registry],
      async collect() {
        const { recorded } = await fleet();
        const counter = recorded?.counters.find((c) => c.definition === definition);
        this.reset();
        for (const series of counter?.series ?? []) this.inc(series.labels, series.value);
      },
    });
  }

  new Gauge({
    name: 'entra_sync_orgs_stale',
    help: 'Orgs whose last successful sync is older than three schedule intervals (never synced: since their settings were saved), read from the fleet index at scrape time.',
    registers: [registry],
    async collect() {
      const { staleOrgs } = await fleet();
      this.reset();
      if (staleOrgs !== undefined) this.set(staleOrgs);
    },
  });

  new Gauge({
    name: 'entra_sync_redis_up',
    help: '1 when this scrape could read the fleet-wide metrics from Redis, 0 when not.',
    registers: [registry],
    async collect() {
      this.set((await fleet()).complete ? 1 : 0);
    },
  });

  const handler: RequestHandler = async (_req, res) => {
    const text = await registry.metrics();
    res.setHeader('Content-Type', registry.contentType);
    res.setHeader('Cache-Control', 'no-store');
    res.send(text);
  };

  return { registry, httpMetrics, handler };
}
