import { MAX_EMAILS_PER_EPISODE } from '@pinnacle/domain';
import type { EmailJob } from '@pinnacle/queue-contracts';
import {
  certificateExpiredText,
  certificateExpiringText,
  certificateRenewalSteps,
  certificateRotatedText,
  expiredText,
  expiringText,
  failureLabel,
  formatInstant,
  recoveredText,
  retiredCertificateSteps,
  secretRotationSteps,
} from '../alerts/alert-text.js';

export interface RenderContext {
  /** PORTAL_BASE_URL. */
  portalBaseUrl: string;
  /** The right-hand side of Message-IDs (MAIL_FROM's domain). */
  messageIdDomain: string;
  /** Scrubs text of secrets this process holds (the all-in-one process decrypts some). */
  scrub?: (text: string) => string;
}

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
  /** Deterministic per alert: a resent email is recognisably the same message. */
  messageId: string;
  /** The thread's first message (an episode's first alert), for reminders and recoveries. */
  references: string | null;
  headers: Record<string, string>;
}

/** Anything that reaches a header: one line, no control characters. */
export function headerSafe(value: string): string {
  return value
    .replace(/[\p{Cc}\p{Zl}\p{Zp}]+/gu, ' ')
    .replace(/ {2,}/g, ' ')
    .trim();
}

export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

// The shape of an Entra client secret value (3 characters, a digit, a letter,
// '~', then about 34 more): redacted wherever it shows up, belt and braces on
// top of never rendering a failure's details.
const ENTRA_SECRET_SHAPE = /[A-Za-z0-9_.-]{3}\d[A-Za-z]~[A-Za-z0-9_.~-]{30,}/g;

export function redactSecrets(text: string, scrub?: (text: string) => string): string {
  return (scrub ? scrub(text) : text).replace(ENTRA_SECRET_SHAPE, '[redacted]');
}

/** The domain of MAIL_FROM (`Name <x@domain>` or `x@domain`), for Message-IDs. */
export function messageIdDomainOf(mailFrom: string | undefined): string {
  const match = /@([A-Za-z0-9.-]+)>?\s*$/.exec(mailFrom ?? '');
  return match?.[1]?.replace(/^\.+|\.+$/g, '') || 'entra-sync.invalid';
}

export function messageIdOf(alertId: string, orgId: string, domain: string): string {
  const atom = (s: string) => s.replace(/[^A-Za-z0-9_-]+/g, '-');
  return `<${atom(alertId)}.${atom(orgId)}@${domain}>`;
}

/** Where an admin fixes the integration. */
export function portalLink(portalBaseUrl: string, orgId: string): string {
  return `${portalBaseUrl.replace(/\/+$/, '')}/orgs/${encodeURIComponent(orgId)}/integrations/entra-id`;
}

interface Body {
  heading: string;
  paragraphs: string[];
  steps: string[];
  facts: [string, string][];
  footer: string[];
}

function plural(n: number, one: string, many: string): string {
  return n === 1 ? `1 ${one}` : `${n} ${many}`;
}

