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

export const DEFAULT_STALE_RUN_AFTER_MS = 60_000;
export const DEFAULT_QUEUE_TIMEOUT_MS = 5_000;

export interface SyncNowDeps {
  runs: RunRepository;
  syncQueue: TypedQueue<'sync'>;
  config: ApiConfig;
  clock: () => Date;
  logger: Logger;
}

/**
 * Sync Now. The run is recorded first (that claims the org's single slot
 * atomically), then its job is added under an ID derived from the run, so
 * two requests at once make one run and one job. A failed add gives the
 * slot back; a crash between the two writes is healed by the next request
 * once the run is stale (see `isLost`).
 */
export async function requestSync(
  deps: SyncNowDeps,
  orgId: string,
  request: SyncRequest,
): Promise<SyncAccepted> {
  const now = deps.clock();
  const candidate = newManualRun(orgId, request, now);
  let result = await deps.runs.createIfIdle(candidate);
  if (!result.created && (await isLost(deps, result.run, now))) {
    await retire(deps, result.run, now);
    result = await deps.runs.createIfIdle(candidate);
  }
  if (!result.created) {
    return { runId: result.run.id, status: result.run.status, deduplicated: true };
  }
  await enqueue(deps, result.run, request, now);
  return { runId: result.run.id, status: result.run.status, deduplicated: false };
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
