import { randomBytes } from 'node:crypto';
import { integrationSettingsInputSchema } from '@pinnacle/domain';
import { waitFor } from '@pinnacle/testing';
import { type RedisFixture, test } from '@pinnacle/testing/fixtures';
import { describe, expect, it } from 'vitest';
import {
  IntegrationNotFoundError,
  IntegrationRepository,
  type StoredIntegration,
} from '../src/integration-repository.js';
import { globalKeys, orgKeys } from '../src/keys.js';
import type { RedisClient } from '../src/redis-client.js';
import { SecretBox, SecretDecryptionError } from '../src/secret-box.js';
import { dataPrefix } from '../src/stores.js';

let r: RedisFixture;
let prefix: string;
let box: SecretBox;
let repo: IntegrationRepository;

test.beforeAll(async ({ redis }) => {
  r = redis;
  prefix = dataPrefix(r.prefix);
  box = new SecretBox(randomBytes(32).toString('base64'));
  repo = new IntegrationRepository(r.redis, prefix, box);
});

const SECRET = 'Xq8Q~Ab1CdEfGhIjKlMnOpQrStUvWxYz.0123_-9';
const SECRET_2 = 'Zz9Q~second-secret-value~0987654321abcdEFG';
const TENANT = '11111111-2222-3333-4444-555555555555';
const CLIENT = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
const GROUP_1 = '00000000-0000-0000-0000-000000000001';
const GROUP_2 = '00000000-0000-0000-0000-000000000002';

const now = (day: number) => new Date(Date.UTC(2026, 0, 1 + day, 12));

/** An input as the API hands it over: parsed by the contract's schema. */
function input(raw: Record<string, unknown> = {}) {
  return integrationSettingsInputSchema.parse({
    tenantId: TENANT,
    clientId: CLIENT,
    groupIds: [GROUP_1],
    schedule: { enabled: true, every: '6h' },
    notifications: { email: { enabled: true, recipients: ['admin@contoso.com'] } },
    ...raw,
  });
}

const withSecret = (secret = SECRET, expiresAt = '2026-12-31T00:00:00Z') =>
  input({ clientSecret: secret, clientSecretExpiresAt: expiresAt });

/** Everything stored under the test prefix, as text (strings, hashes, sets, zsets). */
async function dumpEverything(): Promise<string> {
  const out: string[] = [];
  for (const key of await r.keys()) {
    const type = await r.redis.type(key);
    out.push(key);
    if (type === 'string') out.push((await r.redis.get(key)) ?? '');
    else if (type === 'hash') out.push(JSON.stringify(await r.redis.hgetall(key)));
    else if (type === 'set') out.push(JSON.stringify(await r.redis.smembers(key)));
    else if (type === 'zset') out.push(JSON.stringify(await r.redis.zrange(key, 0, -1)));
    else if (type === 'list') out.push(JSON.stringify(await r.redis.lrange(key, 0, -1)));
  }
  return out.join('\n');
}

async function indexedExpiry(orgId: string): Promise<number | null> {
  const score = await r.redis.zscore(globalKeys(prefix).secretExpiry, orgId);
  return score === null ? null : Number(score);
}

function omit<T extends object, K extends keyof T>(value: T, ...fields: K[]): Omit<T, K> {
  const copy = { ...value };
  for (const f of fields) delete copy[f];
  return copy;
}

