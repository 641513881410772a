import { createHash, randomUUID } from 'node:crypto';
import {
  episodeRef,
  type HealthTransition,
  newQueuedRun,
  type Run,
  type RunOutcome,
  type RunStage,
  recordRunOutcome,
  type SyncFailure,
  scheduleIntervalMs,
} from '@pinnacle/domain';
import type { Logger } from '@pinnacle/logging';
import type { MetricsRecorder } from '@pinnacle/metrics';
import { type NotificationJob, notificationJobId, type SyncJob } from '@pinnacle/queue-contracts';
import type { TypedQueue } from '@pinnacle/queue-runtime';
import {
  type FleetIndex,
  type HealthReading,
  type HealthRepository,
  type IntegrationRepository,
  OrgOffboardedError,
  type RunRepository,
  type SnapshotStore,
  type StoredIntegration,
} from '@pinnacle/redis-store';
import { type SyncScheduler, shouldBackOff } from '@pinnacle/sync-scheduler';
import type { Job } from 'bullmq';

export interface RunLifecycleDependencies {
  integrations: IntegrationRepository;
  runs: RunRepository;
  health: HealthRepository;
  snapshots: SnapshotStore;
  notificationQueue: TypedQueue<'notifications'>;
  /** Backs the org's schedule off while it fails on something only an admin can fix. */
  scheduler: SyncScheduler;
  logger: Logger;
  now: () => Date;
  /** Counts each finished run (status, failure code, duration, Graph requests). */
  metrics: Pick<MetricsRecorder, 'runFinished'>;
  /** The ops view's index of every org's status: told what each finished run decided. */
  fleet: Pick<FleetIndex, 'recordHealth'>;
}

/**
 * What a sync job comes to when there is no run for it to execute.
 * `org_offboarded` and `run_not_found`: the run (or the integration a
 * scheduled job belongs to) was deleted with its org; nothing of the job
 * is kept.
 */
export type SkippedJob = { outcome: 'skipped'; reason: string; runId?: string };

/** Skips whose job belongs to an offboarded org: the job itself is discarded. */
export const OFFBOARDED_SKIPS: readonly string[] = ['org_offboarded', 'run_not_found'];

/** A scheduled job's run ID, stable across re-deliveries of the same job. */
export function scheduledRunId(jobId: string): string {
  return `s-${createHash('sha256').update(jobId).digest('hex').slice(0, 32)}`;
}

/** What a run reports as it goes: carried into every save from then on. */
export type RunProgress = Partial<Pick<Run, 'warnings' | 'stats' | 'groups'>>;

/**
 * The bookkeeping of one attempt of one run, apart from the sync itself:
 * the run record, the integration's health, the org's schedule back-off,
 * the hand-off to the notifier and the metrics callback.
 *
 * Saves of the run record go out one at a time, in the order they are
 * asked for, each writing the whole record as it is then. When a write
 * fails:
 * - a progress save (running, a new stage, back to queued for a retry) is
 *   logged and otherwise ignored: the run carries on, the next save writes
 *   the whole record again, and no other save is affected by it;
 * - a closing write (the health record, the notifier hand-off, the schedule
 *   change, the final save) fails the attempt with that error, and BullMQ
 *   retries it. Every closing write is idempotent per run (the health record
 *   ignores a run it holds already and learns the same transition back, the
 *   hand-off's job ID derives from the run, a commit that landed is completed
 *   rather than redone), so the retry closes the same run the same way, and
 *   the run is marked finished only once everything else is written.
 *
 * Every write is fenced by the run's record (see WriteFence): once its org
 * is offboarded, the first of them throws OrgOffboardedError and nothing
 * more is written. The writes outside the org's slot (the hand-off, the
 * schedule) are made, then checked, and taken back when the org is gone.
 */
export class RunLifecycle {
  readonly attempt: number;
  readonly maxAttempts: number;
  private current: Run;
  private saving: Promise<void> = Promise.resolve();

  private constructor(
    run: Run,
    job: Job,
    private readonly integration: StoredIntegration | null,
    private healthReading: HealthReading,
    private readonly deps: RunLifecycleDependencies,
    private readonly log: Logger,
  ) {
    this.current = run;
    this.attempt = job.attemptsMade + 1;
    this.maxAttempts = job.opts.attempts ?? 1;
  }

