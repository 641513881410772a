import { deterministicGuid, digest } from './ids.js';
import { GIVEN_NAMES, SURNAMES } from './names.js';
import { type IndexRange, normalizeRanges, rangesFromIndexes } from './ranges.js';
import type { Application, ParsedTenantInput, SeededTenantSpec, TenantFixture } from './schemas.js';

export interface DirectoryUser {
  id: string;
  displayName: string;
  givenName: string | null;
  surname: string | null;
  mail: string | null;
  userPrincipalName: string;
  accountEnabled: boolean;
}

export interface DirectoryGroup {
  id: string;
  displayName: string;
  description: string | null;
  /** Direct user members, normalized. */
  userRanges: IndexRange[];
  /** Direct member groups, lower-case IDs. */
  memberGroupIds: string[];
}

/**
 * A tenant's directory. Users are addressed by index so membership can be
 * stored as ranges; `userAt` may compute the user on demand.
 */
export interface Directory {
  tenantId: string;
  displayName: string;
  domains: string[];
  applications: Application[];
  userCount: number;
  userAt(index: number): DirectoryUser;
  group(id: string): DirectoryGroup | undefined;
  groups(): readonly DirectoryGroup[];
}

function indexGroups(groups: DirectoryGroup[]): Map<string, DirectoryGroup> {
  return new Map(groups.map((g) => [g.id.toLowerCase(), g]));
}

function fromFixture(t: TenantFixture): Directory {
  const users = t.users.map((u) => ({ ...u }));
  const indexById = new Map(users.map((u, i) => [u.id.toLowerCase(), i]));
  const groups: DirectoryGroup[] = t.groups.map((g) => ({
    id: g.id,
    displayName: g.displayName,
    description: g.description,
    userRanges: rangesFromIndexes(g.members.map((m) => indexById.get(m.toLowerCase())!)),
    memberGroupIds: g.memberGroups.map((m) => m.toLowerCase()),
  }));
  const byId = indexGroups(groups);
  return {
    tenantId: t.tenantId.toLowerCase(),
    displayName: t.displayName,
    domains: t.domains.map((d) => d.toLowerCase()),
    applications: t.applications,
    userCount: users.length,
    userAt: (i) => {
      const u = users[i];
      if (!u) throw new RangeError(`no user at index ${i}`);
      return u;
    },
    group: (id) => byId.get(id.toLowerCase()),
    groups: () => groups,
  };
}

/** The ID a seeded tenant gets when its spec names none. */
export function seededTenantId(seed: string): string {
  return deterministicGuid(seed, 'tenant');
}

/** The ID of the seeded group with this key. */
export function seededGroupId(seed: string, key: string): string {
  return deterministicGuid(seed, 'group', key);
}

/**
 * User number `index` of a seeded tenant: a pure function of (seed, index), so
 * a million-user tenant costs no memory and any page is computed directly.
 */
export function seededUser(
  seed: string,
  index: number,
  domain: string,
  disabledShare: number,
): DirectoryUser {
  const h = digest(seed, 'user', index);
  const givenName = GIVEN_NAMES[h.readUInt16BE(16) % GIVEN_NAMES.length]!;
  const surname = SURNAMES[h.readUInt16BE(18) % SURNAMES.length]!;
  const b = Buffer.from(h.subarray(0, 16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const x = b.toString('hex');
  const id = `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
  // The index in the name keeps UPNs unique however the names collide.
  const upn = `${givenName}.${surname}.${index}@${domain}`.toLowerCase();
  return {
    id,
    displayName: `${givenName} ${surname}`,
    givenName,
    surname,
    mail: upn,
    userPrincipalName: upn,
    accountEnabled: h.readUInt32BE(20) / 0x1_0000_0000 >= disabledShare,
  };
}

function fromSeed(t: SeededTenantSpec): Directory {
  const domain = t.domains[0]!.toLowerCase();
  const idByKey = new Map(t.groups.map((g) => [g.key, seededGroupId(t.seed, g.key)]));
  const groups: DirectoryGroup[] = t.groups.map((g) => ({
    id: idByKey.get(g.key)!,
    displayName: g.displayName,
    description: g.description,
    userRanges: normalizeRanges(
      g.userRanges.map((r) => ({ start: r.start, end: r.start + r.count })),
    ),
    memberGroupIds: g.memberGroups.map((k) => idByKey.get(k)!.toLowerCase()),
  }));
  const byId = indexGroups(groups);
  return {
    tenantId: (t.tenantId ?? seededTenantId(t.seed)).toLowerCase(),
    displayName: t.displayName,
    domains: t.domains.map((d) => d.toLowerCase()),
    applications: t.applications,
    userCount: t.userCount,
    userAt: (i) => {
      if (!Number.isInteger(i) || i < 0 || i >= t.userCount) {
        throw new RangeError(`no user at index ${i}`);
      }
      return seededUser(t.seed, i, domain, t.disabledShare);
    },
    group: (id) => byId.get(id.toLowerCase()),
    groups: () => groups,
  };
}

export function buildDirectory(input: ParsedTenantInput): Directory {
  return input.kind === 'fixture' ? fromFixture(input) : fromSeed(input);
}

/** Membership of one group as nested groups plus user index ranges. */
export interface Membership {
  groups: DirectoryGroup[];
  userRanges: IndexRange[];
}

/** Direct members of a group; groups for which `hidden` is true are left out. */
export function directMembership(
  dir: Directory,
  root: DirectoryGroup,
  hidden: (groupId: string) => boolean,
): Membership {
  const groups = root.memberGroupIds
    .filter((id) => !hidden(id))
    .map((id) => dir.group(id))
    .filter((g): g is DirectoryGroup => g !== undefined);
  return { groups, userRanges: root.userRanges };
}

/**
 * Transitive members: every group reachable through nesting (cycles are cut,
 * the root itself is never its own member) and the union of their users.
 * Cost grows with the number of groups and ranges, not with users.
 */
export function transitiveMembership(
  dir: Directory,
  root: DirectoryGroup,
  hidden: (groupId: string) => boolean,
): Membership {
  const rootId = root.id.toLowerCase();
  const seen = new Set<string>([rootId]);
  const groups: DirectoryGroup[] = [];
  const ranges: IndexRange[] = [...root.userRanges];
  const queue = [...root.memberGroupIds];
  while (queue.length > 0) {
    const id = queue.shift()!;
    if (seen.has(id) || hidden(id)) continue;
    seen.add(id);
    const g = dir.group(id);
    if (!g) continue;
    groups.push(g);
    ranges.push(...g.userRanges);
    queue.push(...g.memberGroupIds);
  }
  return { groups, userRanges: normalizeRanges(ranges) };
}
