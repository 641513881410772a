import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { pingRedis, type RedisServer, startRedisServer, TestingError } from '../src/index.js';

const servers: RedisServer[] = [];

async function start(options?: Parameters<typeof startRedisServer>[0]): Promise<RedisServer> {
  const server = await startRedisServer(options);
  servers.push(server);
  return server;
}

/** Writes n keys one command at a time, each acknowledged before the next. */
async function writeKeys(url: string, n: number): Promise<void> {
  const client = new Redis(url);
  try {
    for (let i = 0; i < n; i++) await client.set(`k:${i}`, `v${i}`);
    await client.hset('h', { a: '1', b: '2' });
  } finally {
    client.disconnect();
  }
}

async function readBack(url: string): Promise<{ count: number; missing: number; hash: object }> {
  const client = new Redis(url);
  try {
    const count = await client.dbsize();
    const keys = Array.from({ length: 500 }, (_, i) => `k:${i}`);
    const values = await client.mget(keys);
    const missing = values.filter((value, i) => value !== `v${i}`).length;
    return { count, missing, hash: await client.hgetall('h') };
  } finally {
    await client.quit();
  }
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

describe('startRedisServer', () => {
  it('starts on a free port in its own dir and answers', async () => {
    const server = await start();
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    expect(server.port).not.toBe(6379);
    expect(await pingRedis(server.url)).toBe(true);
    expect(existsSync(server.dir)).toBe(true);
    expect(server.pid).toBeTypeOf('number');
  });

  it('keeps every key across restart() with AOF, on the same port and dir', async () => {
    const server = await start();
    const { port, dir } = server;
    const pidBefore = server.pid;
    await writeKeys(server.url, 500);

    await server.restart();

    expect(server.port).toBe(port);
    expect(server.dir).toBe(dir);
    expect(server.pid).not.toBe(pidBefore);
    expect(await readBack(server.url)).toEqual({
      count: 501,
      missing: 0,
      hash: { a: '1', b: '2' },
    });
  });

  it('loses nothing acknowledged when kill()ed (SIGKILL) and restarted', async () => {
    const server = await start();
    await writeKeys(server.url, 500);
    const pidBefore = server.pid!;

    await server.kill();
    expect(server.pid).toBeUndefined();
    expect(() => process.kill(pidBefore, 0)).toThrow();
    expect(await pingRedis(server.url)).toBe(false);

    await server.restart();
    expect(await readBack(server.url)).toEqual({
      count: 501,
      missing: 0,
      hash: { a: '1', b: '2' },
    });
  });

  it('without AOF, restart() starts empty (so the tests above do prove AOF)', async () => {
    const server = await start({ appendonly: false });
    await writeKeys(server.url, 10);
    await server.restart();
    expect((await readBack(server.url)).count).toBe(0);
  });

  it('stop() shuts down and removes its temp dir; restart() after it is refused', async () => {
    const server = await start();
    await server.stop();
    expect(await pingRedis(server.url)).toBe(false);
    expect(existsSync(server.dir)).toBe(false);
    const error = await server.restart().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TestingError);
    expect((error as TestingError).code).toBe('invalid_usage');
  });

  it('leaves a dir it was given in place, with the AOF in it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'redis-given-'));
    try {
      const server = await start({ dir });
      await writeKeys(server.url, 3);
      await server.stop();
      expect(readdirSync(dir)).toContain('appendonlydir');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a binary that cannot start as redis_server_failed', async () => {
    const error = await startRedisServer({ bin: '/nonexistent/redis-server' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TestingError);
    expect((error as TestingError).code).toBe('redis_server_failed');
  });
});