  /**
   * The run a sync job executes, with what it starts from, in one round trip
   * (the run itself too, unless a scheduled job must create it first); or why
   * the job has nothing to do. The health reading is the compare-and-set token
   * for recording the outcome: nothing else writes the health while the run
   * holds the org's slot, so it is current at the end too (re-read if not).
   */
  static async open(
    payload: SyncJob,
    job: Job,
    deps: RunLifecycleDependencies,
  ): Promise<
    | {
        lifecycle: RunLifecycle;
        integration: StoredIntegration | null;
        /** This run's commit landed in an earlier attempt: only its closing is left. */
        commitLanded: boolean;
        log: Logger;
      }
    | SkippedJob
  > {
    const { orgId } = payload;
    const jobFields = { orgId, jobId: job.id };
    const [resolved, integration, committedVersion, healthReading] = await Promise.all([
      resolveRun(payload, job, deps),
      deps.integrations.get(orgId),
      deps.snapshots.currentVersion(orgId),
      deps.health.read(orgId),
    ]);
    if ('outcome' in resolved) return resolved;
    const { run } = resolved;
    if (run.status === 'succeeded' || run.status === 'failed') {
      return { outcome: 'skipped', reason: 'already_finished', runId: run.id };
    }
    const log = deps.logger.child({ ...jobFields, runId: run.id });
    return {
      lifecycle: new RunLifecycle(run, job, integration, healthReading, deps, log),
      integration,
      commitLanded: committedVersion === run.id,
      log,
    };
  }

  get run(): Run {
    return this.current;
  }

  get lastAttempt(): boolean {
    return this.attempt >= this.maxAttempts;
  }

  /** Marks the run running. Not awaited by design: preflight starts meanwhile. */
  start(): void {
    void this.progress({
      status: 'running',
      stage: 'preflight',
      attempts: this.attempt,
      startedAt: this.current.startedAt ?? this.deps.now().toISOString(),
    });
  }

  /** The run moves on to `stage`. */
  enter(stage: RunStage, progress: RunProgress): Promise<void> {
    return this.progress({ stage, ...progress });
  }

  /** Something the run found out along the way (e.g. the groups preflight saw). */
  note(progress: RunProgress): Promise<void> {
    return this.progress(progress);
  }

  /** Back to queued: BullMQ retries the job after its backoff. */
  retry(stage: RunStage): Promise<void> {
    return this.progress({ status: 'queued', stage });
  }

  /**
   * The run succeeded (its commit landed): health, then the recovery's
   * schedule and hand-off when it ends a failure, then the final save.
   */
  async succeed(
    progress: Required<Pick<RunProgress, 'warnings' | 'stats'>>,
    options: { unlessFinished?: boolean } = {},
  ): Promise<void> {
    const { orgId } = this.current;
    const at = this.deps.now().toISOString();
    const transition = await this.recordHealth({ kind: 'succeeded', runId: this.current.id, at });
    if (transition.kind === 'recovered') {
      await Promise.all([
        // Fixed: back to the admin's own schedule.
        this.integration ? this.applySchedule(this.integration.schedule, false) : null,
        this.handOff({
          type: 'sync_recovered',
          orgId,
          runId: this.current.id,
          occurredAt: at,
          previousFailureCode: transition.previousFailureCode,
          ...(transition.closed ? { episode: episodeRef(transition.closed) } : {}),
        }),
      ]);
    }
    const patch: Partial<Run> = {
      status: 'succeeded',
      stage: 'commit',
      finishedAt: at,
      failure: null,
      ...progress,
    };
    if (options.unlessFinished) {
      if (await this.saveUnlessFinished(patch)) void this.deps.metrics.runFinished(this.current);
      return;
    }
    await this.save(patch);
    void this.deps.metrics.runFinished(this.current);
  }

  /**
   * The run failed for good: health, then the hand-off (it carries the
   * episode the health record decided), beside the schedule's back-off;
   * then the final save.
   */
  async fail(
    failure: SyncFailure,
    stage: RunStage,
    progress: RunProgress,
    options: { unlessFinished?: boolean } = {},
  ): Promise<void> {
    const { orgId } = this.current;
    const at = this.deps.now().toISOString();
    // First, so that a run whose org is gone changes nothing else.
    const transition = await this.recordHealth({
      kind: 'failed',
      runId: this.current.id,
      at,
      code: failure.code,
      category: failure.category,
    });
    const episode = 'episode' in transition ? episodeRef(transition.episode) : undefined;
    this.log.warn({ code: failure.code, stage, episode: transition.kind }, 'sync failed');
    await Promise.all([
      this.handOff({
        type: 'sync_failed',
        orgId,
        runId: this.current.id,
        occurredAt: at,
        failure,
        ...(episode ? { episode } : {}),
      }),
      this.integration?.schedule.enabled && shouldBackOff(failure.category)
        ? // Failing every interval would only repeat the same alert: run daily
          // until the admin changes something (saving settings lifts this).
          this.applySchedule(this.integration.schedule, true)
        : null,
    ]);
    const patch: Partial<Run> = { status: 'failed', stage, finishedAt: at, failure, ...progress };
    if (options.unlessFinished) {
      if (await this.saveUnlessFinished(patch)) void this.deps.metrics.runFinished(this.current);
      return;
    }
    const saved = this.save(patch);
    // Told before the save lands, so the metrics leave in the same write.
    void this.deps.metrics.runFinished(this.current);
    await saved;
  }

