import { authMethodOf } from '@pinnacle/domain';
import type { Logger } from '@pinnacle/logging';
import type { TypedQueue } from '@pinnacle/queue-runtime';
import {
  type ExpiryWarningRepository,
  type IntegrationRepository,
  OrgOffboardedError,
} from '@pinnacle/redis-store';
import { EXPIRY_SCAN_HORIZON_DAYS, planExpiryNotification } from './expiry-thresholds.js';

const DAY_MS = 24 * 3600 * 1000;
/** Orgs looked at concurrently. */
const SCAN_CONCURRENCY = 32;

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
 * the widest threshold (or past) gets the warning it is due, once. The
 * notification is queued (deterministic job ID) before the warning is marked
 * sent, so a crash in between re-queues the same job instead of losing it.
 * An org that authenticates with certificates is not warned about its
 * secret (the certificate scan covers it).
 */
export async function scanSecretExpiry(deps: ExpiryScanDependencies): Promise<ExpiryScanResult> {
  const now = deps.now();
  const candidates = await deps.integrations.orgsWithSecretExpiringBefore(
    new Date(now.getTime() + EXPIRY_SCAN_HORIZON_DAYS * DAY_MS),
  );
  const queued: ExpiryScanResult['queued'] = [];
  for (let i = 0; i < candidates.length; i += SCAN_CONCURRENCY) {
    await Promise.all(
      candidates.slice(i, i + SCAN_CONCURRENCY).map(async ({ orgId, expiresAt }) => {
        // The index drops such orgs when they save; an entry written before that stays until then.
        const integration = await deps.integrations.get(orgId);
        if (integration && authMethodOf(integration) === 'certificate') return;
        const expiry = expiresAt.toISOString();
        const sent = await deps.expiryWarnings.sent(orgId, expiry);
        const plan = planExpiryNotification({ orgId, expiresAt, now, sent });
        if (!plan) return;
        await deps.notificationQueue.add(plan.job);
        try {
          await deps.expiryWarnings.markSent(
            orgId,
            expiry,
            plan.label,
            now,
            'client_secret',
            'integration',
          );
        } catch (error) {
          // Offboarded since the index was read: its job finds that too and drops.
          if (error instanceof OrgOffboardedError) return;
          throw error;
        }
        queued.push({ orgId, label: plan.label });
      }),
    );
  }
  deps.logger.info(
    { scanned: candidates.length, queued: queued.length },
    'secret expiry scan finished',
  );
  return { scanned: candidates.length, queued };
}
