import { type RedisCluster, startRedisCluster } from '@pinnacle/testing';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRedisConnection,
  type RedisClient,
  redisTarget,
  waitForReady,
} from '../src/index.js';

let cluster: RedisCluster;
const opened: RedisClient[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster({ primaries: 3 });
}, 60_000);
afterAll(async () => {
  for (const c of opened) c.disconnect();
  await cluster?.stop();
});

const nodes = () => cluster.nodes.map((n) => ({ host: n.host, port: n.port }));

describe('redisTarget / createRedisConnection', () => {
  it('a single Redis without REDIS_CLUSTER_NODES', () => {
    expect(redisTarget({ REDIS_URL: 'redis://r:6379' })).toEqual({
      kind: 'single',
      url: 'redis://r:6379',
    });
    const single = createRedisConnection(
      redisTarget({ REDIS_URL: 'redis://127.0.0.1:1' }),
      'producer',
      {
        lazyConnect: true,
      },
    );
    opened.push(single);
    expect(single).toBeInstanceOf(Redis);
  });

  it('a Cluster with the seeds, REDIS_URL giving credentials and TLS only', () => {
    const target = redisTarget({
      REDIS_URL: 'rediss://svc:p%40ss@ignored-host:6380',
      REDIS_CLUSTER_NODES: nodes(),
    });
    const client = createRedisConnection(target, 'worker', { lazyConnect: true });
    opened.push(client);
    expect(client).toBeInstanceOf(Cluster);
    const options = (client as Cluster).options;
    expect(options.redisOptions).toMatchObject({
      username: 'svc',
      password: 'p@ss',
      tls: {},
      maxRetriesPerRequest: null,
      connectionName: 'entra-sync-worker',
    });
    expect(options.enableReadyCheck).toBe(true);
    expect(typeof options.dnsLookup).toBe('function');
  });

  for (const role of ['worker', 'producer'] as const) {
    it(`a ${role} connection reaches every primary of a real cluster`, async () => {
      const client = createRedisConnection(
        redisTarget({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_CLUSTER_NODES: nodes() }),
        role,
      );
      opened.push(client);
      await waitForReady(client, 10_000);
      const keys = Array.from({ length: 30 }, (_, i) => `conn-test:${role}:${i}`);
      for (const key of keys) await client.set(key, key);
      expect(await Promise.all(keys.map((k) => client.get(k)))).toEqual(keys);
      const counts = await Promise.all((client as Cluster).nodes('master').map((n) => n.dbsize()));
      expect(counts.filter((n) => n > 0).length).toBe(3);
    });
  }
});