describe('IntegrationRepository.put and get', () => {
  it('round-trips the settings', async () => {
    const org = 'org-roundtrip';
    expect(await repo.get(org)).toBeNull();
    const result = await repo.put(org, withSecret(), now(0));
    expect(result.created).toBe(true);
    expect(result.secretChanged).toBe(true);
    const stored = result.integration;
    expect(stored).toEqual({
      orgId: org,
      tenantId: TENANT,
      clientId: CLIENT,
      secret: {
        sealed: expect.stringMatching(/^v2\./),
        hint: SECRET.slice(-3),
        expiresAt: '2026-12-31T00:00:00.000Z',
        updatedAt: now(0).toISOString(),
      },
      groupIds: [GROUP_1],
      schedule: { enabled: true, every: '6h' },
      notifications: { email: { enabled: true, recipients: ['admin@contoso.com'] } },
      includeDisabledUsers: false,
      massRemovalGuard: { maxRemovedPercent: 20, minRemovedUsers: 10 },
      createdAt: now(0).toISOString(),
      updatedAt: now(0).toISOString(),
      revision: 1,
      authMethod: 'client_secret',
    } satisfies StoredIntegration);
    expect(await repo.get(org)).toEqual(stored);
    expect(repo.revealSecret(stored)).toBe(SECRET);
    expect(await repo.listOrgIds()).toContain(org);

    const replaced = await repo.put(org, input({ groupIds: [GROUP_2, GROUP_1] }), now(1));
    expect(replaced.created).toBe(false);
    expect(replaced.secretChanged).toBe(false);
    expect(replaced.integration.revision).toBe(2);
    expect(replaced.integration.createdAt).toBe(now(0).toISOString());
    expect(replaced.integration.updatedAt).toBe(now(1).toISOString());
    expect(replaced.integration.groupIds).toEqual([GROUP_2, GROUP_1]);
    expect(await repo.get(org)).toEqual(replaced.integration);
  });

  it('keeps the auth method when a save omits it, and indexes the secret expiry only on the secret', async () => {
    const org = 'org-auth-method';
    const created = await repo.put(org, withSecret(), now(0));
    expect(created.integration.authMethod).toBe('client_secret');
    const secretExpiry = () => r.redis.zscore(globalKeys(prefix).secretExpiry, org);
    expect(await secretExpiry()).not.toBeNull();

    const switched = await repo.put(org, input({ authMethod: 'certificate' }), now(1));
    expect(switched.integration.authMethod).toBe('certificate');
    // The secret stays stored (switching back needs no new one), its expiry no longer watched.
    expect(switched.integration.secret?.hint).toBe(SECRET.slice(-3));
    expect(await secretExpiry()).toBeNull();

    // A client that does not know authMethod saves: the org stays on certificates.
    const kept = await repo.put(org, input({ groupIds: [GROUP_2] }), now(2));
    expect(kept.integration.authMethod).toBe('certificate');

    await repo.put(org, input({ authMethod: 'client_secret' }), now(3));
    expect(await secretExpiry()).not.toBeNull();
  });

  it('reads a record from before certificates as on the client secret', async () => {
    const org = 'org-old-record';
    const { integration } = await repo.put(org, withSecret(), now(0));
    const { authMethod: _dropped, ...old } = integration;
    await r.redis.set(orgKeys(prefix, org).integration, JSON.stringify(old));
    const read = await repo.get(org);
    expect(read?.authMethod).toBeUndefined();
    const saved = await repo.put(org, input(), now(1));
    expect(saved.integration.authMethod).toBe('client_secret');
  });

  it('a draft without credentials is stored with nulls', async () => {
    const org = 'org-draft';
    const { integration } = await repo.put(org, integrationSettingsInputSchema.parse({}), now(0));
    expect(integration).toMatchObject({
      tenantId: null,
      clientId: null,
      secret: null,
      groupIds: [],
      schedule: { enabled: false },
    });
    expect(repo.revealSecret(integration)).toBeNull();
    expect(await indexedExpiry(org)).toBeNull();
    expect(await repo.listOrgIds()).toContain(org);
  });

  it('never stores the clear secret anywhere in Redis', async () => {
    const org = 'org-no-clear-secret';
    await repo.put(org, withSecret(SECRET), now(0));
    await repo.put(org, input(), now(1));
    await repo.rotateSecret(
      org,
      { clientSecret: SECRET_2, expiresAt: '2027-06-30T00:00:00.000Z' },
      now(2),
    );
    const raw = await r.redis.get(orgKeys(prefix, org).integration);
    expect(raw).not.toBeNull();
    expect(raw).not.toContain(SECRET);
    expect(raw).not.toContain(SECRET_2);
    // Nor a sizeable piece of it (the 3-character hint is all that shows).
    expect(raw).not.toContain(SECRET_2.slice(0, 8));
    expect(raw).not.toContain(SECRET_2.slice(-8));
    const everything = await dumpEverything();
    expect(everything).not.toContain(SECRET);
    expect(everything).not.toContain(SECRET_2);
    expect(everything).not.toContain(Buffer.from(SECRET_2).toString('base64'));
    expect(everything).not.toContain(Buffer.from(SECRET_2).toString('base64url'));
  });

  it('put without a clientSecret keeps the stored secret and its expiry', async () => {
    const org = 'org-keep-secret';
    const first = await repo.put(org, withSecret(SECRET, '2026-12-31'), now(0));
    const second = await repo.put(org, input({ groupIds: [GROUP_2] }), now(1));
    expect(second.secretChanged).toBe(false);
    expect(second.integration.secret).toEqual(first.integration.secret);
    expect(second.integration.groupIds).toEqual([GROUP_2]);
    expect(repo.revealSecret(second.integration)).toBe(SECRET);
    expect(await indexedExpiry(org)).toBe(Date.parse('2026-12-31T00:00:00Z'));
  });

  it('put with only clientSecretExpiresAt corrects the recorded expiry', async () => {
    const org = 'org-expiry-only';
    const first = await repo.put(org, withSecret(SECRET, '2026-12-31'), now(0));
    const second = await repo.put(
      org,
      input({ clientSecretExpiresAt: '2026-10-15T08:30:00+02:00' }),
      now(1),
    );
    expect(second.secretChanged).toBe(false);
    expect(second.integration.secret).toEqual({
      ...first.integration.secret,
      expiresAt: '2026-10-15T06:30:00.000Z',
    });
    expect(repo.revealSecret(second.integration)).toBe(SECRET);
    expect(await indexedExpiry(org)).toBe(Date.parse('2026-10-15T06:30:00Z'));
  });

  it('an expiry without any stored secret records nothing', async () => {
    const org = 'org-expiry-no-secret';
    const { integration } = await repo.put(
      org,
      input({ clientSecretExpiresAt: '2026-10-15' }),
      now(0),
    );
    expect(integration.secret).toBeNull();
    expect(await indexedExpiry(org)).toBeNull();
  });

  it('a new secret replaces the old one', async () => {
    const org = 'org-new-secret';
    const first = await repo.put(org, withSecret(SECRET), now(0));
    const second = await repo.put(org, withSecret(SECRET_2, '2027-01-31'), now(1));
    expect(second.secretChanged).toBe(true);
    expect(second.integration.secret?.sealed).not.toBe(first.integration.secret?.sealed);
    expect(second.integration.secret?.hint).toBe(SECRET_2.slice(-3));
    expect(second.integration.secret?.updatedAt).toBe(now(1).toISOString());
    expect(repo.revealSecret(second.integration)).toBe(SECRET_2);
    expect(repo.revealSecret((await repo.get(org)) as StoredIntegration)).toBe(SECRET_2);
  });
});

