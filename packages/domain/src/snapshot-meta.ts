import { z } from 'zod';
import type { RunStats } from './run.js';

const count = z.number().int().min(0);

/**
 * What a commit records beside the snapshot version it makes current: the
 * run that built it and that run's counts. Every field but `runId` is
 * optional, so metas written by any earlier version still parse; unknown
 * fields (e.g. group names, now kept per org by the selected-groups record)
 * are dropped.
 */
export const snapshotMetaSchema = z.object({
  runId: z.string(),
  committedAt: z.string().optional(),
  users: count.optional(),
  added: count.optional(),
  changed: count.optional(),
  removed: count.optional(),
  /** Users of the version this one replaced. */
  previousUsers: count.optional(),
  groups: count.nullable().optional(),
  graphRequests: count.optional(),
  throttledRequests: count.optional(),
  tokenRequests: count.optional(),
});
export type SnapshotMeta = z.infer<typeof snapshotMetaSchema>;

const STAT_KEYS = [
  'users',
  'added',
  'removed',
  'changed',
  'groups',
  'graphRequests',
  'throttledRequests',
  'tokenRequests',
] as const satisfies readonly (keyof RunStats & keyof SnapshotMeta)[];

/** The run counts a commit recorded (those it has), to finish its run with. */
export function committedRunStats(meta: SnapshotMeta): Partial<RunStats> {
  const stats: Partial<RunStats> = {};
  for (const key of STAT_KEYS) {
    const value = meta[key];
    if (typeof value === 'number') stats[key] = value;
  }
  return stats;
}
