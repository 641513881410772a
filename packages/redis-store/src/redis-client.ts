import { Cluster, type Redis } from 'ioredis';

/** A connection to a single Redis or to a Redis Cluster: what the stores run on. */
export type RedisClient = Redis | Cluster;

/**
 * The primaries behind a client, to run a per-node command on each (SCAN
 * sees one node's keys only): a single Redis is its own one.
 */
export function primaryNodes(redis: RedisClient): Redis[] {
  return redis instanceof Cluster ? redis.nodes('master') : [redis];
}

/**
 * Deletes every key matching `pattern` (SCAN a page at a time, UNLINK): on a
 * Cluster, on every primary, and one key per UNLINK there, as the keys a
 * glob finds may hash to different slots. Returns how many keys went.
 */
export async function unlinkMatching(
  redis: RedisClient,
  pattern: string,
  count = 1000,
): Promise<number> {
  const cluster = redis instanceof Cluster;
  let deleted = 0;
  for (const node of primaryNodes(redis)) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      if (batch.length === 0) continue;
      // SCAN may return a key twice; UNLINK counts each once anyway.
      if (!cluster) deleted += await node.unlink(...batch);
      else {
        const each = node.pipeline();
        for (const key of batch) each.unlink(key);
        for (const [error, n] of (await each.exec()) ?? []) {
          if (error) throw error;
          deleted += Number(n);
        }
      }
    } while (cursor !== '0');
  }
  return deleted;
}
