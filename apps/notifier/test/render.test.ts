import { buildFailure } from '@pinnacle/domain';
import type { EmailJob } from '@pinnacle/queue-contracts';
import { describe, expect, it } from 'vitest';
import {
  escapeHtml,
  headerSafe,
  messageIdDomainOf,
  portalLink,
  type RenderContext,
  renderEmail,
} from '../src/email/render.js';

const ctx: RenderContext = {
  portalBaseUrl: 'https://portal.pinnacle.test/app/',
  messageIdDomain: 'pinnacle.test',
};

const failure = buildFailure(
  'client_secret_expired',
  { expiresAt: '2026-01-01T00:00:00.000Z', source: 'recorded_expiry' },
  { clientId: '11111111-2222-3333-4444-555555555555' },
);

const failed: EmailJob = {
  alertId: 'failed-run-1',
  orgId: 'org-acme',
  notificationId: 'failed-run-1',
  to: ['ada@acme.test'],
  occurredAt: '2026-01-02T03:04:05.000Z',
  content: {
    type: 'sync_failed',
    runId: 'run-1',
    failure: {
      code: failure.code,
      title: failure.title,
      message: failure.message,
      remediation: failure.remediation,
    },
    since: '2026-01-02T03:04:05.000Z',
    occurrences: 1,
    reminder: 0,
  },
};

function withFailure(patch: Partial<typeof failure>): EmailJob {
  if (failed.content.type !== 'sync_failed') throw new Error('unreachable');
  return {
    ...failed,
    content: { ...failed.content, failure: { ...failed.content.failure, ...patch } },
  };
}

