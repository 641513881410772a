/**
 * Test connection and the group search, through HTTP against the simulator
 * over HTTPS: what they answer, and what they leave alone (no run, no
 * health change, no notification; only the selected groups' names).
 */
import { randomUUID } from 'node:crypto';
import type { Simulator } from '@pinnacle/entra-simulator';
import { type RedisFixture, test } from '@pinnacle/testing/fixtures';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { connectionTestSchema } from '../src/schemas.js';
import { signToken, startTestApi, type TestApi } from './helpers.js';

const DAY = 86_400_000;
let r: RedisFixture;
let sim: Simulator;
let api: TestApi;
let token: string;

const tenantId = randomUUID();
const clientId = randomUUID();
const unconsentedClientId = randomUUID();
const secret = `Ec8~${randomUUID()}`;
const groups = { staff: randomUUID(), eng: randomUUID(), quoted: randomUUID() };

const entraError = z.object({
  error: z.enum(['entra_check_failed', 'entra_unreachable']),
  message: z.string(),
  failure: z.object({ code: z.string(), title: z.string(), remediation: z.array(z.string()) }),
});

test.beforeAll(async ({ redis, simulator }) => {
  r = redis;
  sim = simulator;
  const app = (appId: string, roles: string[]) => ({
    appId,
    roles,
    secrets: [{ keyId: randomUUID(), value: secret, expiresAt: new Date(Date.now() + DAY) }],
  });
  sim.addTenant({
    kind: 'fixture',
    tenantId,
    displayName: 'Checks',
    domains: ['checks.onmicrosoft.com'],
    users: [],
    applications: [
      app(clientId, ['User.Read.All', 'GroupMember.Read.All']),
      app(unconsentedClientId, []),
    ],
    groups: [
      {
        id: groups.staff,
        displayName: 'All Staff',
        description: null,
        members: [],
        memberGroups: [],
      },
      {
        id: groups.eng,
        displayName: 'Engineering',
        description: null,
        members: [],
        memberGroups: [],
      },
      {
        id: groups.quoted,
        displayName: 'The "Quoted" Team',
        description: null,
        members: [],
        memberGroups: [],
      },
    ],
  });
  api = await startTestApi(r, {
    env: { ENTRA_AUTHORITY_HOST: sim.authorityHost, GRAPH_BASE_URL: sim.graphBaseUrl },
  });
  token = await signToken({ org: '*' });
});
afterEach(() => sim.clearFaults());
afterAll(async () => {
  await api?.close();
});

async function configure(orgId: string, patch: Record<string, unknown> = {}): Promise<void> {
  const res = await api.request('PUT', `/api/v1/orgs/${orgId}/integration`, {
    token,
    body: {
      tenantId,
      clientId,
      clientSecret: secret,
      clientSecretExpiresAt: new Date(Date.now() + DAY).toISOString(),
      groupIds: [groups.staff, groups.eng],
      schedule: { enabled: false, every: '6h' },
      ...patch,
    },
  });
  expect(res.status, res.text).toBe(201);
}

const testIntegration = async (orgId: string) => {
  const res = await api.request('POST', `/api/v1/orgs/${orgId}/integration/test`, { token });
  expect(res.status, res.text).toBe(200);
  return connectionTestSchema.parse(res.json);
};
const search = (orgId: string, term: string) =>
  api.request('GET', `/api/v1/orgs/${orgId}/entra/groups?search=${encodeURIComponent(term)}`, {
    token,
  });

