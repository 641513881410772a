import type { RedisOptions } from 'ioredis';
import { TestingError } from './errors.js';
import { startRedisContainer } from './redis-container.js';
import { pingRedis } from './redis-ping.js';
import { startRedisServer } from './redis-server.js';
import { clusterTarget, type RedisRoleEnv, type RedisTarget, redisTarget } from './redis-target.js';
import {
  type RedisClient,
  resolveTestCluster,
  scanKeys,
  testOnCluster,
  unlinkKeys,
} from './test-redis-cluster.js';

export type TestRedisSource = 'env' | 'local' | 'container' | 'spawned';

export interface ResolvedRedis {
  url: string;
  /** Where it came from: REDIS_URL, the local default port, a container, or a spawned redis-server. */
  source: TestRedisSource;
  /** Stops what was started for it (a no-op for env and local). */
  dispose(): Promise<void>;
}

export interface ResolveRedisOptions {
  env?: NodeJS.ProcessEnv;
  /** The Redis tried when REDIS_URL is unset. Default `redis://127.0.0.1:6379`. */
  localUrl?: string;
  /** PING timeout for the local Redis. Default 500. */
  localTimeoutMs?: number;
  /** Try a container engine. Default true. */
  containers?: boolean;
  /** redis-server binary for the last resort. Default: `REDIS_SERVER_BIN` or `redis-server`. */
  redisServerBin?: string;
}

/**
 * Finds or starts a Redis, in order: REDIS_URL (must answer: an explicit choice is
 * never silently replaced), the local default port, a testcontainers Redis, a
 * spawned redis-server. Fails with `redis_unavailable` listing every attempt;
 * it never returns "skip".
 */
export async function resolveRedis(options: ResolveRedisOptions = {}): Promise<ResolvedRedis> {
  const env = options.env ?? process.env;
  const nothingToDispose = async (): Promise<void> => {};
  const explicit = env.REDIS_URL;
  if (explicit !== undefined && explicit !== '') {
    if (await pingRedis(explicit, 2000)) {
      return { url: explicit, source: 'env', dispose: nothingToDispose };
    }
    throw new TestingError(
      'redis_unavailable',
      `REDIS_URL is set (${redactUrl(explicit)}) but that Redis does not answer PING`,
    );
  }

  const attempts: string[] = [];
  const localUrl = options.localUrl ?? 'redis://127.0.0.1:6379';
  if (await pingRedis(localUrl, options.localTimeoutMs ?? 500)) {
    return { url: localUrl, source: 'local', dispose: nothingToDispose };
  }
  attempts.push(`${localUrl}: no answer to PING`);

  if (options.containers ?? true) {
    try {
      const container = await startRedisContainer();
      if (container !== undefined) {
        return { url: container.url, source: 'container', dispose: container.stop };
      }
      attempts.push('testcontainers: no container engine answers');
    } catch (error) {
      attempts.push(`testcontainers: ${errorMessage(error)}`);
    }
  }

  try {
    const server = await startRedisServer({
      appendonly: false,
      ...(options.redisServerBin === undefined ? {} : { bin: options.redisServerBin }),
    });
    return { url: server.url, source: 'spawned', dispose: server.stop };
  } catch (error) {
    attempts.push(`redis-server: ${errorMessage(error)}`);
  }

  const onCi = env.CI === 'true' || env.CI === '1';
  throw new TestingError(
    'redis_unavailable',
    [
      onCi
        ? 'CI=true and no Redis for the tests: they must run, not be skipped.'
        : 'No Redis for the tests.',
      'Set REDIS_URL, run Redis on 127.0.0.1:6379, run a Docker engine, or install redis-server.',
      ...attempts.map((attempt) => `  - ${attempt}`),
    ].join('\n'),
  );
}

const resolvedKey = Symbol.for('@pinnacle/testing/test-redis');

/**
 * The Redis URL for this test process, decided once (see `resolveRedis`) and shared
 * by every test file the process runs. Whatever was started for it lives until
 * the process exits.
 */
export function resolveTestRedis(): Promise<string> {
  const holder = globalThis as { [resolvedKey]?: Promise<ResolvedRedis> };
  holder[resolvedKey] ??= resolveRedis();
  return holder[resolvedKey].then((resolved) => resolved.url);
}

/**
 * The target for this test process: `resolveTestRedis`'s Redis, or with
 * TEST_REDIS_CLUSTER=1 a local three-primary cluster (see `RedisTarget`).
 */
export async function resolveRedisTarget(): Promise<RedisTarget> {
  if (testOnCluster()) return clusterTarget(await resolveTestCluster());
  return redisTarget(await resolveTestRedis());
}

export interface TestRedis {
  url: string;
  /** Unique to this call: `test:<name>:<random>`. Put every key (and queue prefix) under it. */
  prefix: string;
  /** True when TEST_REDIS_CLUSTER=1: the clients are Cluster clients of a local cluster. */
  cluster: boolean;
  /**
   * `REDIS_URL` and `QUEUE_PREFIX` (on a cluster also `REDIS_CLUSTER_NODES`,
   * and the prefix in a hash tag) for a role under test: spread it into the role's env.
   */
  env: RedisRoleEnv;
  /** `env` as environment variables, for a role spawned as a process. */
  processEnv: Record<string, string>;
  /** A client for the test's own reads and writes; closed by `cleanup()`. */
  redis: RedisClient;
  /** Another client (e.g. a BullMQ connection: `{ maxRetriesPerRequest: null }`); closed by `cleanup()`. */
  connect(options?: RedisOptions): RedisClient;
  /** Every key under the prefix (SCAN, on every primary of a cluster). */
  keys(): Promise<string[]>;
  /** Closes the extra clients, deletes every key under the prefix (SCAN, never FLUSH*), closes `redis`. */
  cleanup(): Promise<void>;
}

/**
 * Redis for one test file. Call in `beforeAll`, and `cleanup()` in `afterAll`:
 *
 *   let r: TestRedis;
 *   beforeAll(async () => { r = await useTestRedis('sync-runs'); });
 *   afterAll(() => r.cleanup());
 */
export async function useTestRedis(name: string): Promise<TestRedis> {
  const target = await resolveRedisTarget();
  const { url } = target;
  const prefix = target.uniquePrefix(name);
  const redis = target.connect();
  const extra = new Set<RedisClient>();
  let cleanedUp = false;

  // The name is sanitised, so the prefix holds no glob characters to escape.
  // A queue prefix in a hash tag (on a cluster) starts with `{`.
  const keys = async (): Promise<string[]> => [
    ...(await scanKeys(redis, `${prefix}*`)),
    ...(target.cluster ? await scanKeys(redis, `{${prefix}}*`) : []),
  ];

  return {
    url,
    prefix,
    cluster: target.cluster,
    env: target.roleEnv(prefix),
    processEnv: target.processEnv(prefix),
    redis,
    connect(options) {
      const client = target.connect(options);
      extra.add(client);
      return client;
    },
    keys,
    async cleanup() {
      if (cleanedUp) return;
      cleanedUp = true;
      // Extra clients first, so nothing writes under the prefix while it is emptied.
      await Promise.all([...extra].map(closeClient));
      // SCAN may return a key twice; UNLINK counts each once anyway.
      await unlinkKeys(redis, [...new Set(await keys())]);
      await closeClient(redis);
    },
  };
}

async function closeClient(client: RedisClient): Promise<void> {
  if (client.status === 'end') return;
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}

function errorMessage(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
