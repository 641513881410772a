import {
  authMethodOf,
  currentCertificate,
  isActiveRunStatus,
  nextRunAt,
  parseSchedule,
  type Run,
} from '@pinnacle/domain';
import type { StoredIntegration } from '@pinnacle/redis-store';
import type { ApiStores } from './deps.js';
import type { SyncOverview } from './schemas.js';
import { clientSecretView } from './views.js';

const DAY_MS = 24 * 3600 * 1000;

/** Whole days until `expiresAt`, rounded down: negative once it has passed. */
export function daysLeft(expiresAt: string, now: Date): number | null {
  const ms = Date.parse(expiresAt);
  if (!Number.isFinite(ms)) return null;
  return Math.floor((ms - now.getTime()) / DAY_MS);
}

function nextScheduledRun(integration: StoredIntegration | null, now: Date): string | null {
  if (!integration?.schedule.enabled) return null;
  const parsed = parseSchedule(integration.schedule.every);
  // A stored schedule that no longer parses runs nowhere; preflight reports it.
  if (!parsed.ok) return null;
  return nextRunAt(parsed.schedule, integration.orgId, now).toISOString();
}

async function runOrNull(
  stores: ApiStores,
  orgId: string,
  runId: string | null,
): Promise<Run | null> {
  return runId ? stores.runs.get(orgId, runId) : null;
}

/** `GET /orgs/{orgId}/sync-overview`, read from the stores. */
export async function buildSyncOverview(
  stores: ApiStores,
  orgId: string,
  now: Date,
  scheduler?: { nextRun(orgId: string): Promise<Date | null> },
): Promise<SyncOverview> {
  const [integration, health, activeRunId, scheduled, certificates] = await Promise.all([
    stores.integrations.get(orgId),
    stores.health.get(orgId),
    stores.runs.activeRunId(orgId),
    scheduler ? scheduler.nextRun(orgId) : Promise.resolve(null),
    stores.certificates.list(orgId),
  ]);
  const certificate = currentCertificate(certificates);
  const certificateDaysLeft = certificate ? daysLeft(certificate.notAfter, now) : null;
  const [activeRun, lastRun, lastSuccessfulRun, groups] = await Promise.all([
    runOrNull(stores, orgId, activeRunId),
    stores.runs.findLatest(orgId, (run) => !isActiveRunStatus(run.status)),
    runOrNull(stores, orgId, health.lastSuccessfulRunId),
    // Names as the latest preflight saw them; a group gone missing keeps its last name.
    stores.selectedGroups.list(orgId, integration?.groupIds ?? []),
  ]);
  const secret = clientSecretView(integration);
  const left = secret.expiresAt ? daysLeft(secret.expiresAt, now) : null;
  return {
    orgId,
    configured: integration !== null,
    status: health.status,
    currentRun: activeRun && isActiveRunStatus(activeRun.status) ? activeRun : null,
    lastRun,
    lastSuccessfulRun,
    lastSuccessAt: health.lastSuccessAt,
    openFailure: health.openFailure
      ? {
          code: health.openFailure.code,
          category: health.openFailure.category,
          since: health.openFailure.since,
          lastSeenAt: health.openFailure.lastSeenAt,
          count: health.openFailure.count,
          firstRunId: health.openFailure.firstRunId,
          lastRunId: health.openFailure.lastRunId,
        }
      : null,
    schedule: integration
      ? { enabled: integration.schedule.enabled, every: integration.schedule.every }
      : null,
    // BullMQ's own next fire time (it reflects a back-off); computed when it has none yet.
    nextScheduledRunAt: integration?.schedule.enabled
      ? (scheduled?.toISOString() ?? nextScheduledRun(integration, now))
      : null,
    clientSecret: {
      ...secret,
      daysLeft: left,
      expired:
        left !== null && secret.expiresAt !== null && Date.parse(secret.expiresAt) <= now.getTime(),
    },
    authMethod: integration ? authMethodOf(integration) : null,
    certificate: certificate
      ? {
          id: certificate.id,
          thumbprint: certificate.thumbprint,
          thumbprintSha256: certificate.thumbprintSha256,
          status: certificate.status,
          notAfter: certificate.notAfter,
          daysLeft: certificateDaysLeft ?? 0,
          expired: Date.parse(certificate.notAfter) <= now.getTime(),
        }
      : null,
    groups,
  };
}
