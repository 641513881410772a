import { randomBytes, randomUUID } from 'node:crypto';
import type { NewCertificate } from '@pinnacle/redis-store';
import { describe, expect, it } from 'vitest';
import { test } from './support/fixtures.js';
import { type NotifierHarness, newOrgId } from './support/harness.js';

let h: NotifierHarness;

test.beforeAll(async ({ harness }) => {
  h = harness;
  await h.start();
});

const DAY = 24 * 3600 * 1000;
const scanAt = (now: Date) => h.runMaintenanceAt('scan_secret_expiry', now);

/** What the api stores for a new certificate (the repository does not parse it). */
function certificate(notAfter: Date, createdAt: Date): NewCertificate {
  const thumbprint = randomBytes(20).toString('hex').toUpperCase();
  return {
    id: randomUUID(),
    subject: 'CN=Pinnacle Series Entra ID sync (test), O=Pinnacle Series',
    thumbprint,
    thumbprintSha256: randomBytes(32).toString('hex').toUpperCase(),
    notBefore: createdAt,
    notAfter,
    certificatePem: `-----BEGIN CERTIFICATE-----\n${thumbprint}\n-----END CERTIFICATE-----\n`,
    privateKeyPem: `-----BEGIN PRIVATE KEY-----\n${randomBytes(64).toString('base64')}\n-----END PRIVATE KEY-----\n`,
  };
}

async function addCertificate(orgId: string, notAfter: Date, createdAt: Date) {
  const made = certificate(notAfter, createdAt);
  const result = await h.stores.certificates.create(orgId, made, createdAt);
  if (result.outcome !== 'created') throw new Error(result.outcome);
  return result.certificate;
}

describe('certificate expiry scan', () => {
  it('warns at 30, 14, 7 and 1 days and on expiry, once each; not about the secret of an org on certificates', async () => {
    const orgId = newOrgId();
    const onSecret = newOrgId();
    const notAfter = new Date(Date.UTC(2026, 8, 30, 0, 0, 0));
    const created = new Date(notAfter.getTime() - 365 * DAY);
    // The secret expires on the same day: an org on certificates hears nothing about it.
    await h.configure(orgId, { expiresAt: notAfter, authMethod: 'certificate' });
    const cert = await addCertificate(orgId, notAfter, created);
    await h.stores.certificates.markAccepted(orgId, cert.id, created);
    // An org on the secret with a certificate lying about: warned about the secret alone.
    await h.configure(onSecret, { expiresAt: notAfter });
    await addCertificate(onSecret, notAfter, created);

    for (let d = -40; d <= 3; d++) {
      const at = new Date(notAfter.getTime() + d * DAY + 5 * 3600 * 1000);
      await scanAt(at);
      await scanAt(new Date(at.getTime() + 3600 * 1000));
    }

    const inbox = await h.inbox(orgId);
    expect(inbox.map((n) => [n.type, n.severity, n.title])).toEqual([
      ['certificate_expired', 'error', 'Certificate expired'],
      ['certificate_expiring', 'warning', 'Certificate expires within a day'],
      ['certificate_expiring', 'warning', 'Certificate expires in 6 days'],
      ['certificate_expiring', 'warning', 'Certificate expires in 13 days'],
      ['certificate_expiring', 'warning', 'Certificate expires in 29 days'],
    ]);
    expect(inbox[4]?.message).toContain(cert.thumbprint);
    expect(inbox[4]?.message).toContain('Create a new certificate in the integration settings');
    expect(h.mailsFor(orgId).map((m) => m.parsed.subject)).toEqual([
      `[${orgId}] Microsoft Entra ID certificate expires in 29 days`,
      `[${orgId}] Microsoft Entra ID certificate expires in 13 days`,
      `[${orgId}] Microsoft Entra ID certificate expires in 6 days`,
      `[${orgId}] Microsoft Entra ID certificate expires within a day`,
      `[${orgId}] Microsoft Entra ID sync stopped: certificate expired`,
    ]);
    const mail = h.mailsFor(orgId)[0]!;
    expect(mail.parsed.text).toContain(`Certificate thumbprint: ${cert.thumbprint}`);
    expect(mail.parsed.text).toContain('Upload certificate');
    expect(mail.raw).not.toContain('PRIVATE KEY');

    expect((await h.inbox(onSecret)).map((n) => n.type)).toEqual([
      'client_secret_expired',
      'client_secret_expiring',
      'client_secret_expiring',
      'client_secret_expiring',
      'client_secret_expiring',
    ]);

    // A new certificate accepted by Entra takes over: its warnings start afresh, far off.
    const now = new Date(notAfter.getTime() + 4 * DAY);
    const next = await addCertificate(orgId, new Date(now.getTime() + 20 * DAY), now);
    await h.stores.certificates.markAccepted(orgId, next.id, now);
    await scanAt(now);
    await scanAt(new Date(now.getTime() + DAY));
    const after = await h.inbox(orgId);
    expect(after).toHaveLength(6);
    expect(after[0]).toMatchObject({
      type: 'certificate_expiring',
      title: 'Certificate expires in 20 days',
    });
    expect(after[0]?.message).toContain(next.thumbprint);
  });

  it('the role runs it on demand too', async () => {
    const orgId = newOrgId();
    const now = new Date();
    await h.configure(orgId, { authMethod: 'certificate' });
    await addCertificate(orgId, new Date(now.getTime() + 5 * DAY), now);
    h.clock.set(now);
    const result = await h.role!.scanCertificateExpiry();
    expect(result.queued).toContainEqual(expect.objectContaining({ orgId, label: '7d' }));
  });
});

describe('certificate_rotated', () => {
  it('tells the admin, in the inbox and by email, which certificate is in use and which may be removed', async () => {
    const orgId = newOrgId();
    await h.configure(orgId, { authMethod: 'certificate' });
    const retired = { id: randomUUID(), thumbprint: 'B'.repeat(40) };
    const job = await h.handOff({
      type: 'certificate_rotated',
      orgId,
      occurredAt: new Date().toISOString(),
      runId: 'run-rotation',
      certificate: {
        id: randomUUID(),
        thumbprint: 'A'.repeat(40),
        notAfter: '2027-06-30T00:00:00.000Z',
      },
      retired: [retired],
    });
    expect(await h.finished(h.raw.notifications, job.id!)).toBe('completed');
    await h.drained(h.raw.email);
    const [n] = await h.inbox(orgId);
    expect(n).toMatchObject({
      type: 'certificate_rotated',
      severity: 'info',
      title: 'New certificate in use',
      failureCode: null,
    });
    expect(n?.message).toContain('A'.repeat(40));
    expect(n?.message).toContain(`${'B'.repeat(40)}) is retired`);
    expect(n?.message).toContain('You can remove it from the app registration');
    const [mail] = h.mailsFor(orgId);
    expect(mail?.parsed.subject).toBe(
      `[${orgId}] Microsoft Entra ID sync uses its new certificate`,
    );
    expect(mail?.parsed.text).toContain(
      `Certificates & secrets → Certificates, and delete the certificate with thumbprint ${'B'.repeat(40)}`,
    );
    // The same hand-off again (a retried run) is the same notification.
    await h.handOff({
      type: 'certificate_rotated',
      orgId,
      occurredAt: new Date().toISOString(),
      certificate: {
        id: (job.data as { certificate: { id: string } }).certificate.id,
        thumbprint: 'A'.repeat(40),
        notAfter: '2027-06-30T00:00:00.000Z',
      },
      retired: [retired],
    });
    await h.drained(h.raw.notifications);
    expect(await h.inbox(orgId)).toHaveLength(1);
  });
});
