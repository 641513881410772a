import { authMethodOf, currentCertificate } from '@pinnacle/domain';
import type { Logger } from '@pinnacle/logging';
import type { NotificationJob } from '@pinnacle/queue-contracts';
import type { TypedQueue } from '@pinnacle/queue-runtime';
import type {
  CertificateRepository,
  ExpiryWarningRepository,
  IntegrationRepository,
} from '@pinnacle/redis-store';
import { expiryWarningAt } from './expiry-thresholds.js';
import { expiryScanHorizon, forEachCandidate, queueThenMarkSent } from './warn-once.js';

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
 * certificate. A new certificate taking over starts afresh. Queued, then
 * marked sent, as the secret's scan does (warn-once.ts).
 */
export async function scanCertificateExpiry(
  deps: CertificateExpiryScanDependencies,
): Promise<CertificateExpiryScanResult> {
  const now = deps.now();
  const candidates = await deps.certificates.orgsWithCertificateExpiringBefore(
    expiryScanHorizon(now),
  );
  const queued: CertificateExpiryScanResult['queued'] = [];
  await forEachCandidate(candidates, async ({ orgId }) => {
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
    const marked = await queueThenMarkSent(deps.notificationQueue, job, () =>
      deps.expiryWarnings.markSent(
        orgId,
        subject,
        warning.label,
        now,
        'certificate',
        'integration',
      ),
    );
    if (marked) queued.push({ orgId, certificateId: current.id, label: warning.label });
  });
  deps.logger.info(
    { scanned: candidates.length, queued: queued.length },
    'certificate expiry scan finished',
  );
  return { scanned: candidates.length, queued };
}
