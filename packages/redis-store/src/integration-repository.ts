import type { clientSecretRotationSchema, integrationSettingsInputSchema } from '@pinnacle/domain';
import {
  authMethodOf,
  DEFAULT_AUTH_METHOD,
  scheduleIntervalMs,
  secretHint,
} from '@pinnacle/domain';
import { z } from 'zod';
import type { FleetIndex } from './fleet-index.js';
import { globalKeys, orgKeys } from './keys.js';
import type { RedisClient } from './redis-client.js';
import { defineScript } from './redis-script.js';
import type { SecretBox } from './secret-box.js';
import { withScores } from './zset.js';

export type IntegrationSettingsInput = z.output<typeof integrationSettingsInputSchema>;
export type ClientSecretRotation = z.output<typeof clientSecretRotationSchema>;

/**
 * The integration as stored. Deliberately loose (plain strings): the API
 * validates what it writes, and preflight re-validates what it reads, so a
 * record written by an older version surfaces as `settings_invalid` with the
 * field named instead of a parse crash.
 */
export const storedIntegrationSchema = z.object({
  orgId: z.string(),
  tenantId: z.string().nullable(),
  clientId: z.string().nullable(),
  secret: z
    .object({
      sealed: z.string(),
      hint: z.string(),
      expiresAt: z.string().nullable(),
      updatedAt: z.string(),
    })
    .nullable(),
  groupIds: z.array(z.string()),
  schedule: z.object({ enabled: z.boolean(), every: z.string() }),
  notifications: z.object({
    email: z.object({ enabled: z.boolean(), recipients: z.array(z.string()) }),
  }),
  includeDisabledUsers: z.boolean(),
  massRemovalGuard: z.object({ maxRemovedPercent: z.number(), minRemovedUsers: z.number() }),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** Bumped on every write; schedulers and caches compare it. */
  revision: z.number().int(),
  /** Absent in records from before certificates: the client secret (see authMethodOf). */
  authMethod: z.enum(['client_secret', 'certificate']).optional(),
});
export type StoredIntegration = z.infer<typeof storedIntegrationSchema>;

export class IntegrationNotFoundError extends Error {
  readonly code = 'integration_not_found';
  constructor(orgId: string) {
    super(`No Entra ID integration is configured for org ${orgId}`);
    this.name = 'IntegrationNotFoundError';
  }
}

const MAX_OPTIMISTIC_RETRIES = 10;

// Replaces the record if its revision is still `revision` (0 = absent): 1, else 0.
const integrationCompareAndSet = defineScript({
  name: 'integrationCompareAndSet',
  keys: ['integration'],
  args: ['revision', 'json'],
  lua: `
local cur = redis.call('GET', integration)
local rev = 0
if cur then rev = cjson.decode(cur).revision end
if tostring(rev) ~= revision then return 0 end
redis.call('SET', integration, json)
return 1
`,
  parse: z.union([z.literal(0), z.literal(1)]),
});

