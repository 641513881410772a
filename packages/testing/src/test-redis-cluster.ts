import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { type RedisCluster, startRedisCluster } from './redis-cluster.js';

/** A connection to a single Redis or to a Redis Cluster. */
export type RedisClient = Redis | Cluster;

/** True when `TEST_REDIS_CLUSTER` asks the suites to run on a Redis Cluster instead. */
export function testOnCluster(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.TEST_REDIS_CLUSTER === '1' || env.TEST_REDIS_CLUSTER === 'true';
}

const clusterKey = Symbol.for('@pinnacle/testing/test-redis-cluster');

/**
 * The cluster of this test process (three primaries), started on first use
 * and shared by every test file the process runs; its nodes die with the
 * process.
 */
export function resolveTestCluster(): Promise<RedisCluster> {
  const holder = globalThis as { [clusterKey]?: Promise<RedisCluster> };
  holder[clusterKey] ??= startRedisCluster({ primaries: 3 });
  return holder[clusterKey];
}

/** A client of `cluster`: a Cluster client, with `options` for each node. */
export function connectCluster(cluster: RedisCluster, options: RedisOptions = {}): Cluster {
  const { enableAutoPipelining, enableOfflineQueue, ...node } = options;
  return new Cluster(
    cluster.nodes.map((n) => ({ host: n.host, port: n.port })),
    {
      redisOptions: node,
      ...(enableAutoPipelining === undefined ? {} : { enableAutoPipelining }),
      ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
    },
  );
}

/** Every key matching `pattern`: SCAN on every primary of a cluster. */
export async function scanKeys(client: RedisClient, pattern: string): Promise<string[]> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  const found: string[] = [];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      found.push(...batch);
    } while (cursor !== '0');
  }
  return found;
}

/** UNLINKs `keys`: on a cluster one key per command (they hash to many slots). */
export async function unlinkKeys(client: RedisClient, keys: readonly string[]): Promise<void> {
  if (client instanceof Redis) {
    for (let i = 0; i < keys.length; i += 500) await client.unlink(...keys.slice(i, i + 500));
    return;
  }
  await Promise.all(keys.map((key) => client.unlink(key)));
}
