import type { Logger } from '@pinnacle/logging';
import type { NotificationJob } from '@pinnacle/queue-contracts';
import type { TypedQueue } from '@pinnacle/queue-runtime';
import type { AlertRepository, RunRepository } from '@pinnacle/redis-store';

/** Orgs read per page of the index, and looked at concurrently within it. */
const PAGE = 500;
const CONCURRENCY = 32;

export interface ReminderScanDependencies {
  alerts: AlertRepository;
  runs: RunRepository;
  notificationQueue: TypedQueue<'notifications'>;
  now: () => Date;
  logger: Logger;
}

export interface ReminderScanResult {
  due: number;
  queued: { orgId: string; dueAt: string }[];
}

/**
 * The hourly reminder scan. A failure episode's reminders are otherwise
 * decided when its next failed run arrives; an integration nobody syncs
 * again (no schedule) would never get one. So every org whose indexed
 * reminder is due gets a `sync_failure_reminder` job, one per reminder slot
 * (its job ID), carrying the failure its last run recorded. The episode
 * itself decides again when the job runs (a run may have sent the reminder
 * meanwhile); the index is only a shortlist, corrected here when it lags.
 */
export async function scanFailureReminders(
  deps: ReminderScanDependencies,
): Promise<ReminderScanResult> {
  const now = deps.now();
  const queued: ReminderScanResult['queued'] = [];
  let due = 0;
  const visit = async (orgId: string) => {
    const { open } = (await deps.alerts.readState(orgId)).state;
    if (open?.nextReminderAt == null || Date.parse(open.nextReminderAt) > now.getTime()) {
      await deps.alerts.setReminderDue(orgId, open?.nextReminderAt ?? null);
      return;
    }
    const run = await deps.runs.get(orgId, open.lastRunId);
    if (!run?.failure || run.failure.code !== open.code) {
      // Trimmed from the run history: nothing to say the failure with. The
      // episode's next failed run still reminds as usual.
      deps.logger.warn(
        { orgId, runId: open.lastRunId, code: open.code },
        'failure reminder skipped: the episode has no recorded failure to repeat',
      );
      await deps.alerts.setReminderDue(orgId, null);
      return;
    }
    const job: NotificationJob = {
      type: 'sync_failure_reminder',
      orgId,
      occurredAt: now.toISOString(),
      runId: run.id,
      failure: run.failure,
      dueAt: open.nextReminderAt,
    };
    await deps.notificationQueue.add(job);
    queued.push({ orgId, dueAt: open.nextReminderAt });
  };
  for (let offset = 0; ; offset += PAGE) {
    const page = await deps.alerts.remindersDue(now, { offset, limit: PAGE });
    due += page.length;
    for (let i = 0; i < page.length; i += CONCURRENCY) {
      await Promise.all(page.slice(i, i + CONCURRENCY).map(({ orgId }) => visit(orgId)));
    }
    if (page.length < PAGE) break;
  }
  deps.logger.info({ due, queued: queued.length }, 'failure reminder scan finished');
  return { due, queued };
}
