import { Cluster } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { type RedisCluster, startRedisCluster } from '../src/index.js';

const clusters: RedisCluster[] = [];
const clients: Cluster[] = [];

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await Promise.all(clusters.map((c) => c.stop()));
});

function connect(cluster: RedisCluster): Cluster {
  const client = new Cluster(
    cluster.nodes.map((n) => ({ host: n.host, port: n.port })),
    { retryDelayOnFailover: 100, retryDelayOnClusterDown: 100 },
  );
  client.on('error', () => {});
  clients.push(client);
  return client;
}

describe('startRedisCluster', () => {
  it('three primaries without replicas: every slot served, keys spread over the primaries', {
    timeout: 60_000,
  }, async () => {
    const cluster = await startRedisCluster({ primaries: 3 });
    clusters.push(cluster);
    expect(cluster.nodes).toHaveLength(3);
    expect(cluster.seeds.split(',')).toHaveLength(3);
    expect(await cluster.primaries()).toHaveLength(3);
    const client = connect(cluster);
    for (let i = 0; i < 60; i++) await client.set(`k:${i}`, String(i));
    const sizes = await Promise.all(client.nodes('master').map((n) => n.dbsize()));
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(60);
    expect(sizes.every((n) => n > 0)).toBe(true);
    // A multi-key command across slots is refused, as the store's audit relies on.
    await expect(
      client.eval("return redis.call('MGET', KEYS[1], KEYS[2])", 2, 'a', 'b'),
    ).rejects.toThrow(/CROSSSLOT/);
    await cluster.stop();
    await expect(cluster.primaries()).rejects.toThrow(/no node/);
  });

  it('with replicas: failover, restart and a killed primary keep the data', {
    timeout: 90_000,
  }, async () => {
    const cluster = await startRedisCluster({ primaries: 3, replicasPerPrimary: 1 });
    clusters.push(cluster);
    expect(cluster.nodes).toHaveLength(6);
    const client = connect(cluster);
    for (let i = 0; i < 100; i++) await client.set(`k:${i}`, String(i));
    await Promise.all(client.nodes('master').map((n) => n.call('WAIT', '1', '2000')));

    const [first] = await cluster.primaries();
    if (first === undefined) throw new Error('no primary');
    const promoted = await cluster.failover(first);
    const primaries = (await cluster.primaries()).map((n) => n.port);
    expect(primaries).toContain(promoted.port);
    expect(primaries).not.toContain(first.port);

    // The demoted primary restarts and rejoins as a replica.
    await cluster.restartNode(first);
    expect((await cluster.primaries()).map((n) => n.port)).not.toContain(first.port);

    // A primary killed outright: its replica takes over after the node timeout.
    await cluster.killNode(promoted);
    await cluster.waitUntilOk();
    expect((await cluster.primaries()).map((n) => n.port)).toContain(first.port);
    const values = await Promise.all(Array.from({ length: 100 }, (_, i) => client.get(`k:${i}`)));
    expect(values).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
  });
});
