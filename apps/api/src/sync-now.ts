import { randomUUID } from 'node:crypto';
import {
  buildFailure,
  isActiveRunStatus,
  newQueuedRun,
  type Run,
  type SyncAccepted,
  type SyncRequest,
} from '@pinnacle/domain';
import type { Logger } from '@pinnacle/logging';
import { syncJobId } from '@pinnacle/queue-contracts';
import type { TypedQueue } from '@pinnacle/queue-runtime';
import type { RunRepository } from '@pinnacle/redis-store';
import type { ApiConfig } from './deps.js';
import { UnavailableError, withTimeout } from './errors.js';
import type { ApiLimits } from './limits.js';

export const DEFAULT_STALE_RUN_AFTER_MS = 60_000;
export const DEFAULT_QUEUE_TIMEOUT_MS = 5_000;

export interface SyncNowDeps {
  runs: RunRepository;
  syncQueue: TypedQueue<'sync'>;
  config: ApiConfig;
  clock: () => Date;
  logger: Logger;
  /** The org's budget of new runs (SYNC_NOW_BUDGET per SYNC_NOW_BUDGET_WINDOW_SECONDS). */
  limits: Pick<ApiLimits, 'takeSyncNow' | 'giveBackSyncNow'>;
}

/** What a press came to: a run (new or joined), or the org's budget of new runs is spent. */
export type SyncNowOutcome =
  | { kind: 'accepted'; accepted: SyncAccepted }
  | { kind: 'over_budget'; retryAfterSeconds: number };

const joined = (run: Run): SyncNowOutcome => ({
  kind: 'accepted',
  accepted: { runId: run.id, status: run.status, deduplicated: true },
});

/**
 * Sync Now. A press while a run of the org is queued or running joins it
 * and spends nothing. Otherwise it takes one run from the org's budget (past
 * it: `over_budget`, and nothing is made), then the run is recorded (that
 * claims the org's single slot atomically), then its job is added under an
 * ID derived from the run, so two requests at once make one run and one
 * job; the press that lost the race joins the winner's run and gives its
 * budget back. A failed add gives the slot and the budget back; a crash
 * between the two writes is healed by the next request once the run is
 * stale (see `isLost`).
 */
export async function requestSync(
  deps: SyncNowDeps,
  orgId: string,
  request: SyncRequest,
): Promise<SyncNowOutcome> {
  const now = deps.clock();
  const active = await joinableRun(deps, orgId, now);
  if (active) return joined(active);

  const budget = await deps.limits.takeSyncNow(orgId);
  if (!budget.allowed) {
    // The counter counted the refused take too: give it back, so the count
    // stays the runs made (presses refused in a burst do not pile up).
    await deps.limits.giveBackSyncNow(orgId);
    // A run may have started since the first look (another press, the schedule): join it.
    const started = await joinableRun(deps, orgId, now);
    if (started) return joined(started);
    return { kind: 'over_budget', retryAfterSeconds: budget.retryAfterSeconds };
  }

  const candidate = newManualRun(orgId, request, now);
  let result = await deps.runs.createIfIdle(candidate);
  if (!result.created && (await isLost(deps, result.run, now))) {
    await retire(deps, result.run, now);
    result = await deps.runs.createIfIdle(candidate);
  }
  if (!result.created) {
    await deps.limits.giveBackSyncNow(orgId);
    return joined(result.run);
  }
  try {
    await enqueue(deps, result.run, request, now);
  } catch (error) {
    // No run came of it: the press costs nothing (best effort; Redis may be what failed).
    await deps.limits.giveBackSyncNow(orgId).catch(() => {});
    throw error;
  }
  return {
    kind: 'accepted',
    accepted: { runId: result.run.id, status: result.run.status, deduplicated: false },
  };
}

/** The org's run queued or running, unless it will never run (see `isLost`). */
async function joinableRun(deps: SyncNowDeps, orgId: string, now: Date): Promise<Run | null> {
  const runId = await deps.runs.activeRunId(orgId);
  if (runId === null) return null;
  const run = await deps.runs.get(orgId, runId);
  if (run === null || (await isLost(deps, run, now))) return null;
  return run;
}

function newManualRun(orgId: string, request: SyncRequest, now: Date): Run {
  return newQueuedRun({
    id: randomUUID(),
    orgId,
    trigger: 'manual',
    createdAt: now,
    allowMassRemoval: request.allowMassRemoval,
  });
}

async function enqueue(
  deps: SyncNowDeps,
  run: Run,
  request: SyncRequest,
  now: Date,
): Promise<void> {
  const timeoutMs = deps.config.queueTimeoutMs ?? DEFAULT_QUEUE_TIMEOUT_MS;
  try {
    await withTimeout(
      'adding the sync job',
      timeoutMs,
      // Keyed by the run (the sync queue's job ID rule), retried as SYNC_ATTEMPTS says.
      deps.syncQueue.add({
        orgId: run.orgId,
        runId: run.id,
        trigger: 'manual',
        ...(request.allowMassRemoval !== undefined
          ? { allowMassRemoval: request.allowMassRemoval }
          : {}),
        requestedAt: now.toISOString(),
      }),
    );
  } catch (error) {
    deps.logger.warn({ err: error, orgId: run.orgId, runId: run.id }, 'could not enqueue sync job');
    // Best effort: with Redis gone this fails too, and the stale-run check heals it later.
    await retire(deps, run, deps.clock(), 'enqueue_failed').catch((retireError: unknown) =>
      deps.logger.warn(
        { err: retireError, orgId: run.orgId, runId: run.id },
        'could not release the run after a failed enqueue; it will be taken as stale',
      ),
    );
    throw new UnavailableError('the sync job could not be enqueued', { cause: error });
  }
}

/**
 * Whether the run holding the org's slot will never run: a finished run
 * still in the slot, or a manual run still queued well after it was made
 * whose job is gone (the API died between the two writes). A scheduled run
 * is recorded by the worker as it starts, so it always has a job.
 */
async function isLost(deps: SyncNowDeps, run: Run, now: Date): Promise<boolean> {
  if (!isActiveRunStatus(run.status)) return true;
  if (run.trigger !== 'manual' || run.status !== 'queued') return false;
  const staleAfter = deps.config.staleRunAfterMs ?? DEFAULT_STALE_RUN_AFTER_MS;
  if (now.getTime() - Date.parse(run.createdAt) <= staleAfter) return false;
  const job = await withTimeout(
    'looking up the sync job',
    deps.config.queueTimeoutMs ?? DEFAULT_QUEUE_TIMEOUT_MS,
    deps.syncQueue.queue.getJob(syncJobId(run.id)),
  );
  return job === undefined || job === null;
}

/** Frees the slot of a run that will never run; an active one is recorded as failed. */
async function retire(
  deps: SyncNowDeps,
  run: Run,
  now: Date,
  reason: 'job_lost' | 'enqueue_failed' = 'job_lost',
): Promise<void> {
  if (!isActiveRunStatus(run.status)) {
    await deps.runs.releaseActive(run.orgId, run.id);
    return;
  }
  deps.logger.warn({ orgId: run.orgId, runId: run.id, reason }, 'releasing a run that cannot run');
  // save() of a finished run also frees the slot, atomically.
  await deps.runs.save({
    ...run,
    status: 'failed',
    finishedAt: now.toISOString(),
    failure: buildFailure('internal_error', { reason }),
  });
}