describe('POST /orgs/{orgId}/integration/test', () => {
  it('runs the preflight alone: groups by name, and nothing but their names is written', async () => {
    await configure('org-ok');
    const keysBefore = (await r.keys()).sort();
    const result = await testIntegration('org-ok');
    expect(result).toMatchObject({
      ok: true,
      groups: [
        { id: groups.staff, displayName: 'All Staff', missing: false },
        { id: groups.eng, displayName: 'Engineering', missing: false },
      ],
      warnings: [],
    });
    // The selected groups' names are recorded (a fact the overview shows); nothing else.
    const added = (await r.keys()).filter((k) => !keysBefore.includes(k));
    expect(added).toEqual([expect.stringMatching(/\{o:org-ok\}:selected-groups$/)]);
    const overview = (await api.request('GET', '/api/v1/orgs/org-ok/sync-overview', { token }))
      .json as {
      status: string;
      lastRun: unknown;
      groups: { displayName: string | null }[];
    };
    expect(overview.status).toBe('unknown');
    expect(overview.lastRun).toBeNull();
    expect(overview.groups.map((g) => g.displayName)).toEqual(['All Staff', 'Engineering']);
    const runs = (await api.request('GET', '/api/v1/orgs/org-ok/syncs', { token })).json as {
      items: unknown[];
    };
    expect(runs.items).toEqual([]);
    const inbox = (await api.request('GET', '/api/v1/orgs/org-ok/notifications', { token }))
      .json as { items: unknown[] };
    expect(inbox.items).toEqual([]);
    // Only the token request and the two group checks reached Microsoft.
    const graph = sim.requests({ kind: 'graph', tenantId });
    expect(graph.every((q) => /\/v1\.0\/groups\/[0-9a-f-]+\?/.test(q.path))).toBe(true);
  });

  it('answers the failure a sync would stop with, the check never touching the health', async () => {
    await configure('org-expired', {
      clientSecretExpiresAt: new Date(Date.now() - DAY).toISOString(),
    });
    const expired = await testIntegration('org-expired');
    expect(expired).toMatchObject({
      ok: false,
      groups: null,
      failure: { code: 'client_secret_expired', title: 'Client secret expired', retryable: false },
    });

    await configure('org-deleted');
    sim.setFaults(tenantId, { deleteGroups: [{ groupId: groups.eng, afterRequests: 0 }] });
    const deleted = await testIntegration('org-deleted');
    expect(deleted).toMatchObject({
      ok: false,
      failure: { code: 'group_not_found', details: { groupIds: [groups.eng] } },
      groups: [
        { id: groups.staff, missing: false },
        { id: groups.eng, missing: true },
      ],
    });
    const overview = (await api.request('GET', '/api/v1/orgs/org-deleted/sync-overview', { token }))
      .json as { status: string; openFailure: unknown };
    expect(overview).toMatchObject({ status: 'unknown', openFailure: null });

    const none = await testIntegration('org-nothing');
    expect(none).toMatchObject({
      ok: false,
      failure: {
        code: 'settings_incomplete',
        details: { missing: ['tenantId', 'clientId', 'clientSecret'] },
      },
    });
  });

  it('never shows the secret in a response or a log line', () => {
    for (const text of [...api.bodies, ...api.logs]) expect(text).not.toContain(secret);
  });
});

describe('GET /orgs/{orgId}/entra/groups?search=', () => {
  it("finds the tenant's groups by name with the stored credentials", async () => {
    await configure('org-search', { groupIds: [] });
    const res = await search('org-search', 'staff');
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual({ items: [{ id: groups.staff, displayName: 'All Staff' }] });
    const quoted = await search('org-search', '"quoted" te');
    expect(quoted.json).toEqual({
      items: [{ id: groups.quoted, displayName: 'The "Quoted" Team' }],
    });
    expect((await search('org-search', 'nothing here')).json).toEqual({ items: [] });
    // Graph was asked with the advanced-query header and a quoted, escaped clause.
    const asked = sim
      .requests({ kind: 'graph', tenantId })
      .filter((q) => q.path.includes('$search'));
    expect(asked.length).toBeGreaterThanOrEqual(3);
    expect(asked.every((q) => q.status === 200)).toBe(true);
  });

  it('names the cause when the stored settings cannot reach Graph', async () => {
    const none = await search('org-unset', 'staff');
    expect(none.status).toBe(409);
    expect(entraError.parse(none.json)).toMatchObject({
      error: 'entra_check_failed',
      failure: { code: 'settings_incomplete' },
    });

    await configure('org-old', { clientSecretExpiresAt: new Date(Date.now() - DAY).toISOString() });
    const expired = await search('org-old', 'staff');
    expect(expired.status).toBe(409);
    expect(entraError.parse(expired.json)).toMatchObject({
      message: 'Client secret expired.',
      failure: { code: 'client_secret_expired' },
    });

    await configure('org-noconsent', { clientId: unconsentedClientId });
    const consent = await search('org-noconsent', 'staff');
    expect(consent.status).toBe(409);
    expect(entraError.parse(consent.json).failure.code).toBe('consent_missing');

    await configure('org-wrong', { clientSecret: `Wr8~${randomUUID()}` });
    const wrong = await search('org-wrong', 'staff');
    expect(entraError.parse(wrong.json).failure.code).toBe('client_secret_invalid');

    sim.setFaults(tenantId, { serverError: { every: 1 } });
    const down = await search('org-search', 'staff');
    expect(down.status).toBe(502);
    expect(entraError.parse(down.json)).toMatchObject({
      error: 'entra_unreachable',
      failure: { code: 'entra_unreachable' },
    });
  });
});
