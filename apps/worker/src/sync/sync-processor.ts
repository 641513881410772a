import { capacityDefaults } from '@pinnacle/config';
import {
  acceptanceChanges,
  authMethodOf,
  buildFailure,
  committedRunStats,
  type FailureContext,
  type RunStage,
  type RunStats,
  type RunWarning,
  type SyncFailure,
} from '@pinnacle/domain';
import { type Logger, pemSecretParts, secretScrubber } from '@pinnacle/logging';
import type { MetricsRecorder } from '@pinnacle/metrics';
import type { SyncJob } from '@pinnacle/queue-contracts';
import type { TypedQueue } from '@pinnacle/queue-runtime';
import {
  type CertificateRepository,
  type FleetIndex,
  type HealthRepository,
  type IntegrationRepository,
  OrgOffboardedError,
  type RunRepository,
  type SelectedGroupRepository,
  type SnapshotStore,
} from '@pinnacle/redis-store';
import {
  type CertificateSource,
  type EntraEndpoints,
  runPreflight,
  type SyncCertificate,
  SyncStoppedError,
  TransientSyncError,
} from '@pinnacle/sync-preflight';
import type { SyncScheduler } from '@pinnacle/sync-scheduler';
import { type Job, UnrecoverableError } from 'bullmq';
import { commitSnapshot } from './commit.js';
import { fetchMembers } from './fetch.js';
import { RunLifecycle, type SkippedJob } from './run-lifecycle.js';

export { scheduledRunId } from './run-lifecycle.js';

export interface SyncDependencies {
  integrations: IntegrationRepository;
  runs: RunRepository;
  health: HealthRepository;
  snapshots: SnapshotStore;
  /** The org's selected groups as preflight last saw them (names for the overview). */
  selectedGroups: SelectedGroupRepository;
  /** The org's certificates and their sealed private keys. */
  certificates: CertificateRepository;
  notificationQueue: TypedQueue<'notifications'>;
  /** Backs the org's schedule off while it fails on something only an admin can fix. */
  scheduler: SyncScheduler;
  endpoints: EntraEndpoints;
  logger: Logger;
  now?: () => Date;
  /** Groups paged at once within one sync. */
  groupConcurrency?: number;
  /** SYNC_MAX_USERS: users one org may sync; past it the run fails `directory_too_large`. */
  maxUsers?: number;
  graphTimeoutMs?: number;
  /** Counts each finished run (status, failure code, duration, Graph requests). */
  metrics: Pick<MetricsRecorder, 'runFinished'>;
  /** The ops view's index of every org's status. */
  fleet: Pick<FleetIndex, 'recordHealth'>;
}

export type SyncJobResult = { outcome: 'succeeded'; runId: string } | SkippedJob;

/**
 * One attempt of one sync job: preflight, fetch, commit. The run's
 * bookkeeping (its record, health, schedule, hand-off, metrics) is the
 * RunLifecycle's. Blocking failures end the job for good
 * (UnrecoverableError); transient ones are rethrown for BullMQ's backoff
 * until the last attempt, which fails as `entra_unreachable`. However the
 * attempt stops short of a commit, its staged copy is deleted at once (a
 * retry stages afresh). When the run's org is offboarded meanwhile, its
 * next write is refused (OrgOffboardedError): the attempt then deletes what
 * the run staged and ends as skipped (`org_offboarded`), failing nothing.
 */
export async function processSyncJob(
  payload: SyncJob,
  job: Job,
  deps: SyncDependencies,
): Promise<SyncJobResult> {
  const now = deps.now ?? (() => new Date());
  const opened = await RunLifecycle.open(payload, job, { ...deps, now });
  if ('outcome' in opened) return opened;
  const { lifecycle, log } = opened;
  const { orgId } = payload;
  const runId = lifecycle.run.id;
  try {
    return await runSync(payload, job, deps, opened, now);
  } catch (error) {
    if (!(error instanceof OrgOffboardedError)) throw error;
    // Nothing of the run may stay, its recorded changes included.
    await deps.snapshots.discard(orgId, runId, { withChanges: true });
    log.info('org offboarded while the run was in flight; stopped without committing');
    return { outcome: 'skipped', reason: 'org_offboarded', runId };
  }
}

