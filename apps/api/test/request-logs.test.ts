import { syncJobId } from '@pinnacle/queue-contracts';
import { describe, expect, it } from 'vitest';
import { test } from './fixtures.js';
import { signToken, type TestApi } from './helpers.js';

let api: TestApi;

test.beforeAll(async ({ api: started }) => {
  api = started;
});

function logLines(): Record<string, unknown>[] {
  return api.logs
    .flatMap((chunk) => chunk.split('\n'))
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
function requestLines(): Record<string, unknown>[] {
  return logLines().filter((entry) => entry.msg === 'request');
}

describe('request log lines', () => {
  it('carry the org, and the run and job a request is about', async () => {
    const token = await signToken({ org: 'org-logs' });
    const accepted = await api.request('POST', '/api/v1/orgs/org-logs/syncs', { token, body: {} });
    expect(accepted.status).toBe(202);
    const runId = (accepted.json as { runId: string }).runId;
    await api.request('GET', `/api/v1/orgs/org-logs/syncs/${runId}`, { token });

    const lines = requestLines();
    const post = lines.find((l) => l.method === 'POST' && l.route === '/api/v1/orgs/{orgId}/syncs');
    const get = lines.find(
      (l) => l.method === 'GET' && l.route === '/api/v1/orgs/{orgId}/syncs/{runId}',
    );
    for (const line of [post, get]) {
      expect(line).toMatchObject({ orgId: 'org-logs', runId, jobId: syncJobId(runId) });
      expect(typeof line?.requestId).toBe('string');
    }
  });

  it('name the request on every line logged while serving it, not only the request line', async () => {
    const refused = await api.request('GET', '/api/v1/orgs/org-logs/sync-overview', {
      token: 'not-a-jwt',
    });
    expect(refused.status).toBe(401);
    const requestId = refused.headers.get('x-request-id');
    expect(requestId).toBeTruthy();
    const lines = logLines().filter((l) => l.requestId === requestId);
    expect(lines.map((l) => l.msg).sort()).toEqual(['bearer token refused', 'request']);
  });
});
