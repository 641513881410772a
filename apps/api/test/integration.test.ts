import { integrationSettingsViewSchema } from '@pinnacle/domain';
import { createStores } from '@pinnacle/redis-store';
import type { RedisFixture } from '@pinnacle/testing/fixtures';
import { describe, expect, it } from 'vitest';
import { test } from './fixtures.js';
import {
  ENCRYPTION_KEY,
  GROUP_A,
  GROUP_B,
  settingsBody,
  signToken,
  type TestApi,
} from './helpers.js';

let r: RedisFixture;
let api: TestApi;
let token: string;

const FIRST_SECRET = 'Abc8Q~first-secret-value-0001xyz';
const ROTATED_SECRET = 'Zyx7Q~rotated-secret-value-0002abc';
const secrets = [FIRST_SECRET, ROTATED_SECRET];

test.beforeAll(async ({ redis, api: started }) => {
  r = redis;
  api = started;
  token = await signToken({ org: '*' });
});

const path = (orgId: string) => `/api/v1/orgs/${orgId}/integration`;
const view = (json: unknown) => integrationSettingsViewSchema.parse(json);

describe('integration settings', () => {
  it('answers 404 before anything is saved', async () => {
    const res = await api.request('GET', path('org-new'), { token });
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ error: 'not_found' });
  });

  it('creates with 201, replaces with 200, and reads back what was saved', async () => {
    const created = await api.request('PUT', path('org-1'), {
      token,
      body: settingsBody({ clientSecret: FIRST_SECRET }),
    });
    expect(created.status).toBe(201);
    const saved = view(created.json);
    expect(saved).toMatchObject({
      orgId: 'org-1',
      tenantId: '33333333-3333-4333-8333-333333333333',
      clientId: '44444444-4444-4444-8444-444444444444',
      clientSecret: { configured: true, hint: 'xyz', expiresAt: '2030-06-30T00:00:00.000Z' },
      groupIds: [GROUP_A, GROUP_B],
      schedule: { enabled: true, every: '6h' },
      notifications: { email: { enabled: true, recipients: ['admin@contoso.com'] } },
      includeDisabledUsers: false,
      massRemovalGuard: { maxRemovedPercent: 20, minRemovedUsers: 10 },
    });
    expect(Object.keys(saved.clientSecret).sort()).toEqual(['configured', 'expiresAt', 'hint']);

    const read = await api.request('GET', path('org-1'), { token });
    expect(read.status).toBe(200);
    expect(view(read.json)).toEqual(saved);

    const replaced = await api.request('PUT', path('org-1'), {
      token,
      body: settingsBody({ clientSecret: FIRST_SECRET, groupIds: [GROUP_B] }),
    });
    expect(replaced.status).toBe(200);
    expect(view(replaced.json).groupIds).toEqual([GROUP_B]);
    expect(view(replaced.json).createdAt).toBe(saved.createdAt);
  });

  it('accepts a draft without credentials', async () => {
    const res = await api.request('PUT', path('org-draft'), { token, body: {} });
    expect(res.status).toBe(201);
    expect(view(res.json)).toMatchObject({
      tenantId: null,
      clientId: null,
      clientSecret: { configured: false, hint: null, expiresAt: null },
      groupIds: [],
      schedule: { enabled: false },
    });
  });

  it('keeps the stored secret when a replace leaves it out', async () => {
    const { clientSecret: _omit, clientSecretExpiresAt: _omitToo, ...rest } = settingsBody();
    const res = await api.request('PUT', path('org-1'), {
      token,
      body: { ...rest, schedule: { enabled: false, every: '1d' } },
    });
    expect(res.status).toBe(200);
    expect(view(res.json).clientSecret).toEqual({
      configured: true,
      hint: 'xyz',
      expiresAt: '2030-06-30T00:00:00.000Z',
    });
    expect(view(res.json).schedule).toEqual({ enabled: false, every: '1d' });
    // The stored ciphertext still opens to the first secret.
    const stores = createStores(r.redis, r.prefix, ENCRYPTION_KEY);
    const stored = await stores.integrations.get('org-1');
    expect(stored && stores.integrations.revealSecret(stored)).toBe(FIRST_SECRET);
  });

  it('rotation changes only the secret and its expiry', async () => {
    const before = view((await api.request('GET', path('org-1'), { token })).json);
    const res = await api.request('PUT', `${path('org-1')}/client-secret`, {
      token,
      body: { clientSecret: ROTATED_SECRET, expiresAt: '2031-01-15' },
    });
    expect(res.status).toBe(200);
    const after = view(res.json);
    expect(after.clientSecret).toEqual({
      configured: true,
      hint: 'abc',
      expiresAt: '2031-01-15T00:00:00.000Z',
    });
    const { clientSecret: _a, updatedAt: _b, ...restBefore } = before;
    const { clientSecret: _c, updatedAt: _d, ...restAfter } = after;
    expect(restAfter).toEqual(restBefore);
    const stores = createStores(r.redis, r.prefix, ENCRYPTION_KEY);
    const stored = await stores.integrations.get('org-1');
    expect(stored && stores.integrations.revealSecret(stored)).toBe(ROTATED_SECRET);
  });

  it('answers 404 to a rotation without an integration, storing nothing', async () => {
    const res = await api.request('PUT', `${path('org-none')}/client-secret`, {
      token,
      body: { clientSecret: ROTATED_SECRET, expiresAt: '2031-01-15' },
    });
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ error: 'not_found' });
    expect((await r.keys()).filter((k) => k.includes('{o:org-none}'))).toEqual([]);
  });

  it('stores the secret encrypted, never in clear text', async () => {
    for (const key of await r.keys()) {
      if ((await r.redis.type(key)) !== 'string') continue;
      const value = (await r.redis.get(key)) ?? '';
      for (const secret of secrets) expect(value).not.toContain(secret);
    }
  });

  it('never returns or logs a secret', () => {
    expect(api.bodies.length).toBeGreaterThan(5);
    for (const body of api.bodies) {
      for (const secret of secrets) expect(body).not.toContain(secret);
    }
    expect(api.logs.length).toBeGreaterThan(5);
    const log = api.logs.join('\n');
    for (const secret of secrets) expect(log).not.toContain(secret);
  });
});
