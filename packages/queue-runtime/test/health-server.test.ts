import { type RedisServer, startRedisServer, waitFor } from '@pinnacle/testing';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisConnection } from '../src/connections.js';
import { type HealthServer, startHealthServer } from '../src/health-server.js';

let redisServer: RedisServer;
let connection: Redis;
let health: HealthServer;
let base: string;

async function get(path: string, method = 'GET'): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${base}${path}`, {
    method,
    // A bound so a hang fails the test instead of stalling it; no timing is asserted.
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

beforeAll(async () => {
  // A throwaway server of this file's own: it is killed and restarted below.
  redisServer = await startRedisServer({ appendonly: false });
  // A worker-style connection: it reconnects forever and queues commands meanwhile.
  connection = createRedisConnection(redisServer.url, 'worker');
  connection.on('error', () => {});
  health = await startHealthServer({ port: 0, host: '127.0.0.1', redis: [connection] });
  base = `http://127.0.0.1:${health.port}`;
  await waitFor(async () => (await get('/readyz')).status === 200, {
    timeoutMs: 10_000,
    description: 'readyz 200 at start',
  });
});

afterAll(async () => {
  await health?.close();
  connection?.disconnect();
  await redisServer?.stop();
});

describe('health server', () => {
  it('answers /healthz and /readyz while Redis answers', async () => {
    expect(await get('/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await get('/readyz')).toEqual({ status: 200, body: { status: 'ready' } });
    expect((await get('/readyz?verbose=1')).status).toBe(200);
  });

  it('answers 404 for other paths and 405 for other methods', async () => {
    expect((await get('/metrics')).status).toBe(404);
    expect((await get('/healthz', 'POST')).status).toBe(405);
    expect((await get('/readyz', 'HEAD')).status).toBe(200);
  });

  it('says 503 while Redis is down and 200 once it is back, without a restart', async () => {
    await redisServer.kill();
    await waitFor(async () => (await get('/readyz')).status === 503, {
      timeoutMs: 15_000,
      description: 'readyz 503 with Redis killed',
    });
    expect(await get('/readyz')).toEqual({ status: 503, body: { status: 'unavailable' } });
    // Liveness does not depend on Redis: restarting the process would not help.
    expect((await get('/healthz')).status).toBe(200);

    await redisServer.restart();
    await waitFor(async () => (await get('/readyz')).status === 200, {
      timeoutMs: 20_000,
      description: 'readyz 200 after Redis restarted',
    });
    expect(await get('/readyz')).toEqual({ status: 200, body: { status: 'ready' } });
  });

  it('says 503 shutting_down once shutdown begins, while /healthz still answers', async () => {
    const other = await startHealthServer({ port: 0, host: '127.0.0.1', redis: [connection] });
    try {
      const url = `http://127.0.0.1:${other.port}`;
      other.shuttingDown();
      const ready = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(10_000) });
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'shutting_down' });
      const alive = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(10_000) });
      expect(alive.status).toBe(200);
    } finally {
      await other.close();
    }
  });

  it('fails to start, rather than starting half-way, when the port is taken', async () => {
    await expect(
      startHealthServer({ port: health.port, host: '127.0.0.1', redis: [connection] }),
    ).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});