function compose(job: EmailJob): { subject: string; body: Body } {
  const org = job.orgId;
  const c = job.content;
  const recipientNote = `You receive this email because you are listed as a recipient of Microsoft Entra ID sync alerts for ${org}. Change the recipients in the integration settings.`;
  switch (c.type) {
    case 'sync_failed': {
      const label = failureLabel(c.failure.code);
      const reminder = c.reminder > 0;
      const left = MAX_EMAILS_PER_EPISODE - 1 - c.reminder;
      return {
        subject: reminder
          ? `[${org}] Reminder: Microsoft Entra ID sync still failing: ${label}`
          : `[${org}] Microsoft Entra ID sync failed: ${label}`,
        body: {
          heading: reminder
            ? `Microsoft Entra ID sync is still failing: ${c.failure.title}`
            : `Microsoft Entra ID sync failed: ${c.failure.title}`,
          paragraphs: [
            c.failure.message,
            reminder
              ? `The problem started ${formatInstant(c.since)} and has stopped ${plural(c.occurrences, 'run', 'runs')} so far. Users and group memberships are not being updated until it is fixed.`
              : 'Users and group memberships are not being updated until it is fixed. You will not get an email for every scheduled run that fails the same way.',
          ],
          steps: c.failure.remediation,
          facts: [
            ['Organisation', org],
            ['Problem', `${label} (${c.failure.code})`],
            ['Started', formatInstant(c.since)],
            ['Failed runs', String(c.occurrences)],
            ['Latest run', c.runId],
          ],
          footer: [
            left > 0
              ? `While the problem lasts you get at most ${plural(left, 'more reminder', 'more reminders')}; you will be told when it is fixed.`
              : 'This is the last reminder about this problem; you will be told when it is fixed.',
            recipientNote,
          ],
        },
      };
    }
    case 'sync_recovered': {
      const text = recoveredText({
        runId: c.runId,
        failureCode: c.previousFailureCode,
        since: c.failingSince,
        occurrences: c.occurrences,
      });
      const facts: [string, string][] = [
        ['Organisation', org],
        ['Resolved problem', `${failureLabel(c.previousFailureCode)} (${c.previousFailureCode})`],
      ];
      if (c.failingSince) facts.push(['Started', formatInstant(c.failingSince)]);
      facts.push(['Recovered', formatInstant(job.occurredAt)]);
      if (c.occurrences !== null) facts.push(['Failed runs', String(c.occurrences)]);
      facts.push(['Successful run', c.runId]);
      return {
        subject: `[${org}] Microsoft Entra ID sync recovered`,
        body: {
          heading: text.title,
          paragraphs: [text.message, 'Users and group memberships are being updated again.'],
          steps: ['No action is needed.'],
          facts,
          footer: [recipientNote],
        },
      };
    }
    case 'client_secret_expiring': {
      const text = expiringText(c);
      const when = c.daysLeft < 1 ? 'within a day' : `in ${plural(c.daysLeft, 'day', 'days')}`;
      return {
        subject: `[${org}] Microsoft Entra ID client secret expires ${when}`,
        body: {
          heading: text.title,
          paragraphs: [text.message],
          steps: secretRotationSteps(false),
          facts: [
            ['Organisation', org],
            ['Expires', formatInstant(c.expiresAt)],
            ['Days left', String(c.daysLeft)],
          ],
          footer: [recipientNote],
        },
      };
    }
    case 'client_secret_expired': {
      const text = expiredText(c);
      return {
        subject: `[${org}] Microsoft Entra ID sync stopped: client secret expired`,
        body: {
          heading: text.title,
          paragraphs: [text.message],
          steps: secretRotationSteps(true),
          facts: [
            ['Organisation', org],
            ['Expired', formatInstant(c.expiresAt)],
          ],
          footer: [recipientNote],
        },
      };
    }
    case 'certificate_expiring': {
      const text = certificateExpiringText(c);
      const when = c.daysLeft < 1 ? 'within a day' : `in ${plural(c.daysLeft, 'day', 'days')}`;
      return {
        subject: `[${org}] Microsoft Entra ID certificate expires ${when}`,
        body: {
          heading: text.title,
          paragraphs: [text.message],
          steps: certificateRenewalSteps(false),
          facts: [
            ['Organisation', org],
            ['Certificate thumbprint', c.thumbprint],
            ['Expires', formatInstant(c.expiresAt)],
            ['Days left', String(c.daysLeft)],
          ],
          footer: [recipientNote],
        },
      };
    }
    case 'certificate_expired': {
      const text = certificateExpiredText(c);
      return {
        subject: `[${org}] Microsoft Entra ID sync stopped: certificate expired`,
        body: {
          heading: text.title,
          paragraphs: [text.message],
          steps: certificateRenewalSteps(true),
          facts: [
            ['Organisation', org],
            ['Certificate thumbprint', c.thumbprint],
            ['Expired', formatInstant(c.expiresAt)],
          ],
          footer: [recipientNote],
        },
      };
    }
    case 'certificate_rotated': {
      const text = certificateRotatedText(c);
      return {
        subject: `[${org}] Microsoft Entra ID sync uses its new certificate`,
        body: {
          heading: text.title,
          paragraphs: [text.message],
          steps: retiredCertificateSteps(c.retiredThumbprints),
          facts: [
            ['Organisation', org],
            ['Certificate in use', c.thumbprint],
            ['Valid until', formatInstant(c.notAfter)],
            ['Retired', c.retiredThumbprints.join(', ')],
          ],
          footer: [recipientNote],
        },
      };
    }
  }
}

/**
 * The email of one alert: subject, plain text and HTML saying what went
 * wrong, how to fix it, since when, and where (the portal). Pure. Only
 * catalogue text is rendered (never a failure's details); every piece is
 * scrubbed of secret-shaped strings, escaped for HTML, and made single-line
 * where it reaches a header.
 */
export function renderEmail(job: EmailJob, ctx: RenderContext): RenderedEmail {
  const { subject, body } = compose(job);
  const clean = (s: string) => redactSecrets(s, ctx.scrub);
  const link = portalLink(ctx.portalBaseUrl, job.orgId);
  const heading = clean(body.heading);
  const paragraphs = body.paragraphs.map(clean);
  const steps = body.steps.map(clean);
  const facts = body.facts.map(([k, v]) => [k, clean(v)] as const);
  const footer = body.footer.map(clean);

  const width = Math.max(...facts.map(([k]) => k.length)) + 2;
  const text = [
    heading,
    '',
    ...paragraphs.flatMap((p) => [p, '']),
    'What to do:',
    ...steps.map((s, i) => `${i + 1}. ${s}`),
    '',
    ...facts.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}`),
    '',
    'Open the integration in the Pinnacle portal:',
    link,
    '',
    '--',
    ...footer,
    '',
  ].join('\n');

  const html = [
    '<!DOCTYPE html>',
    '<html><head><meta charset="utf-8"><title>',
    escapeHtml(headerSafe(clean(subject))),
    '</title></head><body style="font-family:Segoe UI,Arial,sans-serif;line-height:1.5;color:#1b1b1b">',
    `<h2>${escapeHtml(heading)}</h2>`,
    ...paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`),
    '<h3>What to do</h3>',
    `<ol>${steps.map((s) => `<li>${escapeHtml(s)}</li>`).join('')}</ol>`,
    '<table cellpadding="4" style="border-collapse:collapse">',
    ...facts.map(
      ([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`,
    ),
    '</table>',
    `<p><a href="${escapeHtml(link)}">Open the integration in the Pinnacle portal</a></p>`,
    `<hr><p style="color:#666;font-size:smaller">${footer.map(escapeHtml).join('<br>')}</p>`,
    '</body></html>',
  ].join('\n');

  const messageId = messageIdOf(job.alertId, job.orgId, ctx.messageIdDomain);
  const references = job.threadAlertId
    ? messageIdOf(job.threadAlertId, job.orgId, ctx.messageIdDomain)
    : null;
  return {
    subject: headerSafe(clean(subject)),
    text,
    html,
    messageId,
    references,
    headers: {
      // RFC 3834: out-of-office replies and the like must not answer it.
      'Auto-Submitted': 'auto-generated',
      'X-Pinnacle-Alert-Id': headerSafe(job.alertId),
      'X-Pinnacle-Org-Id': headerSafe(job.orgId),
    },
  };
}
