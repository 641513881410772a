import {
  buildFailure,
  evaluateMassRemoval,
  type FailureContext,
  type MassRemovalGuard,
  massRemovalOverriddenWarning,
  type RunWarning,
  type SnapshotMeta,
} from '@pinnacle/domain';
import type { SnapshotDiff, SnapshotStore, WriteFence } from '@pinnacle/redis-store';
import { SyncStoppedError } from '@pinnacle/sync-preflight';

export interface CommitInput {
  orgId: string;
  runId: string;
  snapshots: SnapshotStore;
  includeDisabledUsers: boolean;
  guard: MassRemovalGuard;
  /** Sync Now's explicit one-run override of the guard. */
  allowMassRemoval: boolean;
  failureContext: FailureContext;
  /** The run: its build and swap are refused once its org is offboarded. */
  fence: WriteFence;
  /** Recorded with the version; the diff's counts are added to it. */
  meta: Omit<SnapshotMeta, 'runId' | keyof SnapshotDiff>;
}

export interface CommitResult {
  diff: SnapshotDiff;
  /** The run's warning when Sync Now's override let a removal past the guard. */
  warning: RunWarning | null;
}

/**
 * Commit: diff the staged snapshot against the committed one, apply the
 * mass-removal guard, then swap atomically. A run it stops leaves its built
 * copy to the caller, which discards it at once on every stop.
 */
export async function commitSnapshot(input: CommitInput): Promise<CommitResult> {
  const { orgId, runId, snapshots, fence } = input;
  const diff = await snapshots.buildVersion(orgId, runId, {
    includeDisabledUsers: input.includeDisabledUsers,
    fence,
  });
  const verdict = evaluateMassRemoval({
    currentUsers: diff.previousUsers,
    removedUsers: diff.removed,
    guard: input.guard,
    override: input.allowMassRemoval,
  });
  if (verdict.blocked) {
    throw new SyncStoppedError(
      buildFailure(
        'mass_removal_blocked',
        {
          currentUsers: diff.previousUsers,
          removedUsers: diff.removed,
          newUsers: diff.users,
          removedPercent: verdict.removedPercent,
          maxRemovedPercent: input.guard.maxRemovedPercent,
          minRemovedUsers: input.guard.minRemovedUsers,
        },
        input.failureContext,
      ),
      'commit',
    );
  }
  const { baseVersion, ...stats } = diff;
  await snapshots.promote(orgId, runId, baseVersion, { ...input.meta, ...stats }, { fence });
  return { diff, warning: massRemovalOverriddenWarning(verdict) };
}
