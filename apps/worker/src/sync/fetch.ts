import { buildFailure, classifyGraphError, type FailureContext } from '@pinnacle/domain';
import { EntraTokenError, type GraphReader, GraphRequestError } from '@pinnacle/entra-graph';
import type { SnapshotStore, WriteFence } from '@pinnacle/redis-store';
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
  /** The run: its staging cannot start once its org is offboarded. */
  fence: WriteFence;
  /** SYNC_MAX_USERS: past it the run stops `directory_too_large`. */
  maxUsers: number;
  /** Groups paged at once. */
  concurrency?: number;
  /** Called after each staged page (progress, lock liveness). */
  onPage?: (groupId: string, users: number) => Promise<void> | void;
}

/**
 * Fetch: pages every selected group's transitive user members into the
 * run's staging area in Redis. One page per group is in memory at a time,
 * whatever the tenant's size. Stops `directory_too_large` as soon as one
 * group's member count (Graph's, with its first page) or the users staged
 * so far pass the ceiling: the staging then holds at most a page more.
 * When one group stops the fetch, the others stop at their next page, and
 * the error is thrown once none of them writes any more (so the caller can
 * discard the staging for good).
 */
export async function fetchMembers(input: FetchInput): Promise<{ staged: number }> {
  const { orgId, runId, graph, snapshots, maxUsers } = input;
  // The selected groups fix the version's group table; its staging is sized
  // from the committed version.
  await snapshots.resetStaging(orgId, runId, { groupIds: input.groupIds, fence: input.fence });
  let staged = 0;
  let stopped: { error: unknown } | null = null;
  const tooLarge = (users: number, from: 'group_member_count' | 'staged_users', groupId: string) =>
    new SyncStoppedError(
      buildFailure(
        'directory_too_large',
        {
          maxUsers,
          users,
          countedFrom: from,
          ...(from === 'group_member_count' ? { groupId } : {}),
        },
        input.failureContext,
      ),
      'fetch',
    );
  await mapBounded(input.groupIds, input.concurrency ?? 4, async (groupId) => {
    if (stopped) return;
    try {
      // A page is handed to Redis as soon as it arrives (its staging command
      // is built at once, so the page's objects die young instead of being
      // promoted while they wait), with at most two writes in flight per
      // group: Graph serves the next page meanwhile, and a slow Redis
      // still holds the fetch back.
      const writes: Promise<void>[] = [];
      try {
        for await (const page of graph.groupMemberPages(groupId)) {
          if (stopped) break;
          // One group alone holds more users than the ceiling: no need to stage any.
          if (page.count !== null && page.count > maxUsers) {
            throw tooLarge(page.count, 'group_member_count', groupId);
          }
          const users = page.users.length;
          const write = snapshots
            .stagePage(orgId, runId, groupId, page.users, { maxUsers })
            .then((result) => {
              if (result.overCeiling) throw tooLarge(result.stagedUsers, 'staged_users', groupId);
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
      stopped ??= { error: classified(error, groupId, input.failureContext) };
    }
  });
  if (stopped) throw (stopped as { error: unknown }).error;
  return { staged };
}

/** What a group's fetch failing means for the run. */
function classified(error: unknown, groupId: string, context: FailureContext): unknown {
  // The token renewed mid-fetch (ahead of expiry, or after Graph refused
  // one) and Entra said no: the secret expired, the app was disabled...
  if (error instanceof EntraTokenError) return tokenFailure(error, 'fetch', context);
  if (!(error instanceof GraphRequestError)) return error;
  const verdict = classifyGraphError({
    status: error.status,
    code: error.graphCode ?? undefined,
    context: 'members',
  });
  if (verdict.kind === 'transient') {
    return new TransientSyncError('fetch', `members of ${groupId}: ${error.message}`, {
      cause: error,
    });
  }
  // A group deleted mid-sync: nothing of this run is committed.
  const details = verdict.code === 'group_not_found' ? { groupIds: [groupId] } : verdict.details;
  return new SyncStoppedError(buildFailure(verdict.code, details, context), 'fetch');
}
