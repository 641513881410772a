import { FAILURE_CODES, healthStatusSchema } from '@pinnacle/domain';

/**
 * Redis key layout. Every key of one org carries the same hash tag
 * (`{o:<orgId>}`), so the multi-key scripts that swap a snapshot or record a
 * run stay atomic on a Redis Cluster too. Org IDs are validated upstream
 * (letters, digits, `_` and `-`), so they cannot break out of the tag.
 */
export function orgKeys(prefix: string, orgId: string) {
  const base = `${prefix}:{o:${orgId}}`;
  return {
    integration: `${base}:integration`,
    health: `${base}:health`,
    // Not under `run:`: a run ID may be any [A-Za-z0-9_-]{1,64}, so a run
    // called "active" would otherwise share this key (and GET .../syncs/active
    // would parse the slot's run ID as a run record).
    activeRun: `${base}:active-run`,
    runIndex: `${base}:runs`,
    run: (runId: string) => `${base}:run:${runId}`,
    /** The users a run added, removed and changed: a summary hash and one list per kind. */
    runChanges: (runId: string) => `${base}:run:${runId}:changes`,
    runChangeList: (runId: string, kind: 'added' | 'removed' | 'changed') =>
      `${base}:run:${runId}:changes:${kind}`,
    snapshotCurrent: `${base}:snap:current`,
    snapshotMeta: (version: string) => `${base}:snap:${version}:meta`,
    // The compact layout (see snapshot-store.ts): what a built version is
    // (bucket count, group table, user count), its buckets, and while a run
    // stages, its plan and staging buckets.
    snapshotLayout: (version: string) => `${base}:snap:${version}:layout`,
    snapshotBucket: (version: string, bucket: number) => `${base}:snap:${version}:b:${bucket}`,
    snapshotStagePlan: (version: string) => `${base}:snap:${version}:plan`,
    snapshotStageBucket: (version: string, bucket: number) => `${base}:snap:${version}:s:${bucket}`,
    /** A legacy base version converted for one build's diff (temporary). */
    snapshotShadowBucket: (version: string, bucket: number) =>
      `${base}:snap:${version}:x:${bucket}`,
    // The layout before the compact one: still read until an org's next
    // successful sync replaces it.
    snapshotUsers: (version: string) => `${base}:snap:${version}:users`,
    snapshotIds: (version: string) => `${base}:snap:${version}:ids`,
    snapshotGroups: (version: string) => `${base}:snap:${version}:groups`,
    snapshotDisabled: (version: string) => `${base}:snap:${version}:disabled`,
    notifications: `${base}:notifications`,
    notification: (id: string) => `${base}:notification:${id}`,
    episodes: `${base}:episodes`,
    expiryWarnings: `${base}:expiry-warnings`,
    /** Hash: selected group ID → its name and when preflight last saw it. */
    selectedGroups: `${base}:selected-groups`,
    /** Sync Now's budget of new runs (a rate-limiter-flexible counter, expiring with its window). */
    syncNowBudget: `${base}:sync-now-budget`,
    /** The request rate of one of the org's tokens (`subject`: a hash of its `sub`), expiring within a minute. */
    requestRate: (subject: string) => `${base}:request-rate:${subject}`,
    /** The org's certificates (public parts and status), one JSON document with a revision. */
    certificates: `${base}:certificates`,
    /** Hash: certificate ID → its private key, sealed (deleted when the certificate is retired). */
    certificateKeys: `${base}:certificate-keys`,
    /** Which certificate-expiry warnings were sent, per certificate. */
    certificateExpiryWarnings: `${base}:certificate-expiry-warnings`,
  };
}
export type OrgKeys = ReturnType<typeof orgKeys>;

/**
 * A key outside every org's hash tag, and how an org leaves it. Offboarding
 * (`OrgOffboarding.sweep`) walks `globalKeySpace`, so a new global key
 * joins it there; the offboarding tests fail on a key outside an org's tag
 * that is not listed, and on a listed index still naming a deleted org.
 */
export type GlobalKeySpec =
  /** One key whose members (set, zset) or fields (hash) are org IDs: the org's entry is removed. */
  | { kind: 'org-index'; type: 'set' | 'zset' | 'hash'; key: string }
  /** Keys of their own per org outside its tag (a glob for one org): deleted. */
  | { kind: 'per-org'; match: (orgId: string) => string }
  /** Keys that never name an org (a glob): left alone. */
  | { kind: 'no-org'; match: string };

/**
 * Every key the service keeps beside the orgs' own (one slot each). Writers
 * of an org's entry in an index write it, then check the org is still live
 * (its integration, or the run they belong to) and take the entry out again
 * when not: offboarding fences the org first and then empties these, so the
 * entry cannot outlive it either way round.
 */
