import type { RedisClusterNode } from '@pinnacle/config';
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';

/** A connection to a single Redis or to a Redis Cluster: what every role and store runs on. */
export type RedisClient = Redis | Cluster;

/**
 * How a connection behaves when Redis is away:
 * - `worker`: BullMQ workers block and must retry forever (maxRetriesPerRequest null).
 * - `producer`: the API answers 503 at once instead of hanging a request, so
 *   commands fail fast while disconnected (no offline queue).
 */
export type ConnectionRole = 'worker' | 'producer';

/**
 * Where the service's Redis is: REDIS_URL's server, or, with
 * REDIS_CLUSTER_NODES, a cluster reached through those seeds with
 * REDIS_URL's credentials and TLS (its host is then not used).
 */
export type RedisTarget =
  | { kind: 'single'; url: string }
  | { kind: 'cluster'; nodes: readonly RedisClusterNode[]; url: string };

export function redisTarget(env: {
  REDIS_URL: string;
  REDIS_CLUSTER_NODES?: readonly RedisClusterNode[] | undefined;
}): RedisTarget {
  return env.REDIS_CLUSTER_NODES === undefined
    ? { kind: 'single', url: env.REDIS_URL }
    : { kind: 'cluster', nodes: env.REDIS_CLUSTER_NODES, url: env.REDIS_URL };
}

/** A URL is a single Redis. */
export function toTarget(target: string | RedisTarget): RedisTarget {
  return typeof target === 'string' ? { kind: 'single', url: target } : target;
}

/** Options of a connection per role, shared by a single Redis and each cluster node. */
function roleOptions(role: ConnectionRole): RedisOptions {
  const common: RedisOptions = {
    connectionName: `entra-sync-${role}`,
    // Keep reconnecting with a capped backoff; readiness reports the outage.
    retryStrategy: (times) => Math.min(times * 200, 2000),
  };
  if (role === 'worker') return { ...common, maxRetriesPerRequest: null, enableReadyCheck: true };
  return {
    ...common,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2000,
    commandTimeout: 5000,
  };
}

/** The credentials and TLS a `redis://` / `rediss://` URL carries, for the cluster's nodes. */
function credentialsOf(url: string): Pick<RedisOptions, 'username' | 'password' | 'tls'> {
  const parsed = new URL(url);
  return {
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

export function createRedisConnection(
  target: string,
  role: ConnectionRole,
  extra?: Partial<RedisOptions>,
): Redis;
export function createRedisConnection(
  target: RedisTarget,
  role: ConnectionRole,
  extra?: Partial<RedisOptions>,
): RedisClient;
export function createRedisConnection(
  target: string | RedisTarget,
  role: ConnectionRole,
  extra: Partial<RedisOptions> = {},
): RedisClient {
  const resolved = toTarget(target);
  const options = { ...roleOptions(role), ...extra };
  if (resolved.kind === 'single') return new Redis(resolved.url, options);
  return new Cluster(
    resolved.nodes.map((n) => ({ host: n.host, port: n.port })),
    clusterOptions(resolved.url, role, options),
  );
}

/**
 * BullMQ's and ioredis's settings for a Cluster: the per-node options
 * (credentials, TLS, the role's retry and timeouts) go in `redisOptions`;
 * the offline queue, ready check and auto-pipelining are the cluster's own.
 */
function clusterOptions(url: string, role: ConnectionRole, options: RedisOptions): ClusterOptions {
  const {
    enableOfflineQueue,
    enableReadyCheck,
    enableAutoPipelining: _,
    retryStrategy,
    ...node
  } = options;
  return {
    redisOptions: { ...node, ...credentialsOf(url) },
    // Workers wait out a failover; producers fail fast (503) as with a single Redis.
    enableOfflineQueue: enableOfflineQueue ?? true,
    enableReadyCheck: enableReadyCheck ?? true,
    // No auto-pipelining on a Cluster: ioredis 5.9 batches commands per
    // node and then refuses the batch when their keys' slots differ ("All
    // keys in the pipeline should belong to the same slots allocation
    // group"), failing requests under load (seen in the fleet test).
    enableAutoPipelining: false,
    clusterRetryStrategy: retryStrategy ?? ((times) => Math.min(times * 200, 2000)),
    // Resolve node hostnames at connect time, not to the IPs the cluster
    // announces: TLS certificates name hosts (ioredis's advice for managed clusters).
    dnsLookup: (address, callback) => callback(null, address),
    // A failover or a slot move answers MOVED / TRYAGAIN / CLUSTERDOWN for a
    // moment: retry after a short pause instead of failing the command.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 300,
    retryDelayOnTryAgain: 200,
    retryDelayOnMoved: 0,
    maxRedirections: 32,
    slotsRefreshTimeout: role === 'worker' ? 2000 : 1000,
  };
}

/** Resolves once the connection is ready, or rejects after `timeoutMs`. */
export async function waitForReady(redis: RedisClient, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis did not become ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}

/**
 * The primaries behind a client, to run a per-node command on each (SCAN
 * sees one node's keys only): a single Redis is its own one.
 */
export function primaryNodes(redis: RedisClient): Redis[] {
  return redis instanceof Cluster ? redis.nodes('master') : [redis];
}
