import { seededGroupId, seededTenantId } from './directory.js';
import { deterministicGuid, deterministicSecretValue } from './ids.js';
import type { TenantInput } from './schemas.js';

/** What an org admin would paste into the integration settings. */
export interface DemoCredentials {
  tenantId: string;
  /** The tenant's initial domain (usable instead of the ID). */
  domain: string;
  clientId: string;
  clientSecret: string;
  /** The secret's ID: what an admin pastes by mistake instead of the value. */
  secretKeyId: string;
  secretExpiresAt: string;
}

/** The state `pnpm demo` puts a demo tenant's org in, so the console shows each one. */
export type DemoState =
  | 'healthy'
  | 'secret_expired'
  | 'secret_expiring'
  | 'consent_missing'
  | 'group_deleted'
  | 'never_synced';

export interface DemoTenant {
  key: 'contoso' | 'fabrikam' | 'northwind' | 'woodgrove' | 'tailspin' | 'litware' | 'adatum';
  description: string;
  tenant: TenantInput;
  credentials: DemoCredentials;
  groups: { id: string; displayName: string }[];
  /** How the demo sets up this tenant's org. */
  demo: {
    state: DemoState;
    /** The groups the org selects. */
    groupIds: string[];
    /** For `group_deleted`: the selected group deleted in Entra after the first sync. */
    deletedGroupId?: string;
  };
}

const DAY_MS = 86_400_000;
/** The two application permissions the sync service needs. */
const SYNC_ROLES = ['User.Read.All', 'GroupMember.Read.All'];

function app(seed: string, roles: string[], expiresAt: Date) {
  return {
    appId: deterministicGuid(seed, 'app'),
    displayName: 'Pinnacle Entra Sync',
    roles,
    secrets: [
      {
        keyId: deterministicGuid(seed, 'secret-key'),
        value: deterministicSecretValue(seed, 'secret'),
        expiresAt,
      },
    ],
  };
}

function credentials(
  seed: string,
  tenantId: string,
  domain: string,
  expiresAt: Date,
): DemoCredentials {
  return {
    tenantId,
    domain,
    clientId: deterministicGuid(seed, 'app'),
    clientSecret: deterministicSecretValue(seed, 'secret'),
    secretKeyId: deterministicGuid(seed, 'secret-key'),
    secretExpiresAt: expiresAt.toISOString(),
  };
}

interface PersonSpec {
  given: string;
  surname: string;
  enabled?: boolean;
}

function fixtureUsers(seed: string, domain: string, people: PersonSpec[]) {
  return people.map((p, i) => {
    const upn = `${p.given}.${p.surname}@${domain}`.toLowerCase();
    return {
      id: deterministicGuid(seed, 'user', i),
      displayName: `${p.given} ${p.surname}`,
      givenName: p.given,
      surname: p.surname,
      mail: upn,
      userPrincipalName: upn,
      accountEnabled: p.enabled ?? true,
    };
  });
}

