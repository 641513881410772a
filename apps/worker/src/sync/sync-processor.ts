import { createHash, randomUUID } from 'node:crypto';
import {
  buildFailure,
  type FailureContext,
  newQueuedRun,
  type Run,
  type RunStats,
  type SyncFailure,
} from '@pinnacle/domain';
import { type Logger, secretScrubber } from '@pinnacle/logging';
import type { MetricsRecorder } from '@pinnacle/metrics';
import type { NotificationJob, SyncJob } from '@pinnacle/queue-contracts';
import type { TypedQueue } from '@pinnacle/queue-runtime';
import type {
  HealthRepository,
  IntegrationRepository,
  RunRepository,
  SelectedGroupRepository,
  SnapshotStore,
} from '@pinnacle/redis-store';
import { type SyncScheduler, shouldBackOff } from '@pinnacle/sync-scheduler';
import { type Job, UnrecoverableError } from 'bullmq';
import { commitSnapshot } from './commit.js';
import { fetchMembers } from './fetch.js';
import { type EntraEndpoints, runPreflight } from './preflight.js';
import { type SyncStage, SyncStoppedError, TransientSyncError } from './sync-errors.js';

export interface SyncDependencies {
  integrations: IntegrationRepository;
  runs: RunRepository;
  health: HealthRepository;
  snapshots: SnapshotStore;
  /** The org's selected groups as preflight last saw them (names for the overview). */
  selectedGroups: SelectedGroupRepository;
  notificationQueue: TypedQueue<'notifications'>;
  /** Backs the org's schedule off while it fails on something only an admin can fix. */
  scheduler: SyncScheduler;
  endpoints: EntraEndpoints;
  logger: Logger;
  now?: () => Date;
  /** Groups paged at once within one sync. */
  groupConcurrency?: number;
  graphTimeoutMs?: number;
  /** Counts each finished run (status, failure code, duration, Graph requests). */
  metrics: Pick<MetricsRecorder, 'runFinished'>;
}

/** A scheduled job's run ID, stable across re-deliveries of the same job. */
export function scheduledRunId(jobId: string): string {
  return `s-${createHash('sha256').update(jobId).digest('hex').slice(0, 32)}`;
}

export type SyncJobResult =
  | { outcome: 'succeeded'; runId: string }
  | { outcome: 'skipped'; reason: string; runId?: string };

/**
 * One attempt of one sync job: preflight, fetch, commit, with the run record
 * kept current at every stage. Blocking failures end the job for good
 * (UnrecoverableError); transient ones are rethrown for BullMQ's backoff
 * until the last attempt, which fails as `entra_unreachable`.
 */
