import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { test } from './fixtures.js';
import { settingsBody, signToken, type TestApi } from './helpers.js';

let api: TestApi;
let portal: string;

const listSchema = z.object({
  items: z.array(z.strictObject({ orgId: z.string() })),
  nextCursor: z.string().nullable(),
});
const orgs = ['org-list-c', 'org-list-a', 'org-list-e', 'org-list-b', 'org-list-d'];

test.beforeAll(async ({ api: started }) => {
  api = started;
  portal = await signToken({ org: '*' });
  for (const org of orgs) {
    const res = await api.request('PUT', `/api/v1/orgs/${org}/integration`, {
      token: portal,
      body: settingsBody(),
    });
    expect(res.status).toBe(201);
  }
});

async function page(query: string) {
  const res = await api.request('GET', `/api/v1/orgs${query}`, { token: portal });
  expect(res.status, res.text).toBe(200);
  return listSchema.parse(res.json);
}

describe('GET /orgs', () => {
  it('lists the orgs with an integration by org ID, paged', async () => {
    const seen: string[] = [];
    let next = await page('?limit=2');
    seen.push(...next.items.map((i) => i.orgId));
    for (let i = 0; next.nextCursor !== null && i < 10; i++) {
      next = await page(`?limit=2&cursor=${next.nextCursor}`);
      seen.push(...next.items.map((i) => i.orgId));
    }
    expect(seen).toEqual([...orgs].sort());
    expect((await page('')).items).toHaveLength(orgs.length);
  });

  it('does not list an org that was only read, never configured', async () => {
    // A read of another org's overview stores nothing: still five.
    await api.request('GET', '/api/v1/orgs/org-list-zzz/sync-overview', { token: portal });
    expect((await page('?limit=200')).items).toHaveLength(orgs.length);
  });

  it("refuses an org's own token: an admin must not learn which other orgs exist", async () => {
    const own = await signToken({ org: 'org-list-a' });
    const res = await api.request('GET', '/api/v1/orgs', { token: own });
    expect(res.status).toBe(403);
    expect(res.json).toEqual({ error: 'forbidden' });
    expect(res.text).not.toContain('org-list-b');
  });
});
