/**
 * The certificate routes: made here, listed, downloaded as DER, retired;
 * the private key never in a response or a log line.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { certificateViewSchema, MAX_UNRETIRED_CERTIFICATES } from '@pinnacle/domain';
import { createStores } from '@pinnacle/redis-store';
import type { RedisFixture } from '@pinnacle/testing/fixtures';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { test } from './fixtures.js';
import { ENCRYPTION_KEY, settingsBody, signToken, type TestApi } from './helpers.js';

let r: RedisFixture;
let api: TestApi;
let token: string;
const DAY = 86_400_000;

const listSchema = z.object({
  items: z.array(certificateViewSchema),
  nextCursor: z.null(),
});

test.beforeAll(async ({ redis, api: started }) => {
  r = redis;
  api = started;
  token = await signToken({ org: '*' });
});

const base = (orgId: string) => `/api/v1/orgs/${orgId}/integration/certificates`;

async function integration(orgId: string, extra: Record<string, unknown> = {}) {
  const res = await api.request('PUT', `/api/v1/orgs/${orgId}/integration`, {
    token,
    body: settingsBody(extra),
  });
  expect([200, 201]).toContain(res.status);
}

async function create(orgId: string, body?: unknown) {
  const res = await api.request('POST', base(orgId), { token, ...(body ? { body } : {}) });
  expect(res.status, res.text).toBe(201);
  return certificateViewSchema.parse(res.json);
}

describe('POST .../integration/certificates', () => {
  it('makes a self-signed RSA 2048 certificate naming the platform and the org, valid 365 days', async () => {
    await integration('org-cert');
    const before = Date.now();
    const res = await api.request('POST', base('org-cert'), { token });
    expect(res.status).toBe(201);
    const cert = certificateViewSchema.parse(res.json);
    expect(Object.keys(res.json as object).sort()).toEqual(
      [
        'activatedAt',
        'certificatePem',
        'createdAt',
        'id',
        'notAfter',
        'notBefore',
        'retiredAt',
        'status',
        'subject',
        'thumbprint',
        'thumbprintSha256',
      ].sort(),
    );
    expect(cert.status).toBe('pending');
    expect(cert.subject).toBe('CN=Pinnacle Series Entra ID sync (org-cert), O=Pinnacle Series');
    const x509 = new X509Certificate(cert.certificatePem);
    expect(x509.subject).toContain('CN=Pinnacle Series Entra ID sync (org-cert)');
    expect(x509.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(x509.verify(x509.publicKey)).toBe(true);
    // As the Entra admin center shows it.
    expect(cert.thumbprint).toBe(x509.fingerprint.replace(/:/g, ''));
    expect(cert.thumbprintSha256).toBe(x509.fingerprint256.replace(/:/g, ''));
    const days = (Date.parse(cert.notAfter) - before) / DAY;
    expect(days).toBeGreaterThan(364.99);
    expect(days).toBeLessThan(365.01);
    expect(res.text).not.toMatch(/PRIVATE KEY/);
  });

  it('takes validityDays from 30 to 730, and refuses anything else naming the field', async () => {
    await integration('org-validity');
    for (const days of [30, 730]) {
      const cert = await create('org-validity', { validityDays: days });
      const span = (Date.parse(cert.notAfter) - Date.parse(cert.createdAt)) / DAY;
      expect(Math.round(span)).toBe(days);
    }
    for (const [body, path] of [
      [{ validityDays: 29 }, 'validityDays'],
      [{ validityDays: 731 }, 'validityDays'],
      [{ validityDays: '365' }, 'validityDays'],
      [{ validityDays: 100.5 }, 'validityDays'],
      [{ keyLength: 4096 }, 'keyLength'],
    ] as const) {
      const res = await api.request('POST', base('org-validity'), { token, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((res.json as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual([
        path,
      ]);
    }
    const list = listSchema.parse((await api.request('GET', base('org-validity'), { token })).json);
    expect(list.items).toHaveLength(2);
  });

  it('answers 404 without an integration, storing nothing', async () => {
    const keys = (await r.keys()).sort();
    expect((await api.request('POST', base('org-none'), { token })).status).toBe(404);
    expect((await api.request('GET', base('org-none'), { token })).status).toBe(404);
    expect((await r.keys()).sort()).toEqual(keys);
  });

  it(`answers 409 past ${MAX_UNRETIRED_CERTIFICATES} certificates that are not retired`, async () => {
    await integration('org-many');
    const made = [];
    for (let i = 0; i < MAX_UNRETIRED_CERTIFICATES; i++) made.push(await create('org-many'));
    const refused = await api.request('POST', base('org-many'), { token });
    expect(refused.status).toBe(409);
    expect(refused.json).toMatchObject({
      error: 'conflict',
      message: expect.stringMatching(/retire one/),
    });
    await api.request('DELETE', `${base('org-many')}/${made[0]!.id}`, { token });
    expect((await api.request('POST', base('org-many'), { token })).status).toBe(201);
  });
});

describe('GET .../certificates and .../certificate.cer', () => {
  it('lists newest first and downloads DER, as Entra takes it', async () => {
    await integration('org-dl');
    const first = await create('org-dl');
    const second = await create('org-dl');
    const list = listSchema.parse((await api.request('GET', base('org-dl'), { token })).json);
    expect(list.items.map((c) => c.id)).toEqual([second.id, first.id]);

    const res = await fetch(`${api.url}${base('org-dl')}/${first.id}/certificate.cer`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pkix-cert');
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename=pinnacle-entra-sync-org-dl-${first.thumbprint.slice(0, 8).toLowerCase()}.cer`,
    );
    const der = Buffer.from(await res.arrayBuffer());
    expect(der[0]).toBe(0x30); // an ASN.1 SEQUENCE: DER, not PEM text
    expect(der.equals(new X509Certificate(first.certificatePem).raw)).toBe(true);
    expect(createHash('sha1').update(der).digest('hex').toUpperCase()).toBe(first.thumbprint);
  });

  it('answers 404 for a certificate the org does not have, 400 for an ID that is none', async () => {
    await integration('org-dl2');
    const other = await create('org-dl');
    expect(
      (await api.request('GET', `${base('org-dl2')}/${other.id}/certificate.cer`, { token }))
        .status,
    ).toBe(404);
    const bad = await api.request('GET', `${base('org-dl2')}/not-a-guid/certificate.cer`, {
      token,
    });
    expect(bad.status).toBe(400);
    expect((bad.json as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual(['id']);
  });
});

describe('DELETE .../certificates/{id}', () => {
  it('retires one and deletes its key; refuses the last usable one while the org is on certificates', async () => {
    await integration('org-retire', { authMethod: 'certificate' });
    const only = await create('org-retire');
    const refused = await api.request('DELETE', `${base('org-retire')}/${only.id}`, { token });
    expect(refused.status).toBe(409);
    expect(refused.json).toMatchObject({
      error: 'conflict',
      message: expect.stringContaining('last usable certificate'),
    });

    const next = await create('org-retire');
    const retired = await api.request('DELETE', `${base('org-retire')}/${only.id}`, { token });
    expect(retired.status).toBe(200);
    expect(certificateViewSchema.parse(retired.json)).toMatchObject({
      id: only.id,
      status: 'retired',
      retiredAt: expect.any(String),
    });
    const keys = await r.redis.hkeys(
      (await r.keys()).find((k) => k.endsWith('{o:org-retire}:certificate-keys'))!,
    );
    expect(keys).toEqual([next.id]);

    // Switching the org back to the secret lets the last one go too.
    await integration('org-retire', { authMethod: 'client_secret' });
    expect(
      (await api.request('DELETE', `${base('org-retire')}/${next.id}`, { token })).status,
    ).toBe(200);
    expect(
      (
        await api.request(
          'DELETE',
          `${base('org-retire')}/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`,
          { token },
        )
      ).status,
    ).toBe(404);
  });
});

describe('settings and overview', () => {
  it('switching to certificates needs no secret; the overview shows the method and the certificate', async () => {
    const res = await api.request('PUT', '/api/v1/orgs/org-switch/integration', {
      token,
      body: settingsBody({
        clientSecret: undefined,
        clientSecretExpiresAt: undefined,
        authMethod: 'certificate',
      }),
    });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({
      authMethod: 'certificate',
      clientSecret: { configured: false },
    });
    // A replace that leaves authMethod out keeps it.
    const kept = await api.request('PUT', '/api/v1/orgs/org-switch/integration', {
      token,
      body: settingsBody({ clientSecret: undefined, clientSecretExpiresAt: undefined }),
    });
    expect(kept.json).toMatchObject({ authMethod: 'certificate' });

    let overview = (await api.request('GET', '/api/v1/orgs/org-switch/sync-overview', { token }))
      .json as Record<string, unknown>;
    expect(overview).toMatchObject({ authMethod: 'certificate', certificate: null });
    const cert = await create('org-switch', { validityDays: 45 });
    overview = (await api.request('GET', '/api/v1/orgs/org-switch/sync-overview', { token }))
      .json as Record<string, unknown>;
    expect(overview.certificate).toEqual({
      id: cert.id,
      thumbprint: cert.thumbprint,
      thumbprintSha256: cert.thumbprintSha256,
      status: 'pending',
      notAfter: cert.notAfter,
      daysLeft: 44,
      expired: false,
    });

    const bad = await api.request('PUT', '/api/v1/orgs/org-switch/integration', {
      token,
      body: settingsBody({ authMethod: 'password' }),
    });
    expect(bad.status).toBe(400);
    expect((bad.json as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual([
      'authMethod',
    ]);
  });
});

describe('private keys', () => {
  it('never appear in a response or a log line, and are stored sealed', async () => {
    const all = [...api.bodies, ...api.logs].join('\n');
    expect(api.bodies.length).toBeGreaterThan(20);
    expect(all).not.toContain('PRIVATE KEY');
    // The keys themselves, opened with the service's key: not a line of them anywhere.
    const { certificates } = createStores(r.redis, r.prefix, ENCRYPTION_KEY);
    let scanned = 0;
    for (const orgId of ['org-cert', 'org-validity', 'org-dl', 'org-retire', 'org-switch']) {
      for (const cert of await certificates.list(orgId)) {
        const key = await certificates.revealPrivateKey(orgId, cert.id);
        if (!key) continue;
        for (const line of key
          .split('\n')
          .filter((l) => l.length >= 16 && !l.startsWith('-----'))) {
          expect(all).not.toContain(line);
          scanned++;
        }
      }
    }
    expect(scanned).toBeGreaterThan(100);
    for (const key of await r.keys()) {
      if (!key.endsWith(':certificate-keys')) continue;
      const sealed = Object.values(await r.redis.hgetall(key));
      expect(sealed.length).toBeGreaterThan(0);
      for (const value of sealed) expect(value).toMatch(/^v2\.[A-Za-z0-9_-]+\./);
      expect(JSON.stringify(sealed)).not.toContain('PRIVATE KEY');
    }
  });
});