describe('renderEmail: sync_failed', () => {
  const email = renderEmail(failed, ctx);

  it('names the org and the problem in the subject', () => {
    expect(email.subject).toBe('[org-acme] Microsoft Entra ID sync failed: client secret expired');
  });

  it('says what went wrong, how to fix it, since when, and links to the portal (text)', () => {
    expect(email.text).toContain(failure.message);
    failure.remediation.forEach((step, i) => {
      expect(email.text).toContain(`${i + 1}. ${step}`);
    });
    expect(email.text).toMatch(/Started:\s+2026-01-02 03:04 UTC/);
    expect(email.text).toContain(
      'https://portal.pinnacle.test/app/orgs/org-acme/integrations/entra-id',
    );
  });

  it('says the same in HTML', () => {
    expect(email.html).toContain(`<p>${escapeHtml(failure.message)}</p>`);
    for (const step of failure.remediation)
      expect(email.html).toContain(`<li>${escapeHtml(step)}</li>`);
    expect(email.html).toContain('2026-01-02 03:04 UTC');
    expect(email.html).toContain(
      '<a href="https://portal.pinnacle.test/app/orgs/org-acme/integrations/entra-id">',
    );
  });

  it.each([
    ['app_disabled', 7000112, 'application disabled', /Enabled for users to sign-in\?" to Yes/],
    ['access_blocked', 53003, 'blocked by Conditional Access', /Conditional Access → Policies/],
  ] as const)(
    '%s: subject, message and what the tenant admin must change',
    (code, aadsts, label, step) => {
      const f = buildFailure(
        code,
        { status: 400, errorCodes: [aadsts] },
        { clientId: '11111111-2222-3333-4444-555555555555', tenantId: 'contoso.onmicrosoft.com' },
      );
      const e = renderEmail(
        withFailure({
          code: f.code,
          title: f.title,
          message: f.message,
          remediation: f.remediation,
        }),
        ctx,
      );
      expect(e.subject).toBe(`[org-acme] Microsoft Entra ID sync failed: ${label}`);
      expect(e.text).toContain(`AADSTS${aadsts}`);
      expect(e.text).toContain(`${label} (${code})`);
      expect(e.text).toMatch(step);
      expect(e.html).toContain(`<li>${escapeHtml(f.remediation[0]!)}</li>`);
    },
  );

  it('has a deterministic Message-ID per alert, and no thread for a first alert', () => {
    expect(email.messageId).toBe('<failed-run-1.org-acme@pinnacle.test>');
    expect(renderEmail(structuredClone(failed), ctx).messageId).toBe(email.messageId);
    expect(renderEmail({ ...failed, alertId: 'failed-run-2' }, ctx).messageId).not.toBe(
      email.messageId,
    );
    expect(email.references).toBeNull();
    expect(email.headers['Auto-Submitted']).toBe('auto-generated');
  });

  it('words a reminder as one, in the thread of the first alert', () => {
    if (failed.content.type !== 'sync_failed') throw new Error('unreachable');
    const reminder = renderEmail(
      {
        ...failed,
        alertId: 'failed-run-9',
        threadAlertId: 'failed-run-1',
        content: { ...failed.content, reminder: 2, occurrences: 12, runId: 'run-9' },
      },
      ctx,
    );
    expect(reminder.subject).toBe(
      '[org-acme] Reminder: Microsoft Entra ID sync still failing: client secret expired',
    );
    expect(reminder.text).toContain('has stopped 12 runs so far');
    expect(reminder.text).toContain('at most 3 more reminders');
    expect(reminder.references).toBe('<failed-run-1.org-acme@pinnacle.test>');
  });
});

describe('renderEmail: other types', () => {
  it('sync_recovered', () => {
    const email = renderEmail(
      {
        ...failed,
        alertId: 'recovered-run-5',
        threadAlertId: 'failed-run-1',
        occurredAt: '2026-01-03T00:00:00.000Z',
        content: {
          type: 'sync_recovered',
          runId: 'run-5',
          previousFailureCode: 'client_secret_expired',
          failingSince: '2026-01-02T03:04:05.000Z',
          occurrences: 4,
        },
      },
      ctx,
    );
    expect(email.subject).toBe('[org-acme] Microsoft Entra ID sync recovered');
    expect(email.text).toContain('run run-5 succeeded');
    expect(email.text).toContain(
      'client secret expired, first seen 2026-01-02 03:04 UTC over 4 failed runs',
    );
    expect(email.text).toMatch(/Recovered:\s+2026-01-03 00:00 UTC/);
    expect(email.references).toBe('<failed-run-1.org-acme@pinnacle.test>');
  });

  it('client_secret_expiring', () => {
    const email = renderEmail(
      {
        ...failed,
        alertId: 'expiring-org-acme-2026-02-01-7d',
        content: {
          type: 'client_secret_expiring',
          expiresAt: '2026-02-01T00:00:00.000Z',
          thresholdDays: 7,
          daysLeft: 6,
        },
      },
      ctx,
    );
    expect(email.subject).toBe('[org-acme] Microsoft Entra ID client secret expires in 6 days');
    expect(email.text).toContain('expires on 2026-02-01 00:00 UTC');
    expect(email.text).toContain('1. In the Microsoft Entra admin center');
    expect(email.text).toMatch(/Days left:\s+6/);
  });

  it('client_secret_expired', () => {
    const email = renderEmail(
      {
        ...failed,
        alertId: 'expired-org-acme-2026-02-01',
        content: { type: 'client_secret_expired', expiresAt: '2026-02-01T00:00:00.000Z' },
      },
      ctx,
    );
    expect(email.subject).toBe('[org-acme] Microsoft Entra ID sync stopped: client secret expired');
    expect(email.text).toContain('expired on 2026-02-01 00:00 UTC');
    expect(email.text).toContain('Run Sync Now to confirm');
  });

  const thumbprint = '0123456789ABCDEF0123456789ABCDEF01234567';
  it('certificate_expiring', () => {
    const email = renderEmail(
      {
        ...failed,
        alertId: 'cert-expiring-org-acme-c1-14d',
        content: {
          type: 'certificate_expiring',
          thumbprint,
          expiresAt: '2026-02-01T00:00:00.000Z',
          thresholdDays: 14,
          daysLeft: 13,
        },
      },
      ctx,
    );
    expect(email.subject).toBe('[org-acme] Microsoft Entra ID certificate expires in 13 days');
    expect(email.text).toContain(`(thumbprint ${thumbprint}) expires on 2026-02-01 00:00 UTC`);
    expect(email.text).toContain('1. In the Pinnacle portal');
    expect(email.text).toContain('create a new certificate and download it (.cer)');
    expect(email.text).toMatch(/Days left:\s+13/);
    expect(email.html).toContain('Upload certificate');
  });

  it('certificate_expired', () => {
    const email = renderEmail(
      {
        ...failed,
        alertId: 'cert-expired-org-acme-c1',
        content: { type: 'certificate_expired', thumbprint, expiresAt: '2026-02-01T00:00:00.000Z' },
      },
      ctx,
    );
    expect(email.subject).toBe('[org-acme] Microsoft Entra ID sync stopped: certificate expired');
    expect(email.text).toContain('expired on 2026-02-01 00:00 UTC');
    expect(email.text).toContain('Run Sync Now: it uses the new certificate');
  });

  it('certificate_rotated', () => {
    const email = renderEmail(
      {
        ...failed,
        alertId: 'cert-rotated-org-acme-c2',
        content: {
          type: 'certificate_rotated',
          thumbprint,
          notAfter: '2027-02-01T00:00:00.000Z',
          retiredThumbprints: ['A'.repeat(40), 'B'.repeat(40)],
        },
      },
      ctx,
    );
    expect(email.subject).toBe('[org-acme] Microsoft Entra ID sync uses its new certificate');
    expect(email.text).toContain(`the new certificate (thumbprint ${thumbprint}`);
    expect(email.text).toContain(
      `delete the certificates with thumbprint ${'A'.repeat(40)} and ${'B'.repeat(40)}`,
    );
    expect(email.text).toMatch(/Retired:\s+A{40}, B{40}/);
  });
});

describe('renderEmail: safety', () => {
  it('escapes HTML', () => {
    const email = renderEmail(
      withFailure({ message: 'Group <script>alert("x")</script> & "co" is gone' }),
      ctx,
    );
    expect(email.html).not.toContain('<script>');
    expect(email.html).toContain(
      'Group &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;co&quot; is gone',
    );
    expect(email.text).toContain('Group <script>alert("x")</script> & "co" is gone');
  });

  it('keeps every header to one line', () => {
    const email = renderEmail(
      {
        ...failed,
        content: {
          type: 'sync_recovered',
          runId: 'run-5',
          previousFailureCode: 'oops\r\nBcc: victim@evil.test',
          failingSince: null,
          occurrences: null,
        },
      },
      ctx,
    );
    for (const value of [email.subject, email.messageId, ...Object.values(email.headers)]) {
      expect(value).not.toMatch(/[\r\n]/);
    }
    expect(headerSafe('a\r\nBcc: x@y\u2028z\u0000')).toBe('a Bcc: x@y z');
  });

  it('never renders a secret: only catalogue text, secret-shaped strings redacted', () => {
    const secret = 'Xy78Q~abcdefghijklmnopqrstuvwxyz0123456789';
    const held = 'held-secret-value-123';
    const email = renderEmail(
      withFailure({
        message: `Entra said ${secret} was wrong`,
        remediation: [`Do not paste ${held} here`],
      }),
      { ...ctx, scrub: (t) => t.split(held).join('[REDACTED]') },
    );
    for (const part of [email.subject, email.text, email.html]) {
      expect(part).not.toContain(secret);
      expect(part).not.toContain(held);
    }
    expect(email.text).toContain('Entra said [redacted] was wrong');
  });
});

describe('helpers', () => {
  it("messageIdDomainOf takes MAIL_FROM's domain", () => {
    expect(messageIdDomainOf('Pinnacle <no-reply@pinnacle.example>')).toBe('pinnacle.example');
    expect(messageIdDomainOf('alerts@mail.acme.test')).toBe('mail.acme.test');
    expect(messageIdDomainOf(undefined)).toBe('entra-sync.invalid');
  });

  it('portalLink joins the base URL and the org', () => {
    expect(portalLink('http://localhost:3000', 'org-1')).toBe(
      'http://localhost:3000/orgs/org-1/integrations/entra-id',
    );
  });
});
