/**
 * Syncs that authenticate with certificates, through the real worker role,
 * @azure/identity's ClientCertificateCredential and the simulator's
 * private_key_jwt checks.
 */
import { randomUUID } from 'node:crypto';
import { certificateSubject } from '@pinnacle/domain';
import { createSelfSignedCertificate, type SelfSignedCertificate } from '@pinnacle/entra-graph';
import { type NotificationJob, notificationJobId } from '@pinnacle/queue-contracts';
import type { StoredCertificate } from '@pinnacle/redis-store';
import { test } from '@pinnacle/testing/fixtures';
import { afterAll, describe, expect, it } from 'vitest';
import { type Harness, newOrgId, startHarness } from './support/harness.js';
import { type FixtureTenant, fixtureTenant } from './support/tenants.js';

let h: Harness;
const DAY = 86_400_000;
/** Every private key made here, to scan logs and job payloads for. */
const keys: string[] = [];

test.beforeAll(async ({ redis, simulator }) => {
  h = await startHarness({ redis, simulator }, { SYNC_ATTEMPTS: 2, SYNC_BACKOFF_MS: 50 });
  h.startWorker();
});
afterAll(() => h.close());

/** A tenant whose app has no secret at all: only a certificate can authenticate it. */
function certificateTenant(): FixtureTenant {
  const t = fixtureTenant();
  const [app] = (t.input as { applications: { secrets: unknown[] }[] }).applications;
  app!.secrets = [];
  h.sim.addTenant(t.input);
  return t;
}

async function makeCertificate(
  orgId: string,
  validityDays = 365,
  now = new Date(),
): Promise<SelfSignedCertificate> {
  const made = await createSelfSignedCertificate({
    subject: certificateSubject(orgId),
    validityDays,
    now,
  });
  keys.push(made.privateKeyPem);
  return made;
}

/** As the api's POST .../certificates stores one. */
async function storeCertificate(
  orgId: string,
  made: SelfSignedCertificate,
  createdAt = new Date(),
): Promise<StoredCertificate> {
  const result = await h.stores.certificates.create(
    orgId,
    {
      id: randomUUID(),
      subject: made.subject,
      thumbprint: made.thumbprint,
      thumbprintSha256: made.thumbprintSha256,
      notBefore: made.notBefore,
      notAfter: made.notAfter,
      certificatePem: made.certificatePem,
      privateKeyPem: made.privateKeyPem,
    },
    createdAt,
  );
  if (result.outcome !== 'created') throw new Error(result.outcome);
  return result.certificate;
}

const upload = (t: FixtureTenant, made: SelfSignedCertificate) =>
  h.sim.addCertificate(t.tenantId, t.clientId, { certificatePem: made.certificatePem });

async function configure(orgId: string, t: FixtureTenant, extra: Record<string, unknown> = {}) {
  await h.configure(orgId, {
    tenantId: t.tenantId,
    clientId: t.clientId,
    groupIds: [t.groups.engineering],
    authMethod: 'certificate',
    ...extra,
  });
}

const tokenRequestsOf = (t: FixtureTenant) =>
  h.sim.requests({ kind: 'token' }).filter((r) => r.tenantId === t.tenantId);

