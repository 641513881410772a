import type { RunWarning } from './run.js';
import type { MassRemovalGuard } from './settings.js';

export type MassRemovalInput = {
  /** Users in the committed snapshot now. */
  currentUsers: number;
  /** Of those, how many the new snapshot would remove. */
  removedUsers: number;
  guard: MassRemovalGuard;
  /** The one-run override (`allowMassRemoval` of Sync Now). */
  override: boolean;
};

export type MassRemovalEvaluation = {
  /** Commit must not happen. */
  blocked: boolean;
  /** The guard tripped but the override let it through (worth a run warning). */
  overridden: boolean;
  currentUsers: number;
  removedUsers: number;
  /** Share of current users removed, rounded to 2 decimals (0 when there are none). */
  removedPercent: number;
  maxRemovedPercent: number;
  minRemovedUsers: number;
};

/**
 * The mass-removal guard. It trips when the removal is both large in share
 * (more than `maxRemovedPercent`% of current users) and in number (more than
 * `minRemovedUsers`), so small orgs can lose a few users and big orgs a
 * small share. The first sync (no current users) never trips. Compared
 * without division (removed * 100 > max% * current) so boundaries are exact.
 */
export function evaluateMassRemoval(input: MassRemovalInput): MassRemovalEvaluation {
  const currentUsers = Math.max(0, Math.trunc(input.currentUsers));
  const removedUsers = Math.min(currentUsers, Math.max(0, Math.trunc(input.removedUsers)));
  const { maxRemovedPercent, minRemovedUsers } = input.guard;
  const tripped =
    currentUsers > 0 &&
    removedUsers * 100 > maxRemovedPercent * currentUsers &&
    removedUsers > minRemovedUsers;
  const removedPercent =
    currentUsers === 0 ? 0 : Math.round((removedUsers * 10_000) / currentUsers) / 100;
  return {
    blocked: tripped && !input.override,
    overridden: tripped && input.override,
    currentUsers,
    removedUsers,
    removedPercent,
    maxRemovedPercent,
    minRemovedUsers,
  };
}

export const MASS_REMOVAL_OVERRIDDEN_WARNING = 'mass_removal_overridden';

/** The run warning recorded when the override let a large removal through. */
export function massRemovalOverriddenWarning(evaluation: MassRemovalEvaluation): RunWarning | null {
  if (!evaluation.overridden) return null;
  return {
    code: MASS_REMOVAL_OVERRIDDEN_WARNING,
    message: `${evaluation.removedUsers} of ${evaluation.currentUsers} users (${evaluation.removedPercent}%) were removed because this run was started with "Allow mass removal"; the guard (${evaluation.maxRemovedPercent}% and ${evaluation.minRemovedUsers} users) stays on for later runs.`,
  };
}
