import { emailRecipientSchema } from '@pinnacle/domain';
import type { StoredIntegration } from '@pinnacle/redis-store';

export type EmailChannel =
  | { enabled: true; recipients: string[] }
  | {
      enabled: false;
      reason: 'smtp_not_configured' | 'no_integration' | 'email_disabled' | 'no_recipients';
    };

/**
 * Whether an org's alert goes out by email, and to whom. Recipients were
 * validated when the settings were saved; they are parsed again here so a
 * record written by an older version cannot put a line break into a header.
 */
export function emailChannel(
  integration: StoredIntegration | null,
  smtpConfigured: boolean,
): EmailChannel {
  if (!smtpConfigured) return { enabled: false, reason: 'smtp_not_configured' };
  if (!integration) return { enabled: false, reason: 'no_integration' };
  const email = integration.notifications.email;
  if (!email.enabled) return { enabled: false, reason: 'email_disabled' };
  const recipients = [
    ...new Set(
      email.recipients.flatMap((r) => {
        const parsed = emailRecipientSchema.safeParse(r);
        return parsed.success ? [parsed.data] : [];
      }),
    ),
  ];
  if (recipients.length === 0) return { enabled: false, reason: 'no_recipients' };
  return { enabled: true, recipients };
}
