import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import { type RedisServer, startRedisServer, waitFor } from '@pinnacle/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settingsBody, signToken, startTestApi, type TestApi } from './helpers.js';

// A private redis-server, so killing it touches no other test.
let redis: RedisServer;
let api: TestApi;
let token: string;

beforeAll(async () => {
  redis = await startRedisServer({ appendonly: false });
  api = await startTestApi({
    env: {
      REDIS_URL: redis.url,
      QUEUE_PREFIX: `test:api-resilience:${randomBytes(4).toString('hex')}`,
    },
  });
  token = await signToken();
});
afterAll(async () => {
  await api?.close();
  await redis?.stop();
});

const readyz = () => api.request('GET', '/readyz');

describe('Redis outage', () => {
  it('is ready while Redis answers', async () => {
    expect((await api.request('GET', '/healthz')).json).toEqual({ status: 'ok' });
    const res = await readyz();
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: 'ready' });
  });

  it('answers 503 while Redis is down, and keeps serving', async () => {
    await redis.kill();
    await waitFor(async () => (await readyz()).status === 503, {
      timeoutMs: 10_000,
      description: '/readyz to answer 503',
    });
    expect((await readyz()).json).toEqual({ status: 'unavailable' });

    const requests = [
      ['GET', '/api/v1/orgs/org-r/integration', undefined],
      ['PUT', '/api/v1/orgs/org-r/integration', settingsBody()],
      ['POST', '/api/v1/orgs/org-r/syncs', undefined],
      ['GET', '/api/v1/orgs/org-r/sync-overview', undefined],
      ['GET', '/api/v1/orgs/org-r/notifications', undefined],
      ['GET', '/api/v1/orgs/org-r/directory/users', undefined],
    ] as const;
    for (const [method, path, body] of requests) {
      const res = await api.request(method, path, { token, ...(body ? { body } : {}) });
      expect(res.status, `${method} ${path}`).toBe(503);
      expect(res.json).toEqual({ error: 'unavailable' });
      expect(res.headers.get('retry-after')).not.toBeNull();
    }
    // Liveness is not readiness: the process itself is fine.
    expect((await api.request('GET', '/healthz')).status).toBe(200);
    expect(api.logs.join('\n')).toContain('redis connection lost');
    // The request rate limit is checked first and answers the 503: never skipped while Redis is away.
    expect(api.logs.join('\n')).toContain('a rate limit could not be checked');
  });

  it('is ready again once Redis is back, without a restart of the app', async () => {
    await redis.restart();
    await waitFor(async () => (await readyz()).status === 200, {
      timeoutMs: 20_000,
      description: '/readyz to answer 200 again',
    });
    const put = await api.request('PUT', '/api/v1/orgs/org-r/integration', {
      token,
      body: settingsBody(),
    });
    expect(put.status).toBe(201);
    const sync = await api.request('POST', '/api/v1/orgs/org-r/syncs', { token });
    expect(sync.status).toBe(202);
  });
});

describe('graceful shutdown', () => {
  it('stops accepting, reports not ready, and finishes the request in flight', async () => {
    const body = JSON.stringify(settingsBody());
    const socket = connect(api.role.port, '127.0.0.1');
    await once(socket, 'connect');
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const requestSeen = once(api.role.server, 'request');
    socket.write(
      [
        'PUT /api/v1/orgs/org-inflight/integration HTTP/1.1',
        'Host: 127.0.0.1',
        `Authorization: Bearer ${token}`,
        'Content-Type: application/json',
        `Content-Length: ${Buffer.byteLength(body)}`,
        '',
        body.slice(0, 10),
      ].join('\r\n'),
    );
    await requestSeen;

    const closed = api.close();
    expect(await api.role.deps.readiness()).toBe('shutting_down');
    await expect(
      fetch(`${api.url}/healthz`, { signal: AbortSignal.timeout(5000) }),
    ).rejects.toThrow();

    const ended = once(socket, 'end');
    socket.write(body.slice(10));
    await ended;
    const response = Buffer.concat(received).toString('utf8');
    expect(response).toMatch(/^HTTP\/1\.1 201 /);
    expect(response).toContain('"orgId":"org-inflight"');
    await closed;
    socket.destroy();
  });
});
