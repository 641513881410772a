import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDirectory, transitiveMembership } from '../src/directory.js';
import {
  demoTenants,
  type Simulator,
  seededGroupId,
  seededUser,
  startSimulator,
  tenantInputSchema,
} from '../src/index.js';
import { normalizeRanges, sliceRanges } from '../src/ranges.js';
import { graphClient, trust } from './helpers.js';

describe('index ranges', () => {
  it('merges overlapping and touching ranges', () => {
    expect(
      normalizeRanges([
        { start: 10, end: 20 },
        { start: 0, end: 5 },
        { start: 5, end: 7 },
        { start: 15, end: 25 },
        { start: 30, end: 30 },
      ]),
    ).toEqual([
      { start: 0, end: 7 },
      { start: 10, end: 25 },
    ]);
  });

  it('slices pages across ranges and resumes exactly where it stopped', () => {
    const ranges = normalizeRanges([
      { start: 0, end: 3 },
      { start: 10, end: 12 },
      { start: 20, end: 21 },
    ]);
    const all: number[] = [];
    let from: number | null = 0;
    const pages: number[][] = [];
    while (from !== null) {
      const { indexes, next } = sliceRanges(ranges, from, 2);
      pages.push(indexes);
      all.push(...indexes);
      from = next;
    }
    expect(all).toEqual([0, 1, 2, 10, 11, 20]);
    expect(pages).toEqual([
      [0, 1],
      [2, 10],
      [11, 20],
    ]);
    expect(sliceRanges(ranges, 4, 5)).toEqual({ indexes: [10, 11, 20], next: null });
  });
});

describe('directory', () => {
  it('generates the same seeded users every time, from (seed, index) alone', () => {
    const a = seededUser('s', 123_456, 'x.example', 0.05);
    const b = seededUser('s', 123_456, 'x.example', 0.05);
    expect(a).toEqual(b);
    expect(a.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(seededUser('s', 123_457, 'x.example', 0.05).id).not.toBe(a.id);
    expect(seededUser('t', 123_456, 'x.example', 0.05).id).not.toBe(a.id);
  });

  it('disables about the requested share of seeded users', () => {
    let disabled = 0;
    for (let i = 0; i < 10_000; i++)
      if (!seededUser('share', i, 'x.example', 0.2).accountEnabled) disabled++;
    expect(disabled).toBeGreaterThan(1_800);
    expect(disabled).toBeLessThan(2_200);
  });

  it('walks nested groups once each, cutting cycles, never listing the root as its own member', () => {
    const dir = buildDirectory(
      tenantInputSchema.parse({
        kind: 'seeded',
        seed: 'cycle',
        displayName: 'Cycle',
        domains: ['cycle.example'],
        userCount: 100,
        groups: [
          {
            key: 'a',
            displayName: 'A',
            userRanges: [{ start: 0, count: 10 }],
            memberGroups: ['b'],
          },
          {
            key: 'b',
            displayName: 'B',
            userRanges: [{ start: 5, count: 10 }],
            memberGroups: ['c', 'a'],
          },
          {
            key: 'c',
            displayName: 'C',
            userRanges: [{ start: 50, count: 5 }],
            memberGroups: ['a', 'b'],
          },
        ],
      }),
    );
    const a = dir.group(seededGroupId('cycle', 'a'))!;
    const m = transitiveMembership(dir, a, () => false);
    expect(m.groups.map((g) => g.displayName)).toEqual(['B', 'C']);
    expect(m.userRanges).toEqual([
      { start: 0, end: 15 },
      { start: 50, end: 55 },
    ]);
    const withoutB = transitiveMembership(dir, a, (id) => id === seededGroupId('cycle', 'b'));
    expect(withoutB.userRanges).toEqual([{ start: 0, end: 10 }]);
  });

  it('rejects fixtures that reference unknown members', () => {
    const result = tenantInputSchema.safeParse({
      kind: 'fixture',
      tenantId: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
      displayName: 'Bad',
      domains: ['bad.example'],
      groups: [
        {
          id: '2a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
          displayName: 'G',
          members: ['3a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d'],
        },
      ],
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['groups', 0, 'members', 0]);
  });

  it('gives stable demo tenants whose credentials match their tenants', () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const [first, second] = [demoTenants(now), demoTenants(now)];
    expect(first).toEqual(second);
    for (const d of first) {
      const t = tenantInputSchema.parse(d.tenant);
      const app = t.applications[0]!;
      expect(app.appId).toBe(d.credentials.clientId);
      expect(app.secrets[0]!.value).toBe(d.credentials.clientSecret);
      expect(buildDirectory(t).tenantId).toBe(d.credentials.tenantId);
    }
  });
});

describe('a million-user tenant', () => {
  const seed = 'million';
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({
      tenants: [
        {
          kind: 'seeded',
          seed,
          displayName: 'Million',
          domains: ['million.example'],
          userCount: 1_000_000,
          groups: [
            {
              key: 'everyone',
              displayName: 'Everyone',
              userRanges: [{ start: 0, count: 1_000_000 }],
            },
            { key: 'tail', displayName: 'Tail', userRanges: [{ start: 999_000, count: 1_000 }] },
          ],
          applications: [
            {
              appId: '6b7c8d9e-0f1a-4b2c-8d3e-4f5a6b7c8d9e',
              roles: ['User.Read.All', 'GroupMember.Read.All'],
            },
          ],
        },
      ],
    });
    trust(sim);
  });
  afterAll(() => sim.close());

  it('counts and pages any part of it without materialising it', async () => {
    const token = sim.mintAccessToken({
      tenant: 'million.example',
      appId: '6b7c8d9e-0f1a-4b2c-8d3e-4f5a6b7c8d9e',
    });
    const client = graphClient(sim, token);
    const everyone = await client
      .api(`/groups/${seededGroupId(seed, 'everyone')}/transitiveMembers/microsoft.graph.user`)
      .header('ConsistencyLevel', 'eventual')
      .query({ $count: 'true' })
      .select('id')
      .top(1)
      .get();
    expect(everyone['@odata.count']).toBe(1_000_000);
    const tail = await client
      .api(`/groups/${seededGroupId(seed, 'tail')}/members/microsoft.graph.user`)
      .select('id,userPrincipalName')
      .top(999)
      .get();
    const last = await client.api(tail['@odata.nextLink']).get();
    expect(last).not.toHaveProperty('@odata.nextLink');
    expect(last.value).toEqual([
      {
        id: seededUser(seed, 999_999, 'million.example', 0.05).id,
        userPrincipalName: seededUser(seed, 999_999, 'million.example', 0.05).userPrincipalName,
      },
    ]);
  });
});