describe('IntegrationRepository.rotateSecret', () => {
  it('changes only the secret, its hint and expiry, updatedAt and revision', async () => {
    const org = 'org-rotate';
    const before = (await repo.put(org, withSecret(SECRET, '2026-03-01'), now(0))).integration;
    const rotated = await repo.rotateSecret(
      org,
      { clientSecret: SECRET_2, expiresAt: '2027-03-01T00:00:00.000Z' },
      now(5),
    );
    expect(rotated.previous).toEqual(before);
    const after = rotated.integration;
    expect(omit(after, 'secret', 'updatedAt', 'revision')).toEqual(
      omit(before, 'secret', 'updatedAt', 'revision'),
    );
    expect(after.revision).toBe(before.revision + 1);
    expect(after.updatedAt).toBe(now(5).toISOString());
    expect(after.secret).toEqual({
      sealed: expect.stringMatching(/^v2\./),
      hint: SECRET_2.slice(-3),
      expiresAt: '2027-03-01T00:00:00.000Z',
      updatedAt: now(5).toISOString(),
    });
    expect(after.secret?.sealed).not.toBe(before.secret?.sealed);
    expect(await repo.get(org)).toEqual(after);
    expect(repo.revealSecret(after)).toBe(SECRET_2);
    expect(await indexedExpiry(org)).toBe(Date.parse('2027-03-01T00:00:00Z'));
  });

  it('rotating a draft without a secret adds one and keeps the rest', async () => {
    const org = 'org-rotate-draft';
    const before = (await repo.put(org, input(), now(0))).integration;
    const { integration: after } = await repo.rotateSecret(
      org,
      { clientSecret: SECRET, expiresAt: '2027-03-01T00:00:00.000Z' },
      now(1),
    );
    expect(omit(after, 'secret', 'updatedAt', 'revision')).toEqual(
      omit(before, 'secret', 'updatedAt', 'revision'),
    );
    expect(repo.revealSecret(after)).toBe(SECRET);
  });

  it('refuses to rotate when there is no integration, writing nothing', async () => {
    const org = 'org-rotate-missing';
    await expect(
      repo.rotateSecret(org, { clientSecret: SECRET, expiresAt: '2027-03-01T00:00:00.000Z' }),
    ).rejects.toBeInstanceOf(IntegrationNotFoundError);
    expect(await repo.get(org)).toBeNull();
    expect(await indexedExpiry(org)).toBeNull();
    expect(await repo.listOrgIds()).not.toContain(org);
  });
});

