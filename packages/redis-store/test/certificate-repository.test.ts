import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { integrationSettingsInputSchema, MAX_UNRETIRED_CERTIFICATES } from '@pinnacle/domain';
import { type RedisFixture, test } from '@pinnacle/testing/fixtures';
import { describe, expect, it } from 'vitest';
import {
  CertificateRepository,
  certificateKeyContext,
  type NewCertificate,
} from '../src/certificate-repository.js';
import { IntegrationRepository } from '../src/integration-repository.js';
import { globalKeys, orgKeys } from '../src/keys.js';
import { SecretBox, SecretDecryptionError } from '../src/secret-box.js';
import {
  certificateKeyKind,
  clientSecretKind,
  reencryptSecrets,
} from '../src/secret-reencryption.js';
import { dataPrefix } from '../src/stores.js';
import { OrgOffboardedError } from '../src/write-fence.js';

let r: RedisFixture;
let prefix: string;
const KEY = randomBytes(32).toString('base64');
const box = new SecretBox(KEY);
let certificates: CertificateRepository;
let integrations: IntegrationRepository;
const DAY = 86_400_000;
const T0 = new Date('2026-05-01T10:00:00Z');
const at = (days: number) => new Date(T0.getTime() + days * DAY);

test.beforeAll(async ({ redis }) => {
  r = redis;
  prefix = dataPrefix(r.prefix);
  certificates = new CertificateRepository(r.redis, prefix, box);
  integrations = new IntegrationRepository(r.redis, prefix, box);
});

