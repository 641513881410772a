import { type QueueKey, queues } from '@pinnacle/queue-contracts';
import type { Queue } from 'bullmq';
import type { RedisClient } from './connections.js';

/** Every state a job can be in. */
const JOB_STATES = [
  'active',
  'wait',
  'prioritized',
  'delayed',
  'waiting-children',
  'completed',
  'failed',
] as const;
export type JobState = (typeof JOB_STATES)[number];

/** Job IDs read (and their names looked up) per round trip. */
const SCAN_PAGE = 1000;

/** A queue to look through: which one (its definition names jobs), and a connection to read with. */
export interface QueueHandle<K extends QueueKey = QueueKey> {
  key: K;
  queue: Queue;
  connection: RedisClient;
}

export interface OrgJob {
  id: string;
  state: JobState;
}

/** What removing an org's jobs did. */
export interface OrgJobsRemoval {
  removed: number;
  /** Jobs of the org a worker holds (active): they cannot be removed while they run. */
  running: string[];
}

/**
 * The org's jobs in every state, found by their names (the queue
 * definition's `orgOfJob`), a page of IDs per round trip. Jobs that move
 * while it reads may be missed: call again to be sure.
 */
export async function jobsOfOrg(handle: QueueHandle, orgId: string): Promise<OrgJob[]> {
  const definition = queues[handle.key];
  const found: OrgJob[] = [];
  for (const state of JOB_STATES) {
    for (let start = 0; ; start += SCAN_PAGE) {
      const ids = await handle.queue.getRanges([state], start, start + SCAN_PAGE - 1, true);
      if (ids.length === 0) break;
      for (const [i, name] of (await namesOf(handle, ids)).entries()) {
        if (name !== null && definition.orgOfJob(name) === orgId) {
          found.push({ id: ids[i] as string, state });
        }
      }
      if (ids.length < SCAN_PAGE) break;
    }
  }
  return found;
}

/**
 * Removes every job of the org but those running (offboarding): waiting,
 * delayed and finished alike, with their logs. Running jobs are returned;
 * they can only be removed once they finish. Remove the org's job
 * scheduler first (its next job goes with it).
 */
export async function removeJobsOfOrg(handle: QueueHandle, orgId: string): Promise<OrgJobsRemoval> {
  const running: string[] = [];
  let removed = 0;
  for (const { id, state } of await jobsOfOrg(handle, orgId)) {
    if (state !== 'active' && (await handle.queue.remove(id)) === 1) removed++;
    else running.push(id);
  }
  return { removed, running };
}

/** The names of jobs, by ID (null: gone meanwhile), one round trip. */
async function namesOf(handle: QueueHandle, ids: readonly string[]): Promise<(string | null)[]> {
  const backend = handle.queue.getBackend();
  const read = handle.connection.pipeline();
  for (const id of ids) read.hget(backend.toKey(id), 'name');
  const replies = (await read.exec()) ?? [];
  return replies.map(([error, name]: [Error | null, unknown]) => {
    if (error) throw error;
    return typeof name === 'string' ? name : null;
  });
}
