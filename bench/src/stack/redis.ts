import { type RedisServer, redisCpuMs, startRedisServer } from '@pinnacle/testing';
import { Redis } from 'ioredis';

/**
 * A private redis-server for the benchmarks (no persistence): its CPU and
 * memory are the service's alone, not those of whatever else shares the
 * machine's Redis, and nothing is left behind.
 */
export class BenchRedis {
  private readonly clients: Redis[] = [];
  readonly admin: Redis;

  private constructor(private readonly server: RedisServer) {
    this.admin = this.connect();
  }

  static async start(extraArgs: string[] = []): Promise<BenchRedis> {
    return new BenchRedis(await startRedisServer({ appendonly: false, extraArgs }));
  }

  get url(): string {
    return this.server.url;
  }

  get pid(): number {
    return this.server.pid ?? -1;
  }

  /** A client closed with the server (BullMQ's blocking workers need maxRetriesPerRequest null). */
  connect(): Redis {
    const client = new Redis(this.server.url, { maxRetriesPerRequest: null });
    this.clients.push(client);
    return client;
  }

  cpuMs(): Promise<number> {
    return redisCpuMs(this.admin);
  }

  async usedMemory(): Promise<number> {
    const info = await this.admin.info('memory');
    return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN);
  }

  /** Removes every key matching `pattern` (e.g. one org's `*{o:<orgId>}*`). */
  async unlinkMatching(pattern: string): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await this.admin.unlink(...keys);
    } while (cursor !== '0');
  }

  async stop(): Promise<void> {
    for (const client of this.clients) client.disconnect();
    await this.server.stop();
  }
}