export async function processSyncJob(
  payload: SyncJob,
  job: Job,
  deps: SyncDependencies,
): Promise<SyncJobResult> {
  const now = deps.now ?? (() => new Date());
  const { orgId } = payload;
  const jobFields = { orgId, jobId: job.id };

  // One round trip for everything the run starts from (the run itself too,
  // unless a scheduled job must create it first). The health reading is the
  // compare-and-set token for recording the outcome: current for a run that
  // stops at once, re-read otherwise.
  const [resolved, integration, committedVersion, healthReading] = await Promise.all([
    resolveRun(),
    deps.integrations.get(orgId),
    deps.snapshots.currentVersion(orgId),
    deps.health.read(orgId),
  ]);
  if ('outcome' in resolved) return resolved;
  let run: Run = resolved.run;
  const log = deps.logger.child({ ...jobFields, runId: run.id });
  if (run.status === 'succeeded' || run.status === 'failed') {
    return { outcome: 'skipped', reason: 'already_finished', runId: run.id };
  }

  const attempt = job.attemptsMade + 1;
  const maxAttempts = job.opts.attempts ?? 1;
  let stage: SyncStage = 'preflight';
  let warnings = run.warnings;
  const stats = { ...run.stats };
  // Saves go out in order, one after the other, but the caller need not wait
  // for one before doing more work: a failure surfaces at the next awaited save.
  let saving: Promise<void> = Promise.resolve();
  const save = (patch: Partial<Run>): Promise<void> => {
    const next: Run = { ...run, ...patch };
    run = next;
    saving = saving.then(() => deps.runs.save(next));
    return saving;
  };

  // The commit of this very run landed before the worker died: finish it.
  if (committedVersion === run.id) {
    log.info('commit already landed in an earlier attempt; completing the run');
    await finishSucceeded();
    return { outcome: 'succeeded', runId: run.id };
  }

  // Not awaited: preflight starts while the run is marked running (a
  // failed write surfaces at the next save).
  save({
    status: 'running',
    stage,
    attempts: attempt,
    startedAt: run.startedAt ?? now().toISOString(),
  }).catch(() => {});
  log.info({ attempt, maxAttempts, trigger: run.trigger }, 'sync started');

  let failureContext: FailureContext = { authorityHost: deps.endpoints.authorityHost };
  let release: () => void = () => {};
  try {
    if (!integration) {
      throw new SyncStoppedError(
        buildFailure(
          'settings_incomplete',
          { missing: ['tenantId', 'clientId', 'clientSecret'] },
          failureContext,
        ),
        'preflight',
      );
    }
    const secret = deps.integrations.revealSecret(integration);
    if (secret) release = secretScrubber.track(secret);
    const preflight = await runPreflight({
      integration,
      clientSecret: secret,
      endpoints: deps.endpoints,
      now: now(),
      concurrency: deps.groupConcurrency ?? 4,
      ...(deps.graphTimeoutMs ? { graphTimeoutMs: deps.graphTimeoutMs } : {}),
      // The org's record and this run both keep the names the check saw.
      onGroupsChecked: async (groups) => {
        await Promise.all([
          deps.selectedGroups.recordCheck(orgId, now(), groups),
          save({ groups }),
        ]);
      },
    });
    failureContext = {
      ...failureContext,
      tenantId: preflight.settings.tenantId,
      clientId: preflight.settings.clientId,
    };
    warnings = preflight.warnings;
    stats.groups = preflight.groups.length;

    stage = 'fetch';
    await save({ stage, warnings });
    let pages = 0;
    await fetchMembers({
      orgId,
      runId: run.id,
      groupIds: preflight.settings.groupIds,
      graph: preflight.graph,
      snapshots: deps.snapshots,
      failureContext,
      concurrency: deps.groupConcurrency ?? 4,
      onPage: async () => {
        pages++;
        if (pages % 20 === 0) await job.updateProgress({ stage: 'fetch', pages });
      },
    });
    Object.assign(stats, {
      graphRequests: preflight.graph.stats.requests,
      throttledRequests: preflight.graph.stats.throttled,
      tokenRequests: preflight.tokens.stats.tokenRequests,
    });

    stage = 'commit';
    await save({ stage, stats });
    const diff = await commitSnapshot({
      orgId,
      runId: run.id,
      snapshots: deps.snapshots,
      includeDisabledUsers: preflight.settings.includeDisabledUsers,
      guard: preflight.settings.massRemovalGuard,
      allowMassRemoval: payload.allowMassRemoval === true,
      failureContext,
      meta: {
        runId: run.id,
        committedAt: now().toISOString(),
        groups: stats.groups,
        graphRequests: stats.graphRequests,
        throttledRequests: stats.throttledRequests,
        tokenRequests: stats.tokenRequests,
      },
    });
    Object.assign(stats, {
      users: diff.users,
      added: diff.added,
      removed: diff.removed,
      changed: diff.changed,
    });
    await finishSucceeded();
    const mem = process.memoryUsage();
    log.info(
      {
        stats,
        rssMb: Math.round(mem.rss / 1048576),
        heapUsedMb: Math.round(mem.heapUsed / 1048576),
        externalMb: Math.round(mem.external / 1048576),
      },
      'sync succeeded',
    );
    return { outcome: 'succeeded', runId: run.id };
  } catch (error) {
    if (error instanceof SyncStoppedError) {
      await finishFailed(error.failure, error.stage);
      throw blocking(error.failure.code);
    }
    const transient = error instanceof TransientSyncError;
    const lastAttempt = attempt >= maxAttempts;
    if (!lastAttempt) {
      log.warn(
        { err: error, attempt, maxAttempts, stage },
        transient ? 'transient failure; will retry' : 'unexpected error; will retry',
      );
      await save({ status: 'queued', stage });
      throw error;
    }
    const failure = transient
      ? buildFailure(
          'entra_unreachable',
          { attempts: attempt, lastReason: (error as TransientSyncError).reason },
          failureContext,
        )
      : buildFailure(
          'internal_error',
          { attempts: attempt, reason: 'unexpected_error' },
          failureContext,
        );
    log.error({ err: error, attempt, stage }, 'retries exhausted');
    await deps.snapshots.discard(orgId, run.id);
    await finishFailed(failure, transient ? (error as TransientSyncError).stage : stage);
    throw blocking(failure.code);
  } finally {
    release();
  }

  /** The run this job executes, or why the job has nothing to do. */
  async function resolveRun(): Promise<{ run: Run } | SyncJobResult> {
    if (payload.runId) {
      const found = await deps.runs.get(orgId, payload.runId);
      if (found) return { run: found };
      deps.logger.warn(
        { ...jobFields, runId: payload.runId },
        'run record not found; dropping job',
      );
      return { outcome: 'skipped', reason: 'run_not_found', runId: payload.runId };
    }
    const runId = scheduledRunId(String(job.id ?? randomUUID()));
    const created = await deps.runs.createIfIdle(
      newQueuedRun({ id: runId, orgId, trigger: payload.trigger, createdAt: now() }),
    );
    if (!created.created && created.run.id !== runId) {
      // A Sync Now (or an earlier schedule) is already on it: never two at once.
      deps.logger.info(
        { ...jobFields, activeRunId: created.run.id },
        'org already has a run in progress; scheduled run skipped',
      );
      return { outcome: 'skipped', reason: 'run_in_progress', runId: created.run.id };
    }
    return { run: created.run };
  }

  async function finishSucceeded(): Promise<void> {
    const current = run;
    const at = now().toISOString();
    const committed = await deps.snapshots.versionMeta(orgId, current.id);
    const finalStats: RunStats = committed ? { ...stats, ...pickStats(committed) } : stats;
    const transition = await deps.health.record(
      orgId,
      { kind: 'succeeded', runId: current.id, at },
      healthReading,
    );
    if (transition.before.status === 'failing' && integration) {
      // Fixed: back to the admin's own schedule.
      await deps.scheduler.apply(orgId, integration.schedule, { backedOff: false });
    }
    if (transition.before.status === 'failing' && transition.before.openFailureCode) {
      await handOff({
        type: 'sync_recovered',
        orgId,
        runId: current.id,
        occurredAt: at,
        previousFailureCode: transition.before.openFailureCode,
      });
    }
    await save({
      status: 'succeeded',
      stage: 'commit',
      finishedAt: at,
      failure: null,
      warnings,
      stats: finalStats,
    });
    void deps.metrics.runFinished(run);
  }

  async function finishFailed(failure: SyncFailure, failedStage: SyncStage): Promise<void> {
    const current = run;
    const at = now().toISOString();
    log.warn({ code: failure.code, stage: failedStage }, 'sync failed');
    // Independent of each other, so at once; the run is marked failed only
    // after all of them, so a crash in between re-runs the job and repeats
    // them (each is idempotent per run).
    await Promise.all([
      deps.health.record(
        orgId,
        { kind: 'failed', runId: current.id, at, code: failure.code, category: failure.category },
        healthReading,
      ),
      handOff({ type: 'sync_failed', orgId, runId: current.id, occurredAt: at, failure }),
      integration?.schedule.enabled && shouldBackOff(failure.category)
        ? // Failing every interval would only repeat the same alert: run daily
          // until the admin changes something (saving settings lifts this).
          deps.scheduler.apply(orgId, integration.schedule, { backedOff: true })
        : null,
    ]);
    const saved = save({
      status: 'failed',
      stage: failedStage,
      finishedAt: at,
      failure,
      warnings,
      stats,
    });
    // Told before the save lands, so the metrics leave in the same write.
    void deps.metrics.runFinished(run);
    await saved;
  }

  async function handOff(message: NotificationJob): Promise<void> {
    // The job ID is derived from the run: a retried or crashed hand-off adds it once.
    await deps.notificationQueue.add(message);
  }
}

/**
 * BullMQ's no-retry signal for a failure the run record already explains.
 * Its stack would only say where this function is, and BullMQ stores and
 * formats it for every failed job: set once, it costs nothing.
 */
function blocking(code: string): UnrecoverableError {
  const error = new UnrecoverableError(code);
  error.stack = `UnrecoverableError: ${code}`;
  return error;
}

function pickStats(meta: Record<string, unknown>): Partial<RunStats> {
  const out: Partial<RunStats> = {};
  for (const key of [
    'users',
    'added',
    'removed',
    'changed',
    'groups',
    'graphRequests',
    'throttledRequests',
    'tokenRequests',
  ] as const) {
    const value = meta[key];
    if (typeof value === 'number') out[key] = value;
  }
  return out;
}