function contoso(now: Date): DemoTenant {
  const seed = 'pinnacle-demo:contoso';
  const tenantId = deterministicGuid(seed, 'tenant');
  const domain = 'contoso.onmicrosoft.com';
  const users = fixtureUsers(seed, domain, [
    { given: 'Adele', surname: 'Vance' },
    { given: 'Alex', surname: 'Wilber' },
    { given: 'Diego', surname: 'Siciliani' },
    { given: 'Grady', surname: 'Archie' },
    { given: 'Isaiah', surname: 'Langer' },
    { given: 'Johanna', surname: 'Lorenz' },
    { given: 'Joni', surname: 'Sherman', enabled: false },
    { given: 'Lee', surname: 'Gu' },
    { given: 'Lidia', surname: 'Holloway' },
    { given: 'Lynne', surname: 'Robbins' },
    { given: 'Megan', surname: 'Bowen' },
    { given: 'Miriam', surname: 'Graham' },
    { given: 'Nestor', surname: 'Wilke', enabled: false },
    { given: 'Patti', surname: 'Fernandez' },
    { given: 'Pradeep', surname: 'Gupta' },
  ]);
  const u = (i: number) => users[i]!.id;
  const g = (key: string) => deterministicGuid(seed, 'group', key);
  const expiresAt = new Date(now.getTime() + 365 * DAY_MS);
  const groups = [
    {
      id: g('engineering'),
      displayName: 'Engineering',
      description: 'All engineers; includes the Platform Team',
      members: [u(0), u(1), u(2), u(3), u(4)],
      memberGroups: [g('platform')],
    },
    {
      id: g('platform'),
      displayName: 'Platform Team',
      description: 'Nested in Engineering; overlaps it (Grady)',
      members: [u(3), u(5), u(6)],
      memberGroups: [],
    },
    {
      id: g('sales'),
      displayName: 'Sales',
      description: 'Overlaps Engineering (Isaiah)',
      members: [u(4), u(7), u(8), u(9), u(10)],
      memberGroups: [],
    },
    {
      id: g('all-staff'),
      displayName: 'All Staff',
      description: 'Engineering and Sales nested, plus two direct members',
      members: [u(11), u(12)],
      memberGroups: [g('engineering'), g('sales')],
    },
    {
      id: g('incident'),
      displayName: 'Incident Response',
      description: 'Nested in On-Call Rotation, which is nested back in it (a cycle)',
      members: [u(13)],
      memberGroups: [g('oncall')],
    },
    {
      id: g('oncall'),
      displayName: 'On-Call Rotation',
      description: 'Cycle with Incident Response',
      members: [u(14), u(0)],
      memberGroups: [g('incident')],
    },
    {
      id: g('contractors'),
      displayName: 'Contractors',
      description: 'No members',
      members: [],
      memberGroups: [],
    },
  ];
  return {
    key: 'contoso',
    description: 'Healthy: nested, overlapping and cyclic groups, two disabled users',
    demo: { state: 'healthy', groupIds: [g('engineering'), g('sales')] },
    tenant: {
      kind: 'fixture',
      tenantId,
      displayName: 'Contoso',
      domains: [domain, 'contoso.example'],
      users,
      groups,
      applications: [app(seed, SYNC_ROLES, expiresAt)],
    },
    credentials: credentials(seed, tenantId, domain, expiresAt),
    groups: groups.map(({ id, displayName }) => ({ id, displayName })),
  };
}

function smallTenant(
  key: 'fabrikam' | 'northwind' | 'litware' | 'adatum',
  displayName: string,
  description: string,
  roles: string[],
  expiresAt: Date,
  state: DemoState,
): DemoTenant {
  const seed = `pinnacle-demo:${key}`;
  const tenantId = deterministicGuid(seed, 'tenant');
  const domain = `${key}.onmicrosoft.com`;
  const users = fixtureUsers(seed, domain, [
    { given: 'Amara', surname: 'Okafor' },
    { given: 'Ben', surname: 'Larsen' },
    { given: 'Chen', surname: 'Wong' },
    { given: 'Dana', surname: 'Kowalski', enabled: false },
  ]);
  const groups = [
    {
      id: deterministicGuid(seed, 'group', 'staff'),
      displayName: 'Staff',
      description: null,
      members: users.map((x) => x.id),
      memberGroups: [],
    },
    {
      id: deterministicGuid(seed, 'group', 'contractors'),
      displayName: 'Contractors',
      description: 'Deleted in Entra ID by the demo when its state is group_deleted',
      members: users.slice(0, 2).map((x) => x.id),
      memberGroups: [],
    },
  ];
  const [staff, contractors] = groups.map((x) => x.id) as [string, string];
  return {
    key,
    description,
    demo:
      state === 'group_deleted'
        ? { state, groupIds: [staff, contractors], deletedGroupId: contractors }
        : { state, groupIds: [staff] },
    tenant: {
      kind: 'fixture',
      tenantId,
      displayName,
      domains: [domain],
      users,
      groups,
      applications: [app(seed, roles, expiresAt)],
    },
    credentials: credentials(seed, tenantId, domain, expiresAt),
    groups: groups.map(({ id, displayName: name }) => ({ id, displayName: name })),
  };
}

