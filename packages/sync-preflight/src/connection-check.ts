import {
  buildFailure,
  type GroupSighting,
  type RunWarning,
  type SyncFailure,
} from '@pinnacle/domain';
import { type PreflightInput, runPreflight } from './preflight.js';
import { SyncStoppedError, TransientSyncError } from './sync-errors.js';

/**
 * What a preflight run alone found: ready to sync (the groups it saw, the
 * warnings), or the failure a sync would stop with, in the run's failure
 * shape. `groups` is what the group check saw (null when it did not get
 * that far).
 */
export type ConnectionCheck =
  | { ok: true; groups: GroupSighting[]; warnings: RunWarning[] }
  | { ok: false; failure: SyncFailure; groups: GroupSighting[] | null; warnings: RunWarning[] };

/**
 * Runs the preflight and nothing else (no fetch, no commit), turning its
 * outcome into a result instead of a thrown stop. Transient trouble, which
 * a sync would retry with backoff, is reported as `entra_unreachable` at
 * once: the caller is a person waiting for an answer.
 */
export async function checkConnection(input: PreflightInput): Promise<ConnectionCheck> {
  let groups: GroupSighting[] | null = null;
  try {
    const result = await runPreflight({
      ...input,
      onGroupsChecked: async (seen) => {
        groups = seen;
        await input.onGroupsChecked?.(seen);
      },
    });
    return { ok: true, groups: groups ?? [], warnings: result.warnings };
  } catch (error) {
    if (error instanceof SyncStoppedError) {
      return { ok: false, failure: error.failure, groups, warnings: [] };
    }
    if (error instanceof TransientSyncError) {
      return {
        ok: false,
        failure: buildFailure(
          'entra_unreachable',
          { lastReason: error.reason },
          { authorityHost: input.endpoints.authorityHost },
        ),
        groups,
        warnings: [],
      };
    }
    throw error;
  }
}