export class IntegrationRepository {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly secretBox: SecretBox,
    /** The fleet view's index: an org enters it when its settings are first saved. */
    private readonly fleet?: FleetIndex,
  ) {}

  /** Whether the org has an integration: the fence of the writes that belong to it. */
  async exists(orgId: string): Promise<boolean> {
    return (await this.redis.exists(orgKeys(this.prefix, orgId).integration)) === 1;
  }

  async get(orgId: string): Promise<StoredIntegration | null> {
    const json = await this.redis.get(orgKeys(this.prefix, orgId).integration);
    return json ? storedIntegrationSchema.parse(JSON.parse(json)) : null;
  }

  /** The clear-text secret, for the worker's token request only. */
  revealSecret(integration: StoredIntegration): string | null {
    return integration.secret
      ? this.secretBox.decrypt(integration.secret.sealed, integration.orgId)
      : null;
  }

  /**
   * Re-seals the org's client secret with the current encryption key (key
   * rotation). Nothing else changes but the revision; a concurrent save
   * wins and is re-sealed in its turn. Throws SecretDecryptionError when no
   * configured key opens the stored secret, writing nothing.
   */
  async resealSecret(orgId: string): Promise<'reencrypted' | 'current' | 'absent'> {
    const key = orgKeys(this.prefix, orgId).integration;
    for (let attempt = 0; attempt < MAX_OPTIMISTIC_RETRIES; attempt++) {
      const json = await this.redis.get(key);
      const previous = json ? storedIntegrationSchema.parse(JSON.parse(json)) : null;
      if (!previous?.secret) return 'absent';
      const opened = this.secretBox.open(previous.secret.sealed, orgId);
      if (opened.current) return 'current';
      const next = storedIntegrationSchema.parse({
        ...previous,
        secret: { ...previous.secret, sealed: this.secretBox.encrypt(opened.plaintext, orgId) },
        revision: previous.revision + 1,
      });
      const written = await integrationCompareAndSet(this.redis, {
        keys: { integration: key },
        args: { revision: String(previous.revision), json: JSON.stringify(next) },
      });
      if (written === 1) return 'reencrypted';
    }
    throw new Error(`Could not re-encrypt the secret of org ${orgId}: too many concurrent writes`);
  }

  /**
   * Creates or replaces the settings. Without a new `clientSecret` the stored
   * secret (and its expiry, unless one is given) is kept.
   */
  async put(
    orgId: string,
    input: IntegrationSettingsInput,
    now: Date = new Date(),
  ): Promise<{
    integration: StoredIntegration;
    /** The record this save replaced (null when it created the integration). */
    previous: StoredIntegration | null;
    created: boolean;
    secretChanged: boolean;
  }> {
    const sealed = input.clientSecret ? this.secretBox.encrypt(input.clientSecret, orgId) : null;
    return this.update(orgId, (previous) => {
      const at = now.toISOString();
      let secret = previous?.secret ?? null;
      if (sealed && input.clientSecret) {
        secret = {
          sealed,
          hint: secretHint(input.clientSecret),
          expiresAt: input.clientSecretExpiresAt ?? null,
          updatedAt: at,
        };
      } else if (secret && input.clientSecretExpiresAt) {
        secret = { ...secret, expiresAt: input.clientSecretExpiresAt };
      }
      return {
        orgId,
        tenantId: input.tenantId ?? null,
        clientId: input.clientId ?? null,
        secret,
        groupIds: input.groupIds,
        schedule: input.schedule,
        notifications: input.notifications,
        includeDisabledUsers: input.includeDisabledUsers,
        massRemovalGuard: input.massRemovalGuard,
        // Omitted: the stored method stays (a client that does not know it cannot switch it).
        authMethod: input.authMethod ?? (previous ? authMethodOf(previous) : DEFAULT_AUTH_METHOD),
        createdAt: previous?.createdAt ?? at,
        updatedAt: at,
        revision: (previous?.revision ?? 0) + 1,
      };
    }).then(({ next, previous }) => ({
      integration: next,
      previous,
      created: previous === null,
      secretChanged: sealed !== null,
    }));
  }

  /** Replaces the secret and its expiry; nothing else changes. */
  async rotateSecret(
    orgId: string,
    rotation: ClientSecretRotation,
    now: Date = new Date(),
  ): Promise<{ integration: StoredIntegration; previous: StoredIntegration }> {
    const sealed = this.secretBox.encrypt(rotation.clientSecret, orgId);
    const { next, previous } = await this.update(orgId, (previous) => {
      if (!previous) throw new IntegrationNotFoundError(orgId);
      return {
        ...previous,
        secret: {
          sealed,
          hint: secretHint(rotation.clientSecret),
          expiresAt: rotation.expiresAt,
          updatedAt: now.toISOString(),
        },
        updatedAt: now.toISOString(),
        revision: previous.revision + 1,
      };
    });
    // update() ran the change on a record, so there was one.
    if (!previous) throw new IntegrationNotFoundError(orgId);
    return { integration: next, previous };
  }

  /** Org IDs whose recorded secret expiry is at or before `until`, soonest first. */
  async orgsWithSecretExpiringBefore(until: Date): Promise<{ orgId: string; expiresAt: Date }[]> {
    const flat = await this.redis.zrangebyscore(
      globalKeys(this.prefix).secretExpiry,
      '-inf',
      until.getTime(),
      'WITHSCORES',
    );
    return withScores(flat).map(({ member, score }) => ({
      orgId: member,
      expiresAt: new Date(score),
    }));
  }

  async listOrgIds(): Promise<string[]> {
    return this.redis.smembers(globalKeys(this.prefix).orgs);
  }

  /** Every org with an integration, a batch at a time (SSCAN: no single huge reply). */
  async *orgIdBatches(count = 500): AsyncGenerator<string[]> {
    const seen = new Set<string>();
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.sscan(
        globalKeys(this.prefix).orgs,
        cursor,
        'COUNT',
        count,
      );
      cursor = next;
      // SSCAN may return a member twice while the set is rehashed.
      const fresh = batch.filter((orgId) => !seen.has(orgId));
      for (const orgId of fresh) seen.add(orgId);
      if (fresh.length > 0) yield fresh;
    } while (cursor !== '0');
  }

  /**
   * The orgs with an integration, by org ID, a page at a time: `after` is
   * the last org ID of the previous page, so orgs added while a client pages
   * neither shift nor repeat what it sees. Reads the whole set per page,
   * which is fine for an org picker's thousands of orgs.
   */
  async listOrgIdsPage(options: {
    limit: number;
    after?: string | undefined;
  }): Promise<{ orgIds: string[]; more: boolean }> {
    const all = (await this.listOrgIds()).sort();
    const from = options.after === undefined ? 0 : all.findIndex((id) => id > options.after!);
    if (from < 0) return { orgIds: [], more: false };
    const orgIds = all.slice(from, from + options.limit);
    return { orgIds, more: from + options.limit < all.length };
  }

  /**
   * Optimistic read-modify-write: the script writes only if the revision is
   * still the one read, so two concurrent saves cannot lose each other's
   * secret. (Not WATCH: the connection is shared by concurrent requests.)
   * The global indexes live in other slots, so they are written after (see
   * `updateIndexes`).
   */
  private async update(
    orgId: string,
    change: (previous: StoredIntegration | null) => StoredIntegration,
  ): Promise<{ next: StoredIntegration; previous: StoredIntegration | null }> {
    const key = orgKeys(this.prefix, orgId).integration;
    for (let attempt = 0; attempt < MAX_OPTIMISTIC_RETRIES; attempt++) {
      const json = await this.redis.get(key);
      const previous = json ? storedIntegrationSchema.parse(JSON.parse(json)) : null;
      const next = storedIntegrationSchema.parse(change(previous));
      const written = await integrationCompareAndSet(this.redis, {
        keys: { integration: key },
        args: { revision: String(previous?.revision ?? 0), json: JSON.stringify(next) },
      });
      if (written !== 1) continue; // someone else wrote in between: retry
      await this.updateIndexes(orgId, next);
      return { next, previous };
    }
    throw new Error(`Could not save the integration of org ${orgId}: too many concurrent writes`);
  }

  /**
   * Writes the global indexes from `written`, then re-reads the record: if a
   * newer revision landed meanwhile, its writer's index update may already
   * have been overtaken by ours, so index the newer record too. Without this
   * check a slower writer of an older revision could leave its stale expiry
   * in the index for good. The last index write therefore always comes from
   * the latest record. A record gone meanwhile (the org was offboarded) takes
   * the entries out again: offboarding removes the record first and empties
   * the indexes after, so either way round none outlives it.
   */
  private async updateIndexes(orgId: string, written: StoredIntegration): Promise<void> {
    const key = orgKeys(this.prefix, orgId).integration;
    const g = globalKeys(this.prefix);
    let record = written;
    for (let attempt = 0; attempt < MAX_OPTIMISTIC_RETRIES; attempt++) {
      const expiry = record.secret?.expiresAt ? Date.parse(record.secret.expiresAt) : Number.NaN;
      // Two commands, not a pipeline: on a Cluster each index has a slot of its own.
      await Promise.all([
        this.redis.sadd(g.orgs, orgId),
        // A secret's expiry matters only while the org authenticates with it.
        Number.isFinite(expiry) && authMethodOf(record) === 'client_secret'
          ? this.redis.zadd(g.secretExpiry, expiry, orgId)
          : this.redis.zrem(g.secretExpiry, orgId),
      ]);
      await this.fleet?.recordSchedule(orgId, scheduleIntervalMs(record.schedule), new Date());
      const json = await this.redis.get(key);
      const latest = json ? storedIntegrationSchema.parse(JSON.parse(json)) : null;
      if (latest === null) {
        await Promise.all([this.redis.srem(g.orgs, orgId), this.redis.zrem(g.secretExpiry, orgId)]);
        await this.fleet?.remove(orgId);
        return;
      }
      if (latest.revision === record.revision) return;
      record = latest;
    }
  }
}
