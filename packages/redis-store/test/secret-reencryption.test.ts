import { createCipheriv, randomBytes } from 'node:crypto';
import { integrationSettingsInputSchema } from '@pinnacle/domain';
import { type RedisFixture, test } from '@pinnacle/testing/fixtures';
import { describe, expect, it } from 'vitest';
import { IntegrationRepository, type StoredIntegration } from '../src/integration-repository.js';
import { orgKeys } from '../src/keys.js';
import { SecretBox } from '../src/secret-box.js';
import {
  clientSecretKind,
  type ReencryptionFailure,
  reencryptSecrets,
  type SealedSecretKind,
} from '../src/secret-reencryption.js';
import { dataPrefix } from '../src/stores.js';

let r: RedisFixture;
const key = () => randomBytes(32).toString('base64');
const OLD = key();
const NEW = key();
const STRAY = key();
const secretOf = (orgId: string) => `Sx8Q~secret-of-${orgId}-0123456789`;

function settings(orgId: string) {
  return integrationSettingsInputSchema.parse({
    tenantId: '11111111-2222-3333-4444-555555555555',
    clientId: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
    clientSecret: secretOf(orgId),
    clientSecretExpiresAt: '2030-01-01T00:00:00Z',
    groupIds: ['00000000-0000-0000-0000-000000000001'],
  });
}

/** Sealed as releases before key IDs did: `v1.<iv>.<tag>.<ct>`. */
function legacySeal(base64Key: string, plaintext: string, orgId: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(base64Key, 'base64'), iv);
  cipher.setAAD(Buffer.from(orgId, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', ...[iv, cipher.getAuthTag(), ct].map((p) => p.toString('base64url'))].join('.');
}

test.beforeAll(async ({ redis }) => {
  r = redis;
});

describe('reencryptSecrets', () => {
  it('re-seals every secret with the current key, counts each outcome, and names failures by org only', async () => {
    const prefix = `${dataPrefix(r.prefix)}-a`;
    const before = new IntegrationRepository(r.redis, prefix, new SecretBox(OLD));
    // Under the old key: 30 orgs; one sealed the pre-key-ID way; one under a key nobody has.
    const orgs = Array.from({ length: 30 }, (_, i) => `org-${String(i).padStart(2, '0')}`);
    for (const orgId of orgs) await before.put(orgId, settings(orgId));
    const legacy = await before.get('org-00');
    await r.redis.set(
      orgKeys(prefix, 'org-00').integration,
      JSON.stringify({
        ...legacy,
        secret: { ...legacy?.secret, sealed: legacySeal(OLD, secretOf('org-00'), 'org-00') },
      }),
    );
    await new IntegrationRepository(r.redis, prefix, new SecretBox(STRAY)).put(
      'org-lost',
      settings('org-lost'),
    );
    // A draft without a secret: nothing to do.
    await before.put('org-draft', integrationSettingsInputSchema.parse({}));

    const repo = new IntegrationRepository(
      r.redis,
      prefix,
      new SecretBox({ current: NEW, previous: [OLD] }),
    );
    const revisions = new Map<string, number>();
    for (const orgId of orgs) revisions.set(orgId, (await repo.get(orgId))?.revision ?? 0);
    const seen: ReencryptionFailure[] = [];
    const box = new SecretBox(NEW);
    const report = await reencryptSecrets({
      orgIdBatches: repo.orgIdBatches(7),
      kinds: [clientSecretKind(repo)],
      currentKeyId: box.keyring.current.id,
      onFailure: (f) => seen.push(f),
    });
    expect(report).toEqual({
      currentKeyId: box.keyring.current.id,
      orgs: 32,
      reencrypted: 30,
      alreadyCurrent: 0,
      failed: 1,
      byKind: { 'client-secret': { reencrypted: 30, alreadyCurrent: 0, failed: 1 } },
      failures: [{ orgId: 'org-lost', kind: 'client-secret', reason: 'unknown_key' }],
    });
    expect(seen).toEqual(report.failures);
    // No secret or key in the report.
    const text = JSON.stringify(report);
    for (const orgId of orgs) expect(text).not.toContain(secretOf(orgId));
    for (const k of [OLD, NEW, STRAY]) expect(text).not.toContain(k);

    // The new key alone opens every re-sealed secret; only the revision and the sealed value changed.
    const newOnly = new IntegrationRepository(r.redis, prefix, box);
    for (const orgId of orgs) {
      const stored = (await newOnly.get(orgId)) as StoredIntegration;
      expect(stored.secret?.sealed.startsWith(`v2.${box.keyring.current.id}.`)).toBe(true);
      expect(newOnly.revealSecret(stored)).toBe(secretOf(orgId));
      expect(stored.revision).toBe((revisions.get(orgId) ?? 0) + 1);
    }

    // Running it again changes nothing and says everything is current.
    const again = await reencryptSecrets({
      orgIdBatches: repo.orgIdBatches(),
      kinds: [clientSecretKind(repo)],
      currentKeyId: box.keyring.current.id,
    });
    expect(again).toMatchObject({ orgs: 32, reencrypted: 0, alreadyCurrent: 30, failed: 1 });
  });

  it('takes further kinds of sealed secrets (certificate keys) without changing', async () => {
    const prefix = `${dataPrefix(r.prefix)}-b`;
    const repo = new IntegrationRepository(r.redis, prefix, new SecretBox(NEW));
    await repo.put('org-x', settings('org-x'));
    await repo.put('org-y', settings('org-y'));
    const certificates: SealedSecretKind = {
      name: 'certificate-private-key',
      async reseal(orgId) {
        if (orgId === 'org-y') throw new Error('a record this version cannot read');
        return [
          { outcome: 'reencrypted' },
          { outcome: 'failed', reason: 'unauthenticated', item: 'cert-2' },
        ];
      },
    };
    const report = await reencryptSecrets({
      orgIdBatches: repo.orgIdBatches(),
      kinds: [clientSecretKind(repo), certificates],
      currentKeyId: 'k',
    });
    expect(report.byKind).toEqual({
      'client-secret': { reencrypted: 0, alreadyCurrent: 2, failed: 0 },
      'certificate-private-key': { reencrypted: 1, alreadyCurrent: 0, failed: 2 },
    });
    expect(report.failures).toEqual(
      expect.arrayContaining([
        {
          orgId: 'org-x',
          kind: 'certificate-private-key',
          reason: 'unauthenticated',
          item: 'cert-2',
        },
        { orgId: 'org-y', kind: 'certificate-private-key', reason: 'unreadable' },
      ]),
    );
    expect(report).toMatchObject({ reencrypted: 1, alreadyCurrent: 2, failed: 2 });
  });

  it('a save racing the re-encryption is kept (and sealed with the current key)', async () => {
    const prefix = `${dataPrefix(r.prefix)}-c`;
    const old = new IntegrationRepository(r.redis, prefix, new SecretBox(OLD));
    await old.put('org-race', settings('org-race'));
    const rotated = new IntegrationRepository(
      r.redis,
      prefix,
      new SecretBox({ current: NEW, previous: [OLD] }),
    );
    const fresh = 'Nw9Q~a-secret-saved-meanwhile-0001';
    const [outcome] = await Promise.all([
      rotated.resealSecret('org-race'),
      rotated.put('org-race', { ...settings('org-race'), clientSecret: fresh }),
    ]);
    expect(['reencrypted', 'current']).toContain(outcome);
    const stored = (await rotated.get('org-race')) as StoredIntegration;
    expect(
      new IntegrationRepository(r.redis, prefix, new SecretBox(NEW)).revealSecret(stored),
    ).toBe(fresh);
  });
});