/** A key pair and a stand-in certificate: the repository stores, it does not parse. */
function made(options: { validityDays?: number; from?: Date } = {}): NewCertificate {
  const from = options.from ?? T0;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const thumbprint = randomBytes(20).toString('hex').toUpperCase();
  return {
    id: randomUUID(),
    subject: 'CN=Pinnacle Series Entra ID sync (test), O=Pinnacle Series',
    thumbprint,
    thumbprintSha256: randomBytes(32).toString('hex').toUpperCase(),
    notBefore: from,
    notAfter: new Date(from.getTime() + (options.validityDays ?? 365) * DAY),
    certificatePem: `-----BEGIN CERTIFICATE-----\n${thumbprint}\n-----END CERTIFICATE-----\n`,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

const org = () => `org-${randomUUID().slice(0, 8)}`;

async function onCertificates(orgId: string, method: 'certificate' | 'client_secret') {
  await integrations.put(
    orgId,
    integrationSettingsInputSchema.parse({
      tenantId: '11111111-2222-3333-4444-555555555555',
      clientId: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
      groupIds: ['00000000-0000-0000-0000-000000000001'],
      authMethod: method,
    }),
  );
}

async function create(orgId: string, cert: NewCertificate, now: Date) {
  // Certificates belong to an integration: the org gets one (on its client secret) first.
  if (!(await integrations.exists(orgId))) await onCertificates(orgId, 'client_secret');
  const result = await certificates.create(orgId, cert, now);
  if (result.outcome !== 'created') throw new Error(result.outcome);
  return result.certificate;
}

describe('CertificateRepository', () => {
  it('makes no certificate for an org without an integration (offboarded meanwhile)', async () => {
    const orgId = org();
    await expect(certificates.create(orgId, made(), T0)).rejects.toBeInstanceOf(OrgOffboardedError);
    expect((await r.keys()).filter((k) => k.includes(orgId))).toEqual([]);
    expect(await r.redis.zscore(globalKeys(prefix).certificateExpiry, orgId)).toBeNull();
  });

  it('stores a certificate pending, its private key sealed apart, every key under the org tag', async () => {
    const orgId = org();
    const cert = made();
    const stored = await create(orgId, cert, T0);
    expect(stored).toMatchObject({
      id: cert.id,
      orgId,
      status: 'pending',
      thumbprint: cert.thumbprint,
      notAfter: cert.notAfter.toISOString(),
      createdAt: T0.toISOString(),
      activatedAt: null,
      retiredAt: null,
    });
    expect(stored).not.toHaveProperty('privateKeyPem');
    expect(await certificates.list(orgId)).toEqual([stored]);
    expect(await certificates.revealPrivateKey(orgId, cert.id)).toBe(cert.privateKeyPem);

    // Nothing in Redis holds the key in clear; every key of the org is under its hash tag.
    const keyBody = cert.privateKeyPem.split('\n')[1]!;
    const orgKeysFound: string[] = [];
    for (const key of await r.keys()) {
      const type = await r.redis.type(key);
      const value =
        type === 'string'
          ? await r.redis.get(key)
          : type === 'hash'
            ? JSON.stringify(await r.redis.hgetall(key))
            : '';
      expect(value).not.toContain(keyBody);
      expect(value).not.toContain('PRIVATE KEY');
      if (key.includes(orgId)) orgKeysFound.push(key);
    }
    expect(orgKeysFound.sort()).toEqual(
      [
        orgKeys(prefix, orgId).certificateKeys,
        orgKeys(prefix, orgId).certificates,
        orgKeys(prefix, orgId).integration,
      ].sort(),
    );
    for (const key of orgKeysFound) expect(key).toContain(`{o:${orgId}}`);
    // The global expiry index names the org (the one key outside its tag).
    expect(await r.redis.zscore(globalKeys(prefix).certificateExpiry, orgId)).toBe(
      String(cert.notAfter.getTime()),
    );
  });

  it('seals each key for its org and certificate: copied elsewhere it does not open', async () => {
    const orgId = org();
    const cert = made();
    await create(orgId, cert, T0);
    const sealed = (await r.redis.hget(orgKeys(prefix, orgId).certificateKeys, cert.id)) ?? '';
    expect(() => box.decrypt(sealed, certificateKeyContext('org-other', cert.id))).toThrow(
      SecretDecryptionError,
    );
    expect(() => box.decrypt(sealed, orgId)).toThrow(SecretDecryptionError);
    const otherId = randomUUID();
    await r.redis.hset(orgKeys(prefix, orgId).certificateKeys, otherId, sealed);
    await expect(certificates.revealPrivateKey(orgId, otherId)).rejects.toThrow(
      SecretDecryptionError,
    );
  });

  it(`refuses more than ${MAX_UNRETIRED_CERTIFICATES} certificates that are not retired`, async () => {
    const orgId = org();
    const ids: string[] = [];
    for (let i = 0; i < MAX_UNRETIRED_CERTIFICATES; i++) {
      ids.push((await create(orgId, made(), at(i))).id);
    }
    expect(await certificates.create(orgId, made(), at(9))).toEqual({
      outcome: 'limit_reached',
      limit: MAX_UNRETIRED_CERTIFICATES,
    });
    // Nothing of the refused one was stored.
    expect(await r.redis.hlen(orgKeys(prefix, orgId).certificateKeys)).toBe(
      MAX_UNRETIRED_CERTIFICATES,
    );
    expect((await certificates.retire(orgId, ids[0]!, at(10))).outcome).toBe('retired');
    expect((await certificates.create(orgId, made(), at(11))).outcome).toBe('created');
    // Newest first.
    expect((await certificates.list(orgId))[0]?.createdAt).toBe(at(11).toISOString());
  });

  it('an acceptance activates the certificate and retires older ones, deleting their keys; once', async () => {
    const orgId = org();
    const expired = await create(orgId, made({ from: at(-400), validityDays: 30 }), at(-400));
    const old = await create(orgId, made({ from: at(-300) }), at(-300));
    const first = await certificates.markAccepted(orgId, old.id, at(-299));
    expect(first.activated).toBe(true);
    expect(first.retired.map((c) => c.id)).toEqual([expired.id]);
    const fresh = await create(orgId, made(), at(0));

    // Entra accepts the old one while the new one is not uploaded: nothing newer retires.
    const fallback = await certificates.markAccepted(orgId, old.id, at(1));
    expect(fallback).toMatchObject({ activated: false, retired: [] });

    const accepted = await certificates.markAccepted(orgId, fresh.id, at(2));
    expect(accepted.activated).toBe(true);
    expect(accepted.accepted).toMatchObject({ status: 'active', activatedAt: at(2).toISOString() });
    expect(accepted.retired.map((c) => c.id)).toEqual([old.id]);
    expect(accepted.retired.every((c) => c.retiredReason === 'rotated')).toBe(true);
    expect(await certificates.revealPrivateKey(orgId, old.id)).toBeNull();
    expect(await certificates.revealPrivateKey(orgId, fresh.id)).not.toBeNull();
    // The index follows the new certificate.
    expect(await r.redis.zscore(globalKeys(prefix).certificateExpiry, orgId)).toBe(
      String(Date.parse(fresh.notAfter)),
    );
    // Every later sync says the same: nothing changes.
    expect(await certificates.markAccepted(orgId, fresh.id, at(3))).toMatchObject({
      activated: false,
      retired: [],
    });
    const statuses = Object.fromEntries(
      (await certificates.list(orgId)).map((c) => [c.id, c.status]),
    );
    expect(statuses).toEqual({
      [fresh.id]: 'active',
      [old.id]: 'retired',
      [expired.id]: 'retired',
    });
  });

  it('refuses to retire the last usable certificate of an org on certificates, and only then', async () => {
    const orgId = org();
    await onCertificates(orgId, 'certificate');
    const only = await create(orgId, made(), T0);
    const refused = await certificates.retire(orgId, only.id, at(1));
    expect(refused).toMatchObject({ outcome: 'last_usable', certificate: { id: only.id } });
    expect(await certificates.revealPrivateKey(orgId, only.id)).not.toBeNull();

    // An expired one does not count as usable.
    const stale = await create(orgId, made({ from: at(-100), validityDays: 30 }), at(-100));
    expect((await certificates.retire(orgId, only.id, at(1))).outcome).toBe('last_usable');
    expect((await certificates.retire(orgId, stale.id, at(1))).outcome).toBe('retired');

    // With another usable one, or on the client secret, it may go.
    const second = await create(orgId, made(), at(2));
    expect((await certificates.retire(orgId, only.id, at(3))).outcome).toBe('retired');
    expect((await certificates.retire(orgId, only.id, at(3))).outcome).toBe('already_retired');
    await onCertificates(orgId, 'client_secret');
    expect((await certificates.retire(orgId, second.id, at(4))).outcome).toBe('retired');
    expect(await certificates.retire(orgId, randomUUID(), at(4))).toEqual({ outcome: 'not_found' });
    // None left: the org leaves the expiry index.
    expect(await r.redis.zscore(globalKeys(prefix).certificateExpiry, orgId)).toBeNull();
    expect(await r.redis.hlen(orgKeys(prefix, orgId).certificateKeys)).toBe(0);
  });

  it('two admins retiring the last two certificates at once leave one', async () => {
    const orgId = org();
    await onCertificates(orgId, 'certificate');
    const a = await create(orgId, made(), T0);
    const b = await create(orgId, made(), at(1));
    const outcomes = await Promise.all([
      certificates.retire(orgId, a.id, at(2)),
      certificates.retire(orgId, b.id, at(2)),
    ]);
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(['last_usable', 'retired']);
    const left = (await certificates.list(orgId)).filter((c) => c.status !== 'retired');
    expect(left).toHaveLength(1);
  });

  it('an acceptance racing an admin retire loses nothing', async () => {
    const orgId = org();
    const old = await create(orgId, made({ from: at(-10) }), at(-10));
    const fresh = await create(orgId, made(), T0);
    const extra = await create(orgId, made(), at(1));
    await Promise.all([
      certificates.markAccepted(orgId, fresh.id, at(2)),
      certificates.retire(orgId, extra.id, at(2)),
    ]);
    const statuses = Object.fromEntries(
      (await certificates.list(orgId)).map((c) => [c.id, c.status]),
    );
    expect(statuses).toEqual({
      [old.id]: 'retired',
      [fresh.id]: 'active',
      [extra.id]: 'retired',
    });
  });

  it('lists the orgs whose current certificate expires before a date', async () => {
    const soon = org();
    const later = org();
    await create(soon, made({ validityDays: 20 }), T0);
    await create(later, made({ validityDays: 300 }), T0);
    const found = await certificates.orgsWithCertificateExpiringBefore(at(30));
    expect(found.map((f) => f.orgId)).toContain(soon);
    expect(found.map((f) => f.orgId)).not.toContain(later);
    expect(found.find((f) => f.orgId === soon)?.notAfter.toISOString()).toBe(at(20).toISOString());
  });
});

describe('certificate keys in the re-encryption', () => {
  it('re-seals every stored key with the current key, and names one no key opens', async () => {
    const p = `${prefix}-reseal`;
    const OLD = randomBytes(32).toString('base64');
    const NEW = randomBytes(32).toString('base64');
    const before = new CertificateRepository(r.redis, p, new SecretBox(OLD));
    // Certificates belong to an integration (without a secret here: only the keys count).
    const settings = new IntegrationRepository(r.redis, p, new SecretBox(OLD));
    for (const orgId of ['org-a', 'org-b']) {
      await settings.put(
        orgId,
        integrationSettingsInputSchema.parse({
          tenantId: '11111111-2222-3333-4444-555555555555',
          clientId: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
          groupIds: ['00000000-0000-0000-0000-000000000001'],
          authMethod: 'certificate',
        }),
      );
    }
    const cert = made();
    const gone = made();
    await before.create('org-a', cert, T0);
    await before.create('org-a', gone, at(1));
    // A key sealed under a key nobody has any more.
    await new CertificateRepository(
      r.redis,
      p,
      new SecretBox(randomBytes(32).toString('base64')),
    ).create('org-b', made(), T0);
    const rotatedBox = new SecretBox({ current: NEW, previous: [OLD] });
    const rotated = new CertificateRepository(r.redis, p, rotatedBox);
    const rotatedIntegrations = new IntegrationRepository(r.redis, p, rotatedBox);
    const report = await reencryptSecrets({
      orgIdBatches: (async function* () {
        yield ['org-a', 'org-b'];
      })(),
      kinds: [clientSecretKind(rotatedIntegrations), certificateKeyKind(rotated)],
      currentKeyId: rotatedBox.keyring.current.id,
    });
    expect(report.byKind['certificate-key']).toEqual({
      reencrypted: 2,
      alreadyCurrent: 0,
      failed: 1,
    });
    expect(report.failures).toEqual([
      expect.objectContaining({ orgId: 'org-b', kind: 'certificate-key', reason: 'unknown_key' }),
    ]);
    expect(report.failures[0]?.item).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.stringify(report)).not.toContain('PRIVATE KEY');
    // The new key alone opens them now; a second run finds them current.
    const newOnly = new CertificateRepository(r.redis, p, new SecretBox(NEW));
    expect(await newOnly.revealPrivateKey('org-a', cert.id)).toBe(cert.privateKeyPem);
    expect(await newOnly.revealPrivateKey('org-a', gone.id)).toBe(gone.privateKeyPem);
    const again = await reencryptSecrets({
      orgIdBatches: (async function* () {
        yield ['org-a'];
      })(),
      kinds: [certificateKeyKind(rotated)],
      currentKeyId: rotatedBox.keyring.current.id,
    });
    expect(again.byKind['certificate-key']).toEqual({
      reencrypted: 0,
      alreadyCurrent: 2,
      failed: 0,
    });
  });
});