export function globalKeySpace(prefix: string) {
  const fleet = fleetKeys(prefix);
  const fleetFilters: Record<string, GlobalKeySpec> = {};
  for (const status of healthStatusSchema.options) {
    fleetFilters[`fleetStatus:${status}`] = {
      kind: 'org-index',
      type: 'zset',
      key: fleet.status(status),
    };
  }
  for (const code of FAILURE_CODES) {
    fleetFilters[`fleetCode:${code}`] = { kind: 'org-index', type: 'zset', key: fleet.code(code) };
  }
  const named = {
    /** every org with an integration. */
    orgs: { kind: 'org-index', type: 'set', key: `${prefix}:orgs` },
    /** org ID → recorded client-secret expiry (ms), for the daily expiry scan. */
    secretExpiry: { kind: 'org-index', type: 'zset', key: `${prefix}:secret-expiry` },
    /** org ID → when its open failure episode's next reminder is due (ms), for the reminder scan. */
    remindersDue: { kind: 'org-index', type: 'zset', key: `${prefix}:reminders-due` },
    /** The api's failed ops logins per source address (rate-limiter-flexible). */
    opsLoginFailures: { kind: 'no-org', match: `${prefix}:ops-login-failures:*` },
    /** The request rate of each portal-backend (`org: "*"`) token; names no org. */
    anyOrgRequestRate: { kind: 'no-org', match: `${prefix}:request-rate:any-org:*` },
    // The fleet index (fleet-index.ts): each org's record, and its place in
    // every filter index (all, stale-at, one per status and failure code).
    fleetEntries: { kind: 'org-index', type: 'hash', key: fleet.entries },
    fleetAll: { kind: 'org-index', type: 'zset', key: fleet.all },
    fleetStaleAt: { kind: 'org-index', type: 'zset', key: fleet.staleAt },
    /** org ID → `notAfter` (ms) of its current certificate, for the certificate-expiry scan. */
    certificateExpiry: { kind: 'org-index', type: 'zset', key: `${prefix}:certificate-expiry` },
  } as const satisfies Record<string, GlobalKeySpec>;
  return { ...fleetFilters, ...named };
}

/** Keys that span orgs (one slot each). */
export function globalKeys(prefix: string) {
  const space = globalKeySpace(prefix);
  return {
    secretExpiry: space.secretExpiry.key,
    orgs: space.orgs.key,
    remindersDue: space.remindersDue.key,
    /** The request rate of a portal backend's `org: "*"` token (`subject`: a hash of its `sub`). */
    anyOrgRequestRate: (subject: string) => `${prefix}:request-rate:any-org:${subject}`,
    /**
     * org ID → `notAfter` (ms) of its current certificate, for the daily
     * certificate-expiry scan. Like `secretExpiry`, an org's member here
     * goes when the org is offboarded (globalKeySpace).
     */
    certificateExpiry: space.certificateExpiry.key,
  };
}

/**
 * The fleet index (every org's status, for the ops view): fleet-wide keys
 * under one hash tag of their own, `{fleet}`, so the script that updates
 * an org's entry and its place in every filter index stays in one slot on a
 * Redis Cluster, apart from the orgs' own slots.
 */
export function fleetKeys(prefix: string) {
  const base = `${prefix}:{fleet}`;
  return {
    /** Hash: org ID → its fleet record (JSON). */
    entries: `${base}:entries`,
    /** Zset, all scores 0: every org, in org ID order (paged with ZRANGEBYLEX). */
    all: `${base}:all`,
    /** Zset: org ID → when it turns stale (ms); only orgs with a schedule. */
    staleAt: `${base}:stale-at`,
    /** Zset, scores 0: the orgs with this health status. */
    status: (status: string) => `${base}:status:${status}`,
    /** Zset, scores 0: the orgs whose open failure has this code. */
    code: (code: string) => `${base}:code:${code}`,
  };
}

/** The glob of every key under one org's hash tag (org IDs hold no glob characters). */
export function orgKeyPattern(prefix: string, orgId: string): string {
  return `${prefix}:{o:${orgId}}*`;
}

/**
 * What an in-flight write belongs to, which offboarding deletes first (one
 * script, with the org's run index): a run (its record) or the org's
 * integration. A fenced write checks, in the script that writes, that it is
 * still there, and is refused (OrgOffboardedError) once it is not, so work
 * in flight when its org was offboarded cannot write anything back.
 */
export type WriteFence = { runId: string } | 'integration';

/** The key a fence checks. */
export function fenceKey(k: OrgKeys, fence: WriteFence): string {
  return fence === 'integration' ? k.integration : k.run(fence.runId);
}
