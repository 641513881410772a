import { buildFailure, classifyGraphError, type FailureContext } from '@pinnacle/domain';
import { EntraTokenError, type GraphReader, GraphRequestError } from '@pinnacle/entra-graph';
import type { SnapshotStore } from '@pinnacle/redis-store';
import {
  mapBounded,
  SyncStoppedError,
  TransientSyncError,
  tokenFailure,
} from '@pinnacle/sync-preflight';

export interface FetchInput {
  orgId: string;
  runId: string;
  groupIds: string[];
  graph: GraphReader;
  snapshots: SnapshotStore;
  failureContext: FailureContext;
  /** Groups paged at once. */
  concurrency?: number;
  /** Called after each staged page (progress, lock liveness). */
  onPage?: (groupId: string, users: number) => Promise<void> | void;
}

/**
 * Fetch: pages every selected group's transitive user members into the
 * run's staging area in Redis. One page per group is in memory at a time,
 * whatever the tenant's size.
 */
export async function fetchMembers(input: FetchInput): Promise<{ staged: number }> {
  const { orgId, runId, graph, snapshots } = input;
  // The selected groups fix the version's group table; its staging is sized
  // from the committed version.
  await snapshots.resetStaging(orgId, runId, { groupIds: input.groupIds });
  let staged = 0;
  await mapBounded(input.groupIds, input.concurrency ?? 4, async (groupId) => {
    try {
      // A page is handed to Redis as soon as it arrives (its staging command
      // is built at once, so the page's objects die young instead of being
      // promoted while they wait), with at most two writes in flight per
      // group: Graph serves the next page meanwhile, and a slow Redis
      // still holds the fetch back.
      const writes: Promise<void>[] = [];
      try {
        for await (const page of graph.groupUserPages(groupId)) {
          const users = page.length;
          const write = snapshots.stagePage(orgId, runId, groupId, page).then(() => {
            staged += users;
            return input.onPage?.(groupId, users);
          });
          // Awaited below or in finally; never an unhandled rejection meanwhile.
          write.catch(() => undefined);
          writes.push(write);
          if (writes.length >= 2) await writes.shift();
        }
        await Promise.all(writes);
      } finally {
        // Never leave a write behind.
        await Promise.allSettled(writes);
      }
    } catch (error) {
      // The token renewed mid-fetch (ahead of expiry, or after Graph refused
      // one) and Entra said no: the secret expired, the app was disabled...
      if (error instanceof EntraTokenError)
        throw tokenFailure(error, 'fetch', input.failureContext);
      if (!(error instanceof GraphRequestError)) throw error;
      const verdict = classifyGraphError({
        status: error.status,
        code: error.graphCode ?? undefined,
        context: 'members',
      });
      if (verdict.kind === 'transient') {
        throw new TransientSyncError('fetch', `members of ${groupId}: ${error.message}`, {
          cause: error,
        });
      }
      // A group deleted mid-sync: nothing of this run is committed.
      const details =
        verdict.code === 'group_not_found' ? { groupIds: [groupId] } : verdict.details;
      throw new SyncStoppedError(
        buildFailure(verdict.code, details, input.failureContext),
        'fetch',
      );
    }
  });
  return { staged };
}
