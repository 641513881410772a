import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  getFreePort,
  pingRedis,
  resolveRedis,
  resolveTestRedis,
  TestingError,
  type TestRedis,
  useTestRedis,
} from '../src/index.js';

describe('resolveTestRedis', () => {
  it('returns a Redis that answers, the same one on every call', async () => {
    const url = await resolveTestRedis();
    expect(url).toMatch(/^rediss?:\/\//);
    expect(await pingRedis(url)).toBe(true);
    expect(await resolveTestRedis()).toBe(url);
  });
});

describe('resolveRedis fallbacks', () => {
  it('starts a Redis of its own when REDIS_URL is unset and the local port is silent', async () => {
    const silent = `redis://127.0.0.1:${await getFreePort()}`;
    const resolved = await resolveRedis({ env: {}, localUrl: silent });
    try {
      // Here no Docker engine runs, so this is the spawned redis-server; elsewhere a container.
      expect(['container', 'spawned']).toContain(resolved.source);
      expect(resolved.url).not.toBe(silent);
      const client = new Redis(resolved.url);
      await client.set('fallback-check', 'ok');
      expect(await client.get('fallback-check')).toBe('ok');
      await client.quit();
    } finally {
      await resolved.dispose();
    }
    expect(await pingRedis(resolved.url)).toBe(false);
  });

  it('insists on REDIS_URL when it is set, even if it does not answer', async () => {
    const dead = `redis://user:secret@127.0.0.1:${await getFreePort()}`;
    const error = await resolveRedis({ env: { REDIS_URL: dead } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TestingError);
    expect((error as TestingError).code).toBe('redis_unavailable');
    expect((error as TestingError).message).toContain('REDIS_URL');
    expect((error as TestingError).message).not.toContain('secret');
  });

  it('fails loudly on CI when nothing works, naming every attempt', async () => {
    const silent = `redis://127.0.0.1:${await getFreePort()}`;
    const error = await resolveRedis({
      env: { CI: 'true' },
      localUrl: silent,
      containers: false,
      redisServerBin: '/nonexistent/redis-server',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TestingError);
    expect((error as TestingError).code).toBe('redis_unavailable');
    expect((error as TestingError).message).toMatch(/CI=true/);
    expect((error as TestingError).message).toContain(silent);
    expect((error as TestingError).message).toContain('redis-server');
  });
});

describe('useTestRedis', () => {
  let first: TestRedis;
  let second: TestRedis;
  let observer: Redis;

  beforeAll(async () => {
    first = await useTestRedis('testing/self check');
    second = await useTestRedis('testing/self check');
    observer = new Redis(first.url);
  });

  afterAll(async () => {
    await first.cleanup();
    await second.cleanup();
    await observer.quit();
  });

  it('gives each call its own prefix', () => {
    expect(first.prefix).toMatch(/^test:testing-self-check:[0-9a-f]{12}$/);
    expect(second.prefix).not.toBe(first.prefix);
  });

  it('cleanup deletes every key under its prefix and nothing else', async () => {
    const target = await useTestRedis('cleanup-target');
    const outside = `test-outside:${randomBytes(6).toString('hex')}`;
    try {
      // More keys than one SCAN batch, of several types, so paging and UNLINK are both exercised.
      const pipeline = observer.pipeline();
      for (let i = 0; i < 2500; i++) pipeline.set(`${target.prefix}:k:${i}`, String(i));
      pipeline.hset(`${target.prefix}:hash`, { a: '1' });
      pipeline.rpush(`${target.prefix}:list`, 'x', 'y');
      pipeline.set(outside, 'keep me');
      pipeline.set(`${first.prefix}:neighbour`, 'keep me too');
      await pipeline.exec();
      const extra = target.connect({ maxRetriesPerRequest: null });
      await extra.set(`${target.prefix}:from-extra`, '1');
      expect(await target.keys()).toHaveLength(2503);

      await target.cleanup();

      expect(await observer.exists(`${target.prefix}:k:0`, `${target.prefix}:hash`)).toBe(0);
      const [, left] = await observer.scan('0', 'MATCH', `${target.prefix}*`, 'COUNT', 10_000);
      expect(left).toEqual([]);
      expect(await observer.get(outside)).toBe('keep me');
      expect(await observer.get(`${first.prefix}:neighbour`)).toBe('keep me too');
      expect(target.redis.status).toBe('end');
      expect(extra.status).toBe('end');
    } finally {
      await observer.del(outside);
      await target.cleanup();
    }
  });
});
