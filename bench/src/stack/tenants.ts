import { randomUUID } from 'node:crypto';
import { integrationSettingsInputSchema } from '@pinnacle/domain';
import { seededGroupId, type TenantInput } from '@pinnacle/entra-simulator';

/** A Graph members page holds at most this many users ($top=999). */
export const PAGE_SIZE = 999;

export interface GroupShape {
  key: string;
  displayName: string;
  /** Direct members, as [from, to) shares of the tenant's users. */
  ranges: [number, number][];
  /** Keys of nested groups. */
  nested: string[];
}

/**
 * Four overlapping, nested groups over the whole tenant, as an org that
 * syncs its staff might select them: All Staff holds Engineering, which
 * holds Platform; Field overlaps both ends. Their union is every user.
 */
export const FOUR_GROUPS: GroupShape[] = [
  { key: 'staff', displayName: 'All Staff', ranges: [[0, 0.4]], nested: ['engineering'] },
  { key: 'engineering', displayName: 'Engineering', ranges: [[0.3, 0.6]], nested: ['platform'] },
  { key: 'platform', displayName: 'Platform', ranges: [[0.55, 0.8]], nested: [] },
  { key: 'field', displayName: 'Field', ranges: [[0.7, 1]], nested: [] },
];

/** `count` groups of a tenant, each a slice of users, every third nested in the one before. */
export function slicedGroups(count: number): GroupShape[] {
  return Array.from({ length: count }, (_, i) => ({
    key: `g${i}`,
    displayName: `Group ${i}`,
    // Overlapping neighbours: each slice reaches into the next one.
    ranges: [[i / count, Math.min(1, (i + 1.5) / count)]],
    nested: i % 3 === 2 ? [`g${i - 1}`] : [],
  }));
}

export interface BenchTenant {
  input: TenantInput;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  groupIds: string[];
  users: number;
  /** Each selected group's transitive user count, in `groupIds` order. */
  groupSizes: number[];
  /** The fewest Graph requests a sync can make: ceil(groups / 20) batches + max(1, ceil(members / 999)) pages a group. */
  minimumGraphRequests: number;
  /** Settings for the org that syncs it (every group selected). */
  settings(): ReturnType<typeof integrationSettingsInputSchema.parse>;
}

/** A seeded tenant of `users` users in `groups`, its app consented to the two permissions. */
export function benchTenant(name: string, users: number, groups: GroupShape[]): BenchTenant {
  const seed = `bench-${name}-${randomUUID()}`;
  const tenantId = randomUUID();
  const clientId = randomUUID();
  const clientSecret = `Bn8~${randomUUID()}`;
  const at = (share: number) => Math.round(share * users);
  const specGroups = groups.map((g) => ({
    key: g.key,
    displayName: g.displayName,
    userRanges: g.ranges.map(([from, to]) => ({ start: at(from), count: at(to) - at(from) })),
    memberGroups: g.nested,
  }));
  const byKey = new Map(specGroups.map((g) => [g.key, g]));
  const transitive = (key: string, seen = new Set<string>()): Set<number> => {
    const out = new Set<number>();
    const g = byKey.get(key);
    if (!g || seen.has(key)) return out;
    seen.add(key);
    for (const r of g.userRanges) for (let i = r.start; i < r.start + r.count; i++) out.add(i);
    for (const nested of g.memberGroups) for (const i of transitive(nested, seen)) out.add(i);
    return out;
  };
  const groupSizes = specGroups.map((g) => transitive(g.key).size);
  const groupIds = specGroups.map((g) => seededGroupId(seed, g.key));
  return {
    input: {
      kind: 'seeded',
      seed,
      tenantId,
      displayName: `Bench ${name}`,
      domains: [`${seed}.onmicrosoft.com`],
      userCount: users,
      disabledShare: 0,
      applications: [
        {
          appId: clientId,
          roles: ['User.Read.All', 'GroupMember.Read.All'],
          secrets: [
            {
              keyId: randomUUID(),
              value: clientSecret,
              expiresAt: new Date(Date.now() + 30 * 86_400_000),
            },
          ],
        },
      ],
      groups: specGroups,
    },
    tenantId,
    clientId,
    clientSecret,
    groupIds,
    users,
    groupSizes,
    minimumGraphRequests:
      Math.ceil(groups.length / 20) +
      groupSizes.reduce((n, size) => n + Math.max(1, Math.ceil(size / PAGE_SIZE)), 0),
    settings: () =>
      integrationSettingsInputSchema.parse({
        tenantId,
        clientId,
        clientSecret,
        clientSecretExpiresAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
        groupIds,
      }),
  };
}