describe('IntegrationRepository secrets', () => {
  it('revealSecret refuses a sealed secret copied from another org', async () => {
    await repo.put('org-victim', withSecret(SECRET), now(0));
    const mine = (await repo.put('org-thief', withSecret(SECRET_2), now(0))).integration;
    const victim = (await repo.get('org-victim')) as StoredIntegration;
    const forged: StoredIntegration = {
      ...mine,
      secret: {
        ...(mine.secret as NonNullable<StoredIntegration['secret']>),
        sealed: victim.secret?.sealed as string,
      },
    };
    await r.redis.set(orgKeys(prefix, 'org-thief').integration, JSON.stringify(forged));
    const read = (await repo.get('org-thief')) as StoredIntegration;
    expect(() => repo.revealSecret(read)).toThrow(SecretDecryptionError);
  });

  it('revealSecret needs the same encryption key', async () => {
    const org = 'org-other-key';
    const { integration } = await repo.put(org, withSecret(SECRET), now(0));
    const otherKey = new IntegrationRepository(
      r.redis,
      prefix,
      new SecretBox(randomBytes(32).toString('base64')),
    );
    expect(() => otherKey.revealSecret(integration)).toThrow(SecretDecryptionError);
  });
});

describe('IntegrationRepository concurrency', () => {
  it('concurrent puts never lose the secret', async () => {
    const connections: RedisClient[] = Array.from({ length: 4 }, () => r.connect());
    const repos = connections.map((c) => new IntegrationRepository(c, prefix, box));
    for (let round = 0; round < 5; round++) {
      const org = `org-concurrent-${round}`;
      await repo.put(org, input(), now(0)); // a draft, no secret yet
      const writers = Array.from({ length: 7 }, (_, i) => {
        const target = repos[i % repos.length] as IntegrationRepository;
        // One writer (a different one each round) sets the secret; the others
        // save other settings without it.
        return i === round
          ? target.put(org, withSecret(SECRET, '2026-09-01'), now(1))
          : target.put(org, input({ groupIds: [i % 2 ? GROUP_1 : GROUP_2] }), now(1));
      });
      const results = await Promise.all(writers);
      const stored = (await repo.get(org)) as StoredIntegration;
      expect(stored.revision).toBe(1 + writers.length);
      // Every write landed on its own revision.
      expect(new Set(results.map((x) => x.integration.revision)).size).toBe(writers.length);
      expect(stored.secret?.hint).toBe(SECRET.slice(-3));
      expect(repo.revealSecret(stored)).toBe(SECRET);
      expect(await indexedExpiry(org)).toBe(Date.parse('2026-09-01T00:00:00Z'));
    }
    await Promise.all(connections.map((c) => c.quit()));
  });

  it('the expiry index ends on the latest write even when index updates land out of order', async () => {
    // Two API processes save the same org: A writes revision 2, then B writes
    // revision 3 and updates the index; A's index update (delayed, as a slow
    // network would) lands last. The index must still show revision 3's expiry.
    const org = 'org-index-race';
    const slow = r.connect();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let held = 0;
    // A's write of the expiry index is held back.
    const zadd = slow.zadd.bind(slow) as (...args: unknown[]) => Promise<unknown>;
    slow.zadd = (async (...args: unknown[]) => {
      held++;
      await gate;
      return zadd(...args);
    }) as typeof slow.zadd;
    const repoA = new IntegrationRepository(slow, prefix, box);

    await repo.put(org, withSecret(SECRET, '2026-06-01'), now(0));
    const a = repoA.put(org, input({ clientSecretExpiresAt: '2026-07-01' }), now(1));
    await waitFor(() => held === 1, { description: "A's index update to be held" });
    const b = await repo.put(org, input({ clientSecretExpiresAt: '2026-08-01' }), now(2));
    expect(b.integration.revision).toBe(3);
    expect(await indexedExpiry(org)).toBe(Date.parse('2026-08-01T00:00:00Z'));
    release();
    const aResult = await a;
    expect(aResult.integration.revision).toBe(2);

    const stored = (await repo.get(org)) as StoredIntegration;
    expect(stored.secret?.expiresAt).toBe('2026-08-01T00:00:00.000Z');
    expect(await indexedExpiry(org)).toBe(Date.parse('2026-08-01T00:00:00Z'));
  });
});

