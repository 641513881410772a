import { randomUUID } from 'node:crypto';
import { seededGroupId, type TenantInput } from '@pinnacle/entra-simulator';

export const SYNC_ROLES = ['User.Read.All', 'GroupMember.Read.All'];

export interface FixtureTenant {
  input: TenantInput;
  tenantId: string;
  domain: string;
  clientId: string;
  clientSecret: string;
  secretKeyId: string;
  users: { id: string; accountEnabled: boolean; displayName: string; userPrincipalName: string }[];
  groups: Record<
    'engineering' | 'platform' | 'sales' | 'cycleA' | 'cycleB' | 'empty' | 'big',
    string
  >;
}

/**
 * A small tenant with nesting, overlap, a cycle and disabled users:
 *   engineering = u0..u5 + platform (nested)
 *   platform    = u4..u7                 (overlaps engineering on u4, u5)
 *   sales       = u8..u11 + u0           (overlaps engineering on u0)
 *   cycleA      = u12 + cycleB, cycleB = u13 + cycleA
 *   empty       = nobody
 * u3 and u9 are disabled.
 */
export function fixtureTenant(
  options: { roles?: string[]; secretExpiresAt?: Date; users?: number } = {},
): FixtureTenant {
  const tenantId = randomUUID();
  const domain = `t${tenantId.slice(0, 8)}.onmicrosoft.com`;
  const clientId = randomUUID();
  const clientSecret = `Sx8~${randomUUID().replace(/-/g, '')}`;
  const secretKeyId = randomUUID();
  const count = options.users ?? 30;
  const users = Array.from({ length: count }, (_, i) => ({
    id: randomUUID(),
    displayName: `User ${i}`,
    userPrincipalName: `user${i}@${domain}`,
    mail: i % 5 === 0 ? null : `user${i}@${domain}`,
    accountEnabled: i !== 3 && i !== 9,
    givenName: null,
    surname: null,
  }));
  const ids = (from: number, to: number) => users.slice(from, to + 1).map((u) => u.id);
  const groups = {
    engineering: randomUUID(),
    platform: randomUUID(),
    sales: randomUUID(),
    cycleA: randomUUID(),
    cycleB: randomUUID(),
    empty: randomUUID(),
    big: randomUUID(),
  };
  const input: TenantInput = {
    kind: 'fixture',
    tenantId,
    displayName: `Fixture ${tenantId.slice(0, 8)}`,
    domains: [domain],
    applications: [
      {
        appId: clientId,
        displayName: 'Pinnacle Entra Sync',
        roles: options.roles ?? SYNC_ROLES,
        secrets: [
          {
            keyId: secretKeyId,
            value: clientSecret,
            expiresAt: options.secretExpiresAt ?? new Date(Date.now() + 90 * 86_400_000),
          },
        ],
      },
    ],
    users,
    groups: [
      {
        id: groups.engineering,
        displayName: 'Engineering',
        description: null,
        members: ids(0, 5),
        memberGroups: [groups.platform],
      },
      {
        id: groups.platform,
        displayName: 'Platform',
        description: null,
        members: ids(4, 7),
        memberGroups: [],
      },
      {
        id: groups.sales,
        displayName: 'Sales',
        description: null,
        members: [...ids(8, 11), users[0]!.id],
        memberGroups: [],
      },
      {
        id: groups.cycleA,
        displayName: 'Cycle A',
        description: null,
        members: ids(12, 12),
        memberGroups: [groups.cycleB],
      },
      {
        id: groups.cycleB,
        displayName: 'Cycle B',
        description: null,
        members: ids(13, 13),
        memberGroups: [groups.cycleA],
      },
      { id: groups.empty, displayName: 'Empty', description: null, members: [], memberGroups: [] },
      {
        id: groups.big,
        displayName: 'Everyone',
        description: null,
        members: ids(0, count - 1),
        memberGroups: [],
      },
    ],
  };
  return { input, tenantId, domain, clientId, clientSecret, secretKeyId, users, groups };
}

export function settingsFor(
  t: FixtureTenant,
  groupIds: string[],
  extra: Record<string, unknown> = {},
) {
  return {
    tenantId: t.tenantId,
    clientId: t.clientId,
    clientSecret: t.clientSecret,
    clientSecretExpiresAt: new Date(Date.now() + 90 * 86_400_000).toISOString(),
    groupIds,
    ...extra,
  };
}

export interface SeededGroupSpec {
  key: string;
  ranges: [start: number, count: number][];
  memberGroups?: string[];
}

/** A seeded (generated) tenant with one app holding the sync roles, added to the simulator. */
export function addSeededTenant(
  sim: { addTenant(input: TenantInput): unknown },
  options: { name: string; userCount: number; disabledShare?: number; groups: SeededGroupSpec[] },
) {
  const seed = `${options.name}-${randomUUID()}`;
  const domain = `${seed}.onmicrosoft.com`;
  const tenantId = randomUUID();
  const clientId = randomUUID();
  const clientSecret = `Sd8~${randomUUID()}`;
  const disabledShare = options.disabledShare ?? 0;
  sim.addTenant({
    kind: 'seeded',
    seed,
    tenantId,
    displayName: options.name,
    domains: [domain],
    userCount: options.userCount,
    disabledShare,
    applications: [
      {
        appId: clientId,
        roles: SYNC_ROLES,
        secrets: [
          {
            keyId: randomUUID(),
            value: clientSecret,
            expiresAt: new Date(Date.now() + 86_400_000),
          },
        ],
      },
    ],
    groups: options.groups.map((g) => ({
      key: g.key,
      displayName: g.key,
      userRanges: g.ranges.map(([start, count]) => ({ start, count })),
      memberGroups: g.memberGroups ?? [],
    })),
  });
  return {
    seed,
    domain,
    tenantId,
    clientId,
    clientSecret,
    disabledShare,
    groupId: (key: string) => seededGroupId(seed, key),
    /** Integration settings selecting the given groups. */
    settings: (groupKeys: string[]) => ({
      tenantId,
      clientId,
      clientSecret,
      clientSecretExpiresAt: new Date(Date.now() + 86_400_000).toISOString(),
      groupIds: groupKeys.map((k) => seededGroupId(seed, k)),
    }),
  };
}