function woodgrove(now: Date): DemoTenant {
  const seed = 'pinnacle-demo:woodgrove';
  const tenantId = seededTenantId(seed);
  const domain = 'woodgrove.onmicrosoft.com';
  const expiresAt = new Date(now.getTime() + 14 * DAY_MS);
  const r = (start: number, count: number) => ({ start, count });
  const groups = [
    {
      key: 'all-staff',
      displayName: 'All Staff',
      description: 'Every department nested: 100,000 users',
      memberGroups: ['engineering', 'sales', 'support', 'operations'],
    },
    {
      key: 'engineering',
      displayName: 'Engineering',
      userRanges: [r(0, 40_000)],
      memberGroups: ['platform'],
    },
    {
      key: 'platform',
      displayName: 'Platform Team',
      description: 'Nested in Engineering; mostly inside it, 500 members outside it',
      userRanges: [r(10_000, 5_000), r(95_000, 500)],
    },
    {
      key: 'sales',
      displayName: 'Sales',
      description: 'Overlaps Engineering by 5,000',
      userRanges: [r(35_000, 25_000)],
    },
    { key: 'support', displayName: 'Support', userRanges: [r(60_000, 25_000)] },
    { key: 'operations', displayName: 'Operations', userRanges: [r(85_000, 15_000)] },
    {
      key: 'incident',
      displayName: 'Incident Response',
      userRanges: [r(99_000, 100)],
      memberGroups: ['oncall'],
    },
    {
      key: 'oncall',
      displayName: 'On-Call Rotation',
      userRanges: [r(500, 100)],
      memberGroups: ['incident'],
    },
  ];
  return {
    key: 'woodgrove',
    // Never synced: press Sync Now to watch 100,000 users go through.
    demo: { state: 'never_synced', groupIds: [seededGroupId(seed, 'all-staff')] },
    description:
      'Seeded, 100,000 users (5% disabled); secret expires in 14 days; Directory.Read.All granted beyond what the sync needs',
    tenant: {
      kind: 'seeded',
      seed,
      displayName: 'Woodgrove Bank',
      domains: [domain],
      userCount: 100_000,
      disabledShare: 0.05,
      groups,
      applications: [app(seed, [...SYNC_ROLES, 'Directory.Read.All'], expiresAt)],
    },
    credentials: credentials(seed, tenantId, domain, expiresAt),
    groups: groups.map((x) => ({ id: seededGroupId(seed, x.key), displayName: x.displayName })),
  };
}

function tailspin(now: Date): DemoTenant {
  const seed = 'pinnacle-demo:tailspin';
  const tenantId = seededTenantId(seed);
  const domain = 'tailspin.onmicrosoft.com';
  const expiresAt = new Date(now.getTime() + 365 * DAY_MS);
  const r = (start: number, count: number) => ({ start, count });
  const groups = [
    {
      key: 'all-staff',
      displayName: 'All Staff',
      description: 'Every department nested: 5,000 users',
      memberGroups: ['engineering', 'sales', 'support'],
    },
    {
      key: 'engineering',
      displayName: 'Engineering',
      userRanges: [r(0, 2_000)],
      memberGroups: ['platform'],
    },
    {
      key: 'platform',
      displayName: 'Platform Team',
      description: 'Nested in Engineering, 200 members outside it',
      userRanges: [r(500, 300), r(4_800, 200)],
    },
    { key: 'sales', displayName: 'Sales', userRanges: [r(1_800, 1_700)] },
    { key: 'support', displayName: 'Support', userRanges: [r(3_500, 1_300)] },
  ];
  return {
    key: 'tailspin',
    description: 'Healthy: 5,000 users (3% disabled) in nested, overlapping groups',
    demo: { state: 'healthy', groupIds: [seededGroupId(seed, 'all-staff')] },
    tenant: {
      kind: 'seeded',
      seed,
      displayName: 'Tailspin Toys',
      domains: [domain],
      userCount: 5_000,
      disabledShare: 0.03,
      groups,
      applications: [app(seed, SYNC_ROLES, expiresAt)],
    },
    credentials: credentials(seed, tenantId, domain, expiresAt),
    groups: groups.map((x) => ({ id: seededGroupId(seed, x.key), displayName: x.displayName })),
  };
}

/**
 * The demo tenants, with the credentials an admin would enter. IDs and
 * secrets are stable across runs; expiry dates are relative to `now`.
 */
export function demoTenants(now: Date = new Date()): DemoTenant[] {
  return [
    contoso(now),
    smallTenant(
      'fabrikam',
      'Fabrikam',
      'Client secret expired 10 days ago (AADSTS7000222)',
      SYNC_ROLES,
      new Date(now.getTime() - 10 * DAY_MS),
      'secret_expired',
    ),
    smallTenant(
      'northwind',
      'Northwind Traders',
      'Admin consent never granted: tokens carry no roles (Graph answers 403)',
      [],
      new Date(now.getTime() + 365 * DAY_MS),
      'consent_missing',
    ),
    woodgrove(now),
    tailspin(now),
    smallTenant(
      'litware',
      'Litware',
      'Healthy, but its client secret expires in 5 days',
      SYNC_ROLES,
      // Half a day past the fifth day: "5 days left" for the demo's first twelve hours.
      new Date(now.getTime() + 5.5 * DAY_MS),
      'secret_expiring',
    ),
    smallTenant(
      'adatum',
      'Adatum',
      'A selected group (Contractors) deleted in Entra ID after the first sync',
      SYNC_ROLES,
      new Date(now.getTime() + 365 * DAY_MS),
      'group_deleted',
    ),
  ];
}
