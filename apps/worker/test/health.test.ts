import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  getFreePort,
  type RedisServer,
  spawnNodeProcess,
  startRedisServer,
  waitFor,
} from '@pinnacle/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const entry = fileURLToPath(new URL('../src/main.ts', import.meta.url));
// A private redis-server: it is killed and restarted below.
let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedisServer({ appendonly: false });
});
afterAll(() => redis?.stop());

function env(overrides: Record<string, string | undefined>): Record<string, string | undefined> {
  return {
    DEMO_MODE: undefined,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: `test:worker-health:${randomBytes(4).toString('hex')}`,
    SECRET_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    LOG_LEVEL: 'info',
    ...overrides,
  };
}

async function status(url: string): Promise<number> {
  try {
    // A bound so a hang fails the check instead of stalling it; no timing is asserted.
    return (await fetch(url, { signal: AbortSignal.timeout(5_000) })).status;
  } catch {
    return 0;
  }
}

describe('worker process health', () => {
  it('serves /healthz and /readyz on WORKER_HEALTH_PORT, following Redis, and exits 0 on SIGTERM', async () => {
    const port = await getFreePort();
    const child = spawnNodeProcess(entry, { env: env({ WORKER_HEALTH_PORT: String(port) }) });
    try {
      await child.waitForLine(/"msg":"worker ready"/, 30_000);
      const base = `http://127.0.0.1:${port}`;
      expect(await status(`${base}/healthz`)).toBe(200);
      expect(await status(`${base}/readyz`)).toBe(200);

      await redis.kill();
      await waitFor(async () => (await status(`${base}/readyz`)) === 503, {
        timeoutMs: 15_000,
        description: 'worker /readyz 503 with Redis killed',
      });
      expect(await status(`${base}/healthz`)).toBe(200);

      await redis.restart();
      await waitFor(async () => (await status(`${base}/readyz`)) === 200, {
        timeoutMs: 20_000,
        description: 'worker /readyz 200 after Redis restarted',
      });
    } finally {
      const exit = await child.kill('SIGTERM');
      expect(exit.code).toBe(0);
    }
    expect(child.stdoutLines().join('\n')).toContain('worker stopped');
  });

  it('runs no health server with WORKER_HEALTH_PORT=0', async () => {
    const child = spawnNodeProcess(entry, { env: env({ WORKER_HEALTH_PORT: '0' }) });
    await child.waitForLine(/"msg":"worker ready"/, 30_000);
    expect((await child.kill('SIGTERM')).code).toBe(0);
    expect(child.stdoutLines().join('\n')).not.toContain('health server listening');
  });
});
