import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { RedisCluster } from './redis-cluster.js';
import { connectCluster, type RedisClient } from './test-redis-cluster.js';

/**
 * Where a test's Redis clients come from, how its key prefix is made and
 * how a role under test is pointed at it: the one place a test connection
 * is opened. With TEST_REDIS_CLUSTER=1 (`clusterTarget`), `connect` makes an
 * ioredis Cluster, `roleEnv` gives the roles the cluster's seeds and the
 * prefix in a hash tag (`{test:<name>:<random>}`, so a suite's queues share a
 * slot), while the prefix itself stays untagged: the stores' keys then
 * spread over the slots by their own tags, as in production.
 */
export interface RedisTarget {
  /** What the roles under test are given as REDIS_URL. */
  url: string;
  /** True for a cluster (TEST_REDIS_CLUSTER=1). */
  cluster: boolean;
  /** A new client; the caller closes it. */
  connect(options?: RedisOptions): RedisClient;
  /** A prefix unique to this call: `test:<name>:<random>`. */
  uniquePrefix(name: string): string;
  /** What a role under test (started in this process) is given to reach this Redis under `prefix`. */
  roleEnv(prefix: string): RedisRoleEnv;
  /** The same as environment variables, for a role in a child process. */
  processEnv(prefix: string): Record<string, string>;
}

/** The environment by which every role finds its Redis and keys (as `loadEnv` returns it). */
export interface RedisRoleEnv {
  REDIS_URL: string;
  QUEUE_PREFIX: string;
  /** On a cluster: its seed nodes. */
  REDIS_CLUSTER_NODES?: { host: string; port: number }[];
}

const uniquePrefix = (name: string): string =>
  `test:${name.replace(/[^A-Za-z0-9._-]/g, '-')}:${randomBytes(6).toString('hex')}`;

export function redisTarget(url: string): RedisTarget {
  return {
    url,
    cluster: false,
    connect: (options) => new Redis(url, options ?? {}),
    uniquePrefix,
    roleEnv: (prefix) => ({ REDIS_URL: url, QUEUE_PREFIX: prefix }),
    processEnv: (prefix) => ({ REDIS_URL: url, QUEUE_PREFIX: prefix }),
  };
}

/** A local Redis Cluster as the tests' Redis (TEST_REDIS_CLUSTER=1). */
export function clusterTarget(cluster: RedisCluster): RedisTarget {
  const url = `redis://${cluster.nodes[0]?.address}`;
  return {
    url,
    cluster: true,
    connect: (options) => connectCluster(cluster, options),
    uniquePrefix,
    roleEnv: (prefix) => ({
      REDIS_URL: url,
      QUEUE_PREFIX: `{${prefix}}`,
      REDIS_CLUSTER_NODES: cluster.nodes.map((n) => ({ host: n.host, port: n.port })),
    }),
    processEnv: (prefix) => ({
      REDIS_URL: url,
      QUEUE_PREFIX: `{${prefix}}`,
      REDIS_CLUSTER_NODES: cluster.seeds,
    }),
  };
}