describe('syncs on certificates', () => {
  it('syncs with a registered certificate, needing no client secret, and marks it active', async () => {
    const t = certificateTenant();
    const orgId = newOrgId();
    await configure(orgId, t);
    const made = await makeCertificate(orgId);
    const stored = await storeCertificate(orgId, made);
    upload(t, made);

    const run = await h.syncAndWait(orgId);
    expect(run.status).toBe('succeeded');
    expect(run.stats).toMatchObject({ users: 7, tokenRequests: 1 });
    expect(tokenRequestsOf(t).map((r) => r.status)).toEqual([200]);
    const [now] = await h.stores.certificates.list(orgId);
    expect(now).toMatchObject({ id: stored.id, status: 'active' });
    expect(now?.activatedAt).not.toBeNull();
  });

  it('without a certificate: settings_incomplete, the certificate missing (no secret asked for)', async () => {
    const t = certificateTenant();
    const orgId = newOrgId();
    await configure(orgId, t);
    const run = await h.syncAndWait(orgId);
    expect(run.failure).toMatchObject({
      code: 'settings_incomplete',
      details: { missing: ['certificate'] },
    });
    expect(run.failure?.remediation.join(' ')).toContain('Upload certificate');
    expect(tokenRequestsOf(t)).toHaveLength(0);
  });

  it('a certificate not uploaded to the app: certificate_not_registered, naming its thumbprint', async () => {
    const t = certificateTenant();
    const orgId = newOrgId();
    await configure(orgId, t);
    const made = await makeCertificate(orgId);
    await storeCertificate(orgId, made);

    const run = await h.syncAndWait(orgId);
    expect(run.attempts).toBe(1);
    expect(run.failure).toMatchObject({
      code: 'certificate_not_registered',
      category: 'credentials',
      details: { thumbprint: made.thumbprint, errorCodes: [700027], status: 401 },
    });
    expect(run.failure?.remediation[0]).toContain(made.thumbprint);
    expect(run.failure?.remediation.join(' ')).toContain(t.clientId);
    // The certificate stays pending.
    expect((await h.stores.certificates.list(orgId))[0]?.status).toBe('pending');
  });

  it('an expired certificate: certificate_expired, decided without asking Entra', async () => {
    const t = certificateTenant();
    const orgId = newOrgId();
    await configure(orgId, t);
    const longAgo = new Date(Date.now() - 400 * DAY);
    const made = await makeCertificate(orgId, 30, longAgo);
    upload(t, made);
    await storeCertificate(orgId, made, longAgo);

    const run = await h.syncAndWait(orgId);
    expect(run.failure).toMatchObject({
      code: 'certificate_expired',
      details: { thumbprint: made.thumbprint, notAfter: made.notAfter.toISOString() },
    });
    expect(tokenRequestsOf(t)).toHaveLength(0);
  });

  it("ignores the client secret's recorded expiry: the org is not on the secret", async () => {
    const t = certificateTenant();
    const orgId = newOrgId();
    await configure(orgId, t, {
      clientSecret: 'Old8Q~an-expired-secret-value-0000',
      clientSecretExpiresAt: new Date(Date.now() - DAY).toISOString(),
    });
    const made = await makeCertificate(orgId);
    await storeCertificate(orgId, made);
    upload(t, made);
    expect((await h.syncAndWait(orgId)).status).toBe('succeeded');
  });

  it('rotates without a failed run: the old certificate until Entra takes the new, then the new; the old retired', async () => {
    const t = certificateTenant();
    const orgId = newOrgId();
    await configure(orgId, t);
    const first = await makeCertificate(orgId);
    const old = await storeCertificate(orgId, first, new Date(Date.now() - 300 * DAY));
    upload(t, first);
    expect((await h.syncAndWait(orgId)).status).toBe('succeeded');

    // A new certificate, not uploaded yet: the sync falls back to the old one.
    const second = await makeCertificate(orgId);
    const fresh = await storeCertificate(orgId, second);
    const fallback = await h.syncAndWait(orgId);
    expect(fallback.status).toBe('succeeded');
    // The refused request (the new certificate) counts too.
    expect(fallback.stats.tokenRequests).toBe(2);
    let statuses = Object.fromEntries(
      (await h.stores.certificates.list(orgId)).map((c) => [c.id, c.status]),
    );
    expect(statuses).toEqual({ [old.id]: 'active', [fresh.id]: 'pending' });

    // The admin uploads it: the next sync takes it, and retires the old one.
    upload(t, second);
    const switched = await h.syncAndWait(orgId);
    expect(switched.status).toBe('succeeded');
    expect(switched.stats.tokenRequests).toBe(1);
    statuses = Object.fromEntries(
      (await h.stores.certificates.list(orgId)).map((c) => [c.id, c.status]),
    );
    expect(statuses).toEqual({ [old.id]: 'retired', [fresh.id]: 'active' });
    expect(await h.stores.certificates.revealPrivateKey(orgId, old.id)).toBeNull();

    // The admin is told the old one may go.
    const expected: NotificationJob = {
      type: 'certificate_rotated',
      orgId,
      occurredAt: expect.any(String) as unknown as string,
      runId: switched.id,
      certificate: { id: fresh.id, thumbprint: second.thumbprint, notAfter: fresh.notAfter },
      retired: [{ id: old.id, thumbprint: first.thumbprint }],
    };
    const job = await h.notifications.getJob(notificationJobId(expected));
    expect(job?.data).toEqual(expected);

    // Every run of the org succeeded: the rotation cost no failure.
    const runs = await h.stores.runs.list(orgId, { limit: 10 });
    expect(runs.items.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);

    // Removing the retired certificate from the app changes nothing.
    h.sim.removeCertificate(t.tenantId, t.clientId, first.thumbprint);
    expect((await h.syncAndWait(orgId)).status).toBe('succeeded');
  });

  it('when neither certificate is accepted: certificate_not_registered names the newest, having tried both', async () => {
    const t = certificateTenant();
    const orgId = newOrgId();
    await configure(orgId, t);
    const older = await makeCertificate(orgId);
    await storeCertificate(orgId, older, new Date(Date.now() - 10 * DAY));
    const newer = await makeCertificate(orgId);
    await storeCertificate(orgId, newer);
    const run = await h.syncAndWait(orgId);
    expect(run.failure).toMatchObject({
      code: 'certificate_not_registered',
      details: {
        thumbprint: newer.thumbprint,
        triedThumbprints: [newer.thumbprint, older.thumbprint],
      },
    });
  });

  it("a clock Entra finds wrong is transient, logged as this service's clock, never the admin's failure", async () => {
    const t = certificateTenant();
    const orgId = newOrgId();
    await configure(orgId, t);
    const made = await makeCertificate(orgId);
    await storeCertificate(orgId, made);
    upload(t, made);
    h.sim.updateSettings({ entraClockOffsetSeconds: 3 * 3600 });
    try {
      const run = await h.syncAndWait(orgId);
      expect(run.attempts).toBe(2);
      expect(run.failure).toMatchObject({
        code: 'entra_unreachable',
        details: { lastReason: 'clock_skew' },
      });
      const lines = h.logLines.filter((l) => l.includes(orgId) && l.includes('AADSTS700024'));
      expect(lines.length).toBeGreaterThanOrEqual(2);
      expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'error' });
      expect(lines[0]).toContain("this service's clock is wrong");
    } finally {
      h.sim.updateSettings({ entraClockOffsetSeconds: 0 });
    }
    // Once the clocks agree, the same settings sync.
    expect((await h.syncAndWait(orgId)).status).toBe('succeeded');
  });

  it('a token refused mid-fetch is renewed with the certificate as with a secret', async () => {
    const t = certificateTenant();
    const orgId = newOrgId();
    await configure(orgId, t, { groupIds: [t.groups.engineering, t.groups.sales] });
    const made = await makeCertificate(orgId);
    await storeCertificate(orgId, made);
    upload(t, made);
    h.sim.setFaults(t.tenantId, { invalidateTokens: { afterRequests: 2 } });
    try {
      const run = await h.syncAndWait(orgId);
      expect(run.status).toBe('succeeded');
      expect(run.stats.tokenRequests).toBe(2);
    } finally {
      h.sim.clearFaults(t.tenantId);
    }
  });

  it('no private key reaches a log line, a run record or a job payload', async () => {
    const bodies = keys.flatMap((k) =>
      k.split('\n').filter((l) => l.length >= 16 && !l.startsWith('-----')),
    );
    expect(bodies.length).toBeGreaterThan(20);
    const jobs = [
      ...(await h.notifications.getJobs(['completed', 'waiting', 'delayed', 'failed'])),
      ...(await h.syncQueue.getJobs(['completed', 'waiting', 'delayed', 'failed'])),
    ];
    const text = [
      ...h.logLines,
      ...jobs.map((j) =>
        JSON.stringify({ data: j.data, value: j.returnvalue, reason: j.failedReason }),
      ),
    ].join('\n');
    expect(text).not.toContain('PRIVATE KEY');
    for (const body of bodies) expect(text).not.toContain(body);
  });
});
