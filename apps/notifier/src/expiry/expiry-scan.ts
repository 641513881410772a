import { authMethodOf } from '@pinnacle/domain';
import type { Logger } from '@pinnacle/logging';
import type { TypedQueue } from '@pinnacle/queue-runtime';
import type { ExpiryWarningRepository, IntegrationRepository } from '@pinnacle/redis-store';
import { planExpiryNotification } from './expiry-thresholds.js';
import { expiryScanHorizon, forEachCandidate, queueThenMarkSent } from './warn-once.js';

export interface ExpiryScanDependencies {
  integrations: IntegrationRepository;
  expiryWarnings: ExpiryWarningRepository;
  notificationQueue: TypedQueue<'notifications'>;
  now: () => Date;
  logger: Logger;
}

export interface ExpiryScanResult {
  scanned: number;
  queued: { orgId: string; label: string }[];
}

/**
 * The daily secret-expiry scan: every org whose recorded expiry is within
 * the widest threshold (or past) gets the warning it is due, once (queued,
 * then marked sent: see warn-once.ts).
 * An org that authenticates with certificates is not warned about its
 * secret (the certificate scan covers it).
 */
export async function scanSecretExpiry(deps: ExpiryScanDependencies): Promise<ExpiryScanResult> {
  const now = deps.now();
  const candidates = await deps.integrations.orgsWithSecretExpiringBefore(expiryScanHorizon(now));
  const queued: ExpiryScanResult['queued'] = [];
  await forEachCandidate(candidates, async ({ orgId, expiresAt }) => {
    // The index drops such orgs when they save; an entry written before that stays until then.
    const integration = await deps.integrations.get(orgId);
    if (integration && authMethodOf(integration) === 'certificate') return;
    const expiry = expiresAt.toISOString();
    const sent = await deps.expiryWarnings.sent(orgId, expiry);
    const plan = planExpiryNotification({ orgId, expiresAt, now, sent });
    if (!plan) return;
    const marked = await queueThenMarkSent(deps.notificationQueue, plan.job, () =>
      deps.expiryWarnings.markSent(orgId, expiry, plan.label, now, 'client_secret', 'integration'),
    );
    if (marked) queued.push({ orgId, label: plan.label });
  });
  deps.logger.info(
    { scanned: candidates.length, queued: queued.length },
    'secret expiry scan finished',
  );
  return { scanned: candidates.length, queued };
}
