import { authMethodOf, currentCertificate } from '@pinnacle/domain';
import type { Logger } from '@pinnacle/logging';
import type { NotificationJob } from '@pinnacle/queue-contracts';
import type { TypedQueue } from '@pinnacle/queue-runtime';
import {
  type CertificateRepository,
  type ExpiryWarningRepository,
  type IntegrationRepository,
  OrgOffboardedError,
} from '@pinnacle/redis-store';
import { EXPIRY_SCAN_HORIZON_DAYS, expiryWarningAt } from './expiry-thresholds.js';

const DAY_MS = 24 * 3600 * 1000;
/** Orgs looked at concurrently. */
const SCAN_CONCURRENCY = 32;

export interface CertificateExpiryScanDependencies {
  certificates: CertificateRepository;
  integrations: IntegrationRepository;
  expiryWarnings: ExpiryWarningRepository;
  notificationQueue: TypedQueue<'notifications'>;
  now: () => Date;
  logger: Logger;
}

export interface CertificateExpiryScanResult {
  scanned: number;
  queued: { orgId: string; certificateId: string; label: string }[];
}

/**
 * The daily certificate-expiry scan, at the secret's thresholds (30, 14, 7
 * and 1 days, then expired): every org authenticating with certificates
 * whose current certificate (the one Entra accepts, else the newest) is
 * within the widest threshold gets the warning it is due, once per
 * certificate. A new certificate taking over starts afresh. Queued before it
 * is marked sent, as the secret's scan does.
 */
export async function scanCertificateExpiry(
  deps: CertificateExpiryScanDependencies,
): Promise<CertificateExpiryScanResult> {
  const now = deps.now();
  const candidates = await deps.certificates.orgsWithCertificateExpiringBefore(
    new Date(now.getTime() + EXPIRY_SCAN_HORIZON_DAYS * DAY_MS),
  );
  const queued: CertificateExpiryScanResult['queued'] = [];
  for (let i = 0; i < candidates.length; i += SCAN_CONCURRENCY) {
    await Promise.all(
      candidates.slice(i, i + SCAN_CONCURRENCY).map(async ({ orgId }) => {
        const [integration, list] = await Promise.all([
          deps.integrations.get(orgId),
          deps.certificates.list(orgId),
        ]);
        // Certificates matter only to an org that authenticates with them.
        if (!integration || authMethodOf(integration) !== 'certificate') return;
        const current = currentCertificate(list);
        if (!current) return;
        const expiresAt = new Date(current.notAfter);
        const warning = expiryWarningAt(expiresAt, now);
        if (!warning) return;
        const subject = `${current.id}@${current.notAfter}`;
        const sent = await deps.expiryWarnings.sent(orgId, subject, 'certificate');
        if (sent.has(warning.label)) return;
        const base = {
          orgId,
          occurredAt: now.toISOString(),
          certificate: { id: current.id, thumbprint: current.thumbprint },
          expiresAt: expiresAt.toISOString(),
        };
        const job: NotificationJob =
          warning.kind === 'expired'
            ? { type: 'certificate_expired', ...base }
            : {
                type: 'certificate_expiring',
                ...base,
                thresholdDays: warning.thresholdDays,
                daysLeft: warning.daysLeft,
              };
        await deps.notificationQueue.add(job);
        try {
          await deps.expiryWarnings.markSent(
            orgId,
            subject,
            warning.label,
            now,
            'certificate',
            'integration',
          );
        } catch (error) {
          // Offboarded since the index was read: its job finds that too and drops.
          if (error instanceof OrgOffboardedError) return;
          throw error;
        }
        queued.push({ orgId, certificateId: current.id, label: warning.label });
      }),
    );
  }
  deps.logger.info(
    { scanned: candidates.length, queued: queued.length },
    'certificate expiry scan finished',
  );
  return { scanned: candidates.length, queued };
}
