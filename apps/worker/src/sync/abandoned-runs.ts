import { buildFailure, committedRunStats } from '@pinnacle/domain';
import { InvalidJobPayloadError, parseJobPayload, type SyncJob } from '@pinnacle/queue-contracts';
import { OrgOffboardedError } from '@pinnacle/redis-store';
import { Job, type Queue, type QueueEvents } from 'bullmq';
import { RunLifecycle, type RunLifecycleDependencies, scheduledRunId } from './run-lifecycle.js';

/** BullMQ's reason for a job whose worker died (or lost its lock) more than maxStalledCount times. */
export const STALLED_OUT_REASON = 'job stalled more than allowable limit';

/** How far back a starting worker reads the sync queue's events. */
export const ABANDONED_RUNS_LOOKBACK_MS = 60_000;

/**
 * Finishes the run of every sync job that failed for good without its
 * handler closing the run: a job that stalled out (BullMQ fails it before
 * any handler sees it) or one that threw before its run's lifecycle began.
 * Left alone, such a run would keep its org's active slot, so every later
 * Sync Now would join a run nobody executes.
 *
 * The queue's events stream announces `failed` for final failures only
 * (retries are `delayed`/`waiting`), to every worker process: each one
 * tries, and the run's final save is a compare-and-set (one wins).
 */
export function finishAbandonedRuns(
  events: QueueEvents,
  syncQueue: Queue,
  deps: RunLifecycleDependencies,
): void {
  events.on('failed', ({ jobId, failedReason }) => {
    finishAbandonedRun(syncQueue, jobId, failedReason, deps).catch((error: unknown) => {
      deps.logger.error({ err: error, jobId }, 'could not finish the run of a failed sync job');
    });
  });
}

/** Closes the run of failed job `jobId` as failed (`internal_error`), unless it has finished. */
async function finishAbandonedRun(
  syncQueue: Queue,
  jobId: string,
  failedReason: string,
  deps: RunLifecycleDependencies,
): Promise<void> {
  // Sync jobs are kept on fail; one that is gone was discarded with its org.
  const job = await Job.fromId(syncQueue, jobId);
  if (!job) return;
  let payload: SyncJob;
  try {
    payload = parseJobPayload('sync', job.data);
  } catch (error) {
    // No run to finish: the registry logged the bad payload when it failed.
    if (error instanceof InvalidJobPayloadError) return;
    throw error;
  }
  // A scheduled job's run is named after the job; opening the job as it
  // came would record that run anew once the org's slot is free.
  const runId = payload.runId ?? scheduledRunId(jobId);
  const run = await deps.runs.get(payload.orgId, runId);
  // Finished by its handler (the usual case), never created, or its org is gone.
  if (!run || run.status === 'succeeded' || run.status === 'failed') return;
  const opened = await RunLifecycle.open({ ...payload, runId }, job, deps);
  if ('outcome' in opened) return;
  const { lifecycle, log } = opened;
  const { orgId } = payload;
  try {
    if (opened.commitLanded) {
      // Its commit landed before the worker died: the run did sync.
      const meta = await deps.snapshots.versionMeta(orgId, runId);
      await lifecycle.succeed(
        {
          warnings: lifecycle.run.warnings,
          stats: { ...lifecycle.run.stats, ...(meta && committedRunStats(meta)) },
        },
        { unlessFinished: true },
      );
      log.info('sync job failed after its commit landed; run completed');
      return;
    }
    const stalledOut = failedReason === STALLED_OUT_REASON;
    log.error(
      { attemptsMade: job.attemptsMade, stalledOut },
      stalledOut
        ? "sync job's worker stopped repeatedly; failing its run"
        : 'sync job failed before its run was closed; failing its run',
    );
    const failure = buildFailure('internal_error', {
      reason: stalledOut ? 'worker_lost' : 'job_failed',
      attempts: job.attemptsMade,
    });
    await lifecycle.fail(failure, lifecycle.run.stage, {}, { unlessFinished: true });
    // What the dead attempt staged is of no use any more (it also expires).
    await deps.snapshots.discard(orgId, runId).catch((error: unknown) => {
      log.warn({ err: error }, 'could not discard the staged copy; it expires on its own');
    });
  } catch (error) {
    if (!(error instanceof OrgOffboardedError)) throw error;
    // Nothing of the run may stay, its recorded changes included.
    await deps.snapshots.discard(orgId, runId, { withChanges: true });
  }
}