async function runSync(
  payload: SyncJob,
  job: Job,
  deps: SyncDependencies,
  opened: Exclude<Awaited<ReturnType<typeof RunLifecycle.open>>, SkippedJob>,
  now: () => Date,
): Promise<SyncJobResult> {
  const { lifecycle, integration, log } = opened;
  const { orgId } = payload;
  const runId = lifecycle.run.id;
  const fence = { runId };
  let warnings: RunWarning[] = lifecycle.run.warnings;
  const stats: RunStats = { ...lifecycle.run.stats };

  if (opened.commitLanded) {
    // The commit of this very run landed before its worker died: close it
    // with the counts the commit recorded.
    log.info('commit already landed in an earlier attempt; completing the run');
    const meta = await deps.snapshots.versionMeta(orgId, runId);
    await lifecycle.succeed({
      warnings,
      stats: { ...stats, ...(meta && committedRunStats(meta)) },
    });
    return { outcome: 'succeeded', runId };
  }

  lifecycle.start();
  log.info(
    {
      attempt: lifecycle.attempt,
      maxAttempts: lifecycle.maxAttempts,
      trigger: lifecycle.run.trigger,
    },
    'sync started',
  );
  let stage: RunStage = 'preflight';
  // When each stage began (ms, this process's clock): the success line's `stageMs`.
  const began: Record<RunStage, number> = { preflight: performance.now(), fetch: 0, commit: 0 };
  let failureContext: FailureContext = { authorityHost: deps.endpoints.authorityHost };
  let release: () => void = () => {};
  try {
    // Preflight: settings, credentials, permissions, groups.
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
    const onCertificates = authMethodOf(integration) === 'certificate';
    // Only the credential the org authenticates with is decrypted.
    const secret = onCertificates ? null : deps.integrations.revealSecret(integration);
    const releases: (() => void)[] = [];
    release = () => {
      for (const r of releases.splice(0)) r();
    };
    if (secret) releases.push(secretScrubber.track(secret));
    const certificates = onCertificates
      ? await certificateSource(orgId, runId, releases)
      : undefined;
    const preflight = await runPreflight({
      integration,
      clientSecret: secret,
      ...(certificates ? { certificates } : {}),
      endpoints: deps.endpoints,
      now: now(),
      ...(deps.graphTimeoutMs ? { graphTimeoutMs: deps.graphTimeoutMs } : {}),
      // The org's record and this run both keep the names the check saw.
      onGroupsChecked: async (groups) => {
        await Promise.all([
          deps.selectedGroups.recordCheck(orgId, now(), groups, fence),
          lifecycle.note({ groups }),
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

    // Fetch: every selected group's members, staged in Redis page by page.
    stage = 'fetch';
    began.fetch = performance.now();
    await lifecycle.enter(stage, { warnings });
    let pages = 0;
    await fetchMembers({
      orgId,
      runId,
      groupIds: preflight.settings.groupIds,
      graph: preflight.graph,
      snapshots: deps.snapshots,
      failureContext,
      fence,
      maxUsers: deps.maxUsers ?? capacityDefaults.SYNC_MAX_USERS,
      concurrency: deps.groupConcurrency ?? 4,
      onPage: async () => {
        pages++;
        if (pages % 20 === 0) await job.updateProgress({ stage: 'fetch', pages });
      },
    });
    stats.graphRequests = preflight.graph.stats.requests;
    stats.throttledRequests = preflight.graph.stats.throttled;
    stats.tokenRequests = preflight.tokens.stats.tokenRequests + preflight.refusedTokenRequests;

    // Commit: diff, guard against mass removal, swap.
    stage = 'commit';
    began.commit = performance.now();
    await lifecycle.enter(stage, { stats });
    const { diff, warning } = await commitSnapshot({
      orgId,
      runId,
      snapshots: deps.snapshots,
      includeDisabledUsers: preflight.settings.includeDisabledUsers,
      guard: preflight.settings.massRemovalGuard,
      allowMassRemoval: payload.allowMassRemoval === true,
      failureContext,
      fence,
      meta: {
        committedAt: now().toISOString(),
        groups: stats.groups,
        graphRequests: stats.graphRequests,
        throttledRequests: stats.throttledRequests,
        tokenRequests: stats.tokenRequests,
      },
    });
    stats.users = diff.users;
    stats.added = diff.added;
    stats.removed = diff.removed;
    stats.changed = diff.changed;
    if (warning) warnings = [...warnings, warning];
  } catch (error) {
    throw await stopped(error);
  } finally {
    release();
  }

  // Outside the catch above: the commit has landed, so a failed closing
  // write fails this attempt and the retry completes the run, never fails it.
  await lifecycle.succeed({ warnings, stats });
  const ended = performance.now();
  log.info(
    {
      stats,
      stageMs: {
        preflight: Math.round(began.fetch - began.preflight),
        fetch: Math.round(began.commit - began.fetch),
        commit: Math.round(ended - began.commit),
      },
    },
    'sync succeeded',
  );
  return { outcome: 'succeeded', runId };

  /**
   * The org's certificates for preflight: public parts now, each private key
   * only when it is tried (and scrubbed from every log line while held). An
   * acceptance is recorded, and a rotation handed to the notifier first
   * (its job ID derives from the certificate, so a retry adds it once).
   */
  async function certificateSource(
    org: string,
    run: string,
    held: (() => void)[],
  ): Promise<CertificateSource> {
    const list = await deps.certificates.list(org);
    return {
      certificates: list,
      async revealPrivateKey(id) {
        const key = await deps.certificates.revealPrivateKey(org, id);
        if (key) for (const part of pemSecretParts(key)) held.push(secretScrubber.track(part));
        return key;
      },
      async onAccepted(certificate: SyncCertificate) {
        const { retire } = acceptanceChanges(list, certificate.id);
        const accepted = list.find((c) => c.id === certificate.id);
        if (retire.length > 0 && accepted) {
          await deps.notificationQueue.add({
            type: 'certificate_rotated',
            orgId: org,
            occurredAt: now().toISOString(),
            runId: run,
            certificate: {
              id: accepted.id,
              thumbprint: accepted.thumbprint,
              notAfter: accepted.notAfter,
            },
            retired: retire.map((c) => ({ id: c.id, thumbprint: c.thumbprint })),
          });
        }
        const result = await deps.certificates.markAccepted(org, certificate.id, now());
        if (result.activated || result.retired.length > 0) {
          log.info(
            {
              certificateId: certificate.id,
              thumbprint: certificate.thumbprint,
              activated: result.activated,
              retired: result.retired.map((c) => c.id),
            },
            'Entra ID accepted the certificate',
          );
        }
      },
    };
  }

  /** Ends the attempt on `error`: the error for BullMQ, once the run records what happened. */
  async function stopped(error: unknown): Promise<unknown> {
    // Whatever stopped the attempt, what it staged goes now rather than
    // when its TTL runs out: nothing reuses it (a retry stages afresh).
    await deps.snapshots.discard(orgId, runId).catch((discardError: unknown) => {
      log.warn({ err: discardError }, 'could not discard the staged copy; it expires on its own');
    });
    // A staging gone under the run (deleted with its org) surfaces as a
    // conflict, or as nothing at all: the run's record tells.
    if (
      error instanceof OrgOffboardedError ||
      !(await deps.runs.exists(orgId, runId).catch(() => true))
    ) {
      return new OrgOffboardedError(orgId);
    }
    if (error instanceof SyncStoppedError) {
      await lifecycle.fail(error.failure, error.stage, { warnings, stats });
      return blocking(error.failure.code);
    }
    if (error instanceof TransientSyncError && error.reason === 'clock_skew') {
      // Not the admin's to fix: this host's clock makes Entra refuse the assertion.
      log.error(
        { err: error, stage: error.stage, attempt: lifecycle.attempt },
        "Entra ID refused the client assertion as outside its valid time (AADSTS700024): this service's clock is wrong. Check the host's time synchronisation (NTP); the sync is retried.",
      );
    }
    const { attempt, maxAttempts } = lifecycle;
    if (!lifecycle.lastAttempt) {
      log.warn(
        { err: error, attempt, maxAttempts, stage },
        error instanceof TransientSyncError
          ? 'transient failure; will retry'
          : 'unexpected error; will retry',
      );
      await lifecycle.retry(stage);
      return error;
    }
    const failure: SyncFailure =
      error instanceof TransientSyncError
        ? buildFailure(
            'entra_unreachable',
            { attempts: attempt, lastReason: error.reason },
            failureContext,
          )
        : buildFailure(
            'internal_error',
            { attempts: attempt, reason: 'unexpected_error' },
            failureContext,
          );
    log.error({ err: error, attempt, stage }, 'retries exhausted');
    const failedStage = error instanceof TransientSyncError ? error.stage : stage;
    await lifecycle.fail(failure, failedStage, { warnings, stats });
    return blocking(failure.code);
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
