import { randomUUID } from 'node:crypto';
import type { Simulator } from '@pinnacle/entra-simulator';
import { test } from '@pinnacle/testing/fixtures';
import { afterEach, describe, expect, it } from 'vitest';
import {
  checkConnection,
  connectToGraph,
  type PreflightSettings,
  SyncStoppedError,
  searchGroupsByName,
  TransientSyncError,
} from '../src/index.js';

const DAY = 86_400_000;
const tenantId = randomUUID();
const clientId = randomUUID();
const secret = `Pf8~${randomUUID()}`;
const groups = { staff: randomUUID(), eng: randomUUID(), sales: randomUUID() };
let sim: Simulator;

test.beforeAll(async ({ simulator }) => {
  sim = simulator;
  const users = Array.from({ length: 6 }, (_, i) => ({
    id: randomUUID(),
    displayName: `User ${i}`,
    userPrincipalName: `user${i}@pf.onmicrosoft.com`,
    mail: null,
    accountEnabled: true,
    givenName: null,
    surname: null,
  }));
  sim.addTenant({
    kind: 'fixture',
    tenantId,
    displayName: 'Preflight',
    domains: ['pf.onmicrosoft.com'],
    users,
    applications: [
      {
        appId: clientId,
        roles: ['User.Read.All', 'GroupMember.Read.All', 'Directory.Read.All'],
        secrets: [{ keyId: randomUUID(), value: secret, expiresAt: new Date(Date.now() + DAY) }],
      },
    ],
    groups: [
      {
        id: groups.staff,
        displayName: 'All Staff',
        description: null,
        members: [],
        memberGroups: [groups.eng],
      },
      {
        id: groups.eng,
        displayName: 'Engineering',
        description: null,
        members: users.slice(0, 3).map((u) => u.id),
        memberGroups: [],
      },
      {
        id: groups.sales,
        displayName: 'Sales',
        description: null,
        members: users.slice(3).map((u) => u.id),
        memberGroups: [],
      },
    ],
  });
});
afterEach(() => sim.clearFaults());

const settings = (patch: Partial<PreflightSettings> = {}): PreflightSettings => ({
  tenantId,
  clientId,
  groupIds: [groups.staff, groups.eng],
  secret: { expiresAt: new Date(Date.now() + DAY).toISOString() },
  includeDisabledUsers: false,
  massRemovalGuard: { maxRemovedPercent: 20, minRemovedUsers: 10 },
  ...patch,
});
const input = (patch: Partial<PreflightSettings> = {}, clientSecret: string | null = secret) => ({
  integration: settings(patch),
  clientSecret,
  endpoints: { authorityHost: sim.authorityHost, graphBaseUrl: sim.graphBaseUrl },
  now: new Date(),
  graphRetries: { maxRetries: 1, maxRetryDelayMs: 50 },
});

describe('checkConnection: the preflight alone, as a result', () => {
  it('answers ok with the groups it saw by name and the least-privilege warning', async () => {
    const seen: unknown[] = [];
    const result = await checkConnection({
      ...input(),
      onGroupsChecked: async (g) => {
        seen.push(g);
      },
    });
    expect(result).toEqual({
      ok: true,
      groups: [
        { id: groups.staff, displayName: 'All Staff', missing: false },
        { id: groups.eng, displayName: 'Engineering', missing: false },
      ],
      warnings: [expect.objectContaining({ code: 'excess_permissions' })],
    });
    expect(seen).toHaveLength(1);
    // Nothing but the token and the two group checks was asked of Graph.
    expect(sim.requests({ kind: 'graph' }).some((r) => r.path.includes('transitiveMembers'))).toBe(
      false,
    );
  });

  it('answers the failure a sync would stop with, in the run failure shape', async () => {
    const expired = await checkConnection(
      input({ secret: { expiresAt: new Date(Date.now() - DAY).toISOString() } }),
    );
    expect(expired).toMatchObject({
      ok: false,
      failure: { code: 'client_secret_expired', retryable: false, title: 'Client secret expired' },
      groups: null,
    });
    const wrong = await checkConnection(input({}, 'not-the-secret'));
    expect(wrong).toMatchObject({ ok: false, failure: { code: 'client_secret_invalid' } });
    const none = await checkConnection(input({ groupIds: [] }));
    expect(none).toMatchObject({ ok: false, failure: { code: 'groups_not_configured' } });
  });

  it('names a deleted group, with what the check saw of the others', async () => {
    sim.setFaults(tenantId, { deleteGroups: [{ groupId: groups.eng, afterRequests: 0 }] });
    const result = await checkConnection(input());
    expect(result).toMatchObject({
      ok: false,
      failure: { code: 'group_not_found', details: { groupIds: [groups.eng] } },
      groups: [
        { id: groups.staff, displayName: 'All Staff', missing: false },
        { id: groups.eng, displayName: null, missing: true },
      ],
    });
  });

  it('reports transient trouble at once as entra_unreachable', async () => {
    sim.setFaults(tenantId, { serverError: { every: 1 } });
    const result = await checkConnection(input());
    expect(result).toMatchObject({
      ok: false,
      failure: { code: 'entra_unreachable', details: { lastReason: expect.any(String) } },
    });
  });
});

describe('group search with the stored credentials', () => {
  it('finds groups by name, whether or not any are selected', async () => {
    const found = await searchGroupsByName({ ...input({ groupIds: [] }), term: 'eng' });
    expect(found).toEqual([{ id: groups.eng, displayName: 'Engineering' }]);
    const connection = await connectToGraph(input({ groupIds: [] }));
    expect(connection.warnings.map((w) => w.code)).toEqual(['excess_permissions']);
  });

  it('fails with the catalogue code an admin can act on', async () => {
    const missing = await searchGroupsByName({ ...input({ tenantId: null }), term: 'x' }).catch(
      (e: unknown) => e,
    );
    expect(missing).toBeInstanceOf(SyncStoppedError);
    expect((missing as SyncStoppedError).failure).toMatchObject({
      code: 'settings_incomplete',
      details: { missing: ['tenantId'] },
    });
    sim.setFaults(tenantId, {
      graphError: { every: 1, status: 403, code: 'Authorization_RequestDenied' },
    });
    const denied = await searchGroupsByName({ ...input(), term: 'eng' }).catch((e: unknown) => e);
    expect((denied as SyncStoppedError).failure).toMatchObject({
      code: 'consent_missing',
      details: { source: 'graph', status: 403 },
    });
    sim.setFaults(tenantId, { serverError: { every: 1 } });
    const down = await searchGroupsByName({ ...input(), term: 'eng' }).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(TransientSyncError);
  });
});