describe('IntegrationRepository secret-expiry index', () => {
  it('follows puts and rotations, soonest first, inclusive of the bound', async () => {
    const p = `${prefix}-expiry-index`; // an index of its own
    const own = new IntegrationRepository(r.redis, p, box);
    const until = (iso: string) => new Date(iso);

    await own.put('org-a', withSecret(SECRET, '2026-03-10'), now(0));
    await own.put('org-b', withSecret(SECRET, '2026-02-01'), now(0));
    await own.put('org-c', withSecret(SECRET, '2027-01-01'), now(0));
    await own.put('org-d', input(), now(0)); // no secret: never listed

    expect(await own.orgsWithSecretExpiringBefore(until('2026-12-31T00:00:00Z'))).toEqual([
      { orgId: 'org-b', expiresAt: new Date('2026-02-01T00:00:00Z') },
      { orgId: 'org-a', expiresAt: new Date('2026-03-10T00:00:00Z') },
    ]);
    // Inclusive: an expiry exactly at the bound is listed.
    expect(
      (await own.orgsWithSecretExpiringBefore(until('2026-02-01T00:00:00Z'))).map((x) => x.orgId),
    ).toEqual(['org-b']);
    expect(await own.orgsWithSecretExpiringBefore(until('2026-01-31T23:59:59.999Z'))).toEqual([]);

    // Correcting the expiry moves the org.
    await own.put('org-b', input({ clientSecretExpiresAt: '2026-04-01' }), now(1));
    // Rotating moves it again.
    await own.rotateSecret(
      'org-a',
      { clientSecret: SECRET_2, expiresAt: '2028-01-01T00:00:00.000Z' },
      now(1),
    );
    // A plain put keeps the entry.
    await own.put('org-c', input({ groupIds: [GROUP_2] }), now(1));

    expect(await own.orgsWithSecretExpiringBefore(until('2027-12-31T00:00:00Z'))).toEqual([
      { orgId: 'org-b', expiresAt: new Date('2026-04-01T00:00:00Z') },
      { orgId: 'org-c', expiresAt: new Date('2027-01-01T00:00:00Z') },
    ]);
    expect(
      (await own.orgsWithSecretExpiringBefore(until('2030-01-01T00:00:00Z'))).map((x) => x.orgId),
    ).toEqual(['org-b', 'org-c', 'org-a']);
    expect((await own.listOrgIds()).sort()).toEqual(['org-a', 'org-b', 'org-c', 'org-d']);
  });

  it('pages the orgs with an integration by org ID', async () => {
    const own = new IntegrationRepository(r.redis, `${prefix}-paged`, box);
    for (const org of ['org-c', 'org-a', 'org-e', 'org-b', 'org-d']) {
      await own.put(org, input(), now(0));
    }
    const first = await own.listOrgIdsPage({ limit: 2 });
    expect(first).toEqual({ orgIds: ['org-a', 'org-b'], more: true });
    // An org added before the cursor does not shift the next page.
    await own.put('org-aa', input(), now(1));
    const second = await own.listOrgIdsPage({ limit: 2, after: 'org-b' });
    expect(second).toEqual({ orgIds: ['org-c', 'org-d'], more: true });
    expect(await own.listOrgIdsPage({ limit: 2, after: 'org-d' })).toEqual({
      orgIds: ['org-e'],
      more: false,
    });
    expect(await own.listOrgIdsPage({ limit: 2, after: 'org-e' })).toEqual({
      orgIds: [],
      more: false,
    });
    expect(await own.listOrgIdsPage({ limit: 10, after: 'org-a' })).toEqual({
      orgIds: ['org-aa', 'org-b', 'org-c', 'org-d', 'org-e'],
      more: false,
    });
  });
});