  /**
   * Records the run's outcome in the integration's health and returns the
   * transition it made. The worker is the one component that decides
   * "failed again", "new code" and "recovered": runs of an org finish here
   * one at a time and in their real order, and the compare-and-set makes
   * each decision once; the notifier only follows the episode the hand-off
   * names (it sees hand-offs late, twice and out of order). Recording a run
   * again (a retried attempt) learns the same transition back.
   */
  private async recordHealth(outcome: RunOutcome): Promise<HealthTransition> {
    const { orgId } = this.current;
    for (let round = 0; round < 10; round++) {
      const reading = this.healthReading;
      const { next, transition, replay } = recordRunOutcome(reading.health, outcome);
      const fence = { runId: this.current.id };
      if (replay || (await this.deps.health.compareAndSet(orgId, reading, next, fence))) {
        // The fleet index follows the health record (the same record gives the same entry).
        await this.deps.fleet.recordHealth(
          orgId,
          next,
          this.integration ? scheduleIntervalMs(this.integration.schedule) : undefined,
          this.deps.now(),
          fence,
        );
        return transition;
      }
      this.healthReading = await this.deps.health.read(orgId);
    }
    throw new Error(`Could not record the run outcome of org ${orgId}: too many concurrent writes`);
  }

  private async handOff(message: NotificationJob): Promise<void> {
    // Its job ID derives from the run (the queue's rule): a retried or
    // crashed hand-off adds it once.
    await this.deps.notificationQueue.add(message);
    if (!(await this.deps.runs.exists(message.orgId, this.current.id))) {
      // Offboarded meanwhile: take it back (a notifier that already took it
      // finds the run gone and drops it).
      await this.deps.notificationQueue.queue.remove(notificationJobId(message));
      throw new OrgOffboardedError(message.orgId);
    }
  }

  /** The org's schedule, backed off or not; taken back if the org was offboarded meanwhile. */
  private async applySchedule(
    schedule: StoredIntegration['schedule'],
    backedOff: boolean,
  ): Promise<void> {
    const { orgId } = this.current;
    await this.deps.scheduler.apply(orgId, schedule, {
      backedOff,
      live: () => this.deps.integrations.exists(orgId),
    });
  }

  /**
   * Queues a save of the whole run with `patch` applied, after every save
   * asked for before it has settled (landed or failed). Rejects when this
   * save fails.
   */
  private save(patch: Partial<Run>): Promise<void> {
    // A copy of the counts: the caller keeps counting into its own object.
    const run: Run = {
      ...this.current,
      ...patch,
      stats: { ...(patch.stats ?? this.current.stats) },
    };
    this.current = run;
    const saved = this.saving.then(async () => {
      // The record is gone: the org was offboarded while the run went on.
      if (!(await this.deps.runs.save(run))) throw new OrgOffboardedError(run.orgId);
    });
    this.saving = saved.catch(() => {});
    return saved;
  }

  /**
   * The final save, unless the stored run has finished meanwhile: whether it
   * won. Several processes may finish the same run at once (see
   * abandoned-runs.ts): one save wins and only it counts the run; the health
   * record and the hand-off dedupe by run.
   */
  private async saveUnlessFinished(patch: Partial<Run>): Promise<boolean> {
    const run: Run = {
      ...this.current,
      ...patch,
      stats: { ...(patch.stats ?? this.current.stats) },
    };
    await this.saving;
    const result = await this.deps.runs.saveUnlessFinished(run);
    if (result === 'gone') throw new OrgOffboardedError(run.orgId);
    if (result === 'saved') this.current = run;
    return result === 'saved';
  }

  /** A save that reports progress: a failure is logged, never thrown. */
  private progress(patch: Partial<Run>): Promise<void> {
    return this.save(patch).catch((error: unknown) => {
      // The run's next fenced write stops it.
      if (error instanceof OrgOffboardedError) return;
      this.log.warn(
        { err: error, status: patch.status ?? this.current.status, stage: patch.stage },
        'could not save the run record; carrying on (the next save writes it whole)',
      );
    });
  }
}

/** The run this job executes, or why the job has nothing to do. */
async function resolveRun(
  payload: SyncJob,
  job: Job,
  deps: RunLifecycleDependencies,
): Promise<{ run: Run } | SkippedJob> {
  const { orgId } = payload;
  const jobFields = { orgId, jobId: job.id };
  if (payload.runId) {
    const found = await deps.runs.get(orgId, payload.runId);
    if (found) return { run: found };
    deps.logger.warn({ ...jobFields, runId: payload.runId }, 'run record not found; dropping job');
    return { outcome: 'skipped', reason: 'run_not_found', runId: payload.runId };
  }
  const runId = scheduledRunId(String(job.id ?? randomUUID()));
  let created: Awaited<ReturnType<RunRepository['createIfIdle']>>;
  try {
    // Only while the integration whose schedule made the job still exists.
    created = await deps.runs.createIfIdle(
      newQueuedRun({ id: runId, orgId, trigger: payload.trigger, createdAt: deps.now() }),
      { fence: 'integration' },
    );
  } catch (error) {
    if (!(error instanceof OrgOffboardedError)) throw error;
    deps.logger.info({ ...jobFields }, 'org has no integration any more; scheduled run skipped');
    return { outcome: 'skipped', reason: 'org_offboarded' };
  }
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
