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

/** Keys that span orgs (one slot each). */
export function globalKeys(prefix: string) {
  return {
    /** org ID → recorded client-secret expiry (ms), for the daily expiry scan. */
    secretExpiry: `${prefix}:secret-expiry`,
    /** every org with an integration. */
    orgs: `${prefix}:orgs`,
    /** org ID → when its open failure episode's next reminder is due (ms), for the reminder scan. */
    remindersDue: `${prefix}:reminders-due`,
    /** The request rate of a portal backend's `org: "*"` token (`subject`: a hash of its `sub`). */
    anyOrgRequestRate: (subject: string) => `${prefix}:request-rate:any-org:${subject}`,
    /**
     * org ID → `notAfter` (ms) of its current certificate, for the daily
     * certificate-expiry scan. Like `secretExpiry`, an org's member here must
     * go when the org is offboarded.
     */
    certificateExpiry: `${prefix}:certificate-expiry`,
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
