import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { setupTestRedis } from '../src/vitest.js';

// The hooks run per describe: the outer afterAll below sees the inner block cleaned up.
let innerPrefix = '';
let innerUrl = '';

describe('setupTestRedis', () => {
  const r = setupTestRedis('vitest-hooks');

  it('is ready inside tests', async () => {
    innerPrefix = r.prefix;
    innerUrl = r.url;
    await r.redis.set(`${r.prefix}:a`, '1');
    expect(await r.redis.get(`${r.prefix}:a`)).toBe('1');
    expect(await r.keys()).toEqual([`${r.prefix}:a`]);
  });
});

afterAll(async () => {
  const observer = new Redis(innerUrl);
  try {
    expect(innerPrefix).not.toBe('');
    const [, left] = await observer.scan('0', 'MATCH', `${innerPrefix}*`, 'COUNT', 10_000);
    expect(left).toEqual([]);
  } finally {
    await observer.quit();
  }
});

describe('setupTestRedis before its hook', () => {
  // Read while the suite is being collected, before any beforeAll of it could run.
  const early = setupTestRedis('too-early');
  let error: unknown;
  try {
    void early.prefix;
  } catch (e) {
    error = e;
  }

  it('says so instead of handing out undefined', () => {
    expect(error).toMatchObject({ code: 'invalid_usage' });
  });
});
