import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';

/**
 * Where a test's Redis clients come from, how its key prefix is made and
 * how a role under test is pointed at it: the one place a test connection
 * is opened. A cluster mode slots in here without any suite changing: with
 * `TEST_REDIS_CLUSTER_NODES` set, `connect` would make an ioredis Cluster,
 * `uniquePrefix` a hash-tagged prefix (`{test:<name>:<random>}`, so a
 * suite's keys and queues share a slot), `roleEnv` the roles' cluster
 * settings; `useTestRedis`'s SCAN cleanup would then walk every master.
 */
export interface RedisTarget {
  /** What the roles under test are given as REDIS_URL. */
  url: string;
  /** A new client; the caller closes it. */
  connect(options?: RedisOptions): Redis;
  /** A prefix unique to this call: `test:<name>:<random>`. */
  uniquePrefix(name: string): string;
  /** What a role under test is given to reach this Redis under `prefix`. */
  roleEnv(prefix: string): RedisRoleEnv;
}

/** The environment variables by which every role finds its Redis and keys. */
export interface RedisRoleEnv {
  REDIS_URL: string;
  QUEUE_PREFIX: string;
}

export function redisTarget(url: string): RedisTarget {
  return {
    url,
    connect: (options) => new Redis(url, options ?? {}),
    uniquePrefix: (name) =>
      `test:${name.replace(/[^A-Za-z0-9._-]/g, '-')}:${randomBytes(6).toString('hex')}`,
    roleEnv: (prefix) => ({ REDIS_URL: url, QUEUE_PREFIX: prefix }),
  };
}
