import { z } from 'zod';
import { directoryUserSchema } from './directory.js';
import { listEnvelopeSchema } from './pagination.js';

/** What a run did to a user of the snapshot. */
export const runChangeKindSchema = z.enum(['added', 'removed', 'changed']);
export type RunChangeKind = z.infer<typeof runChangeKindSchema>;
export const RUN_CHANGE_KINDS = runChangeKindSchema.options;

/** The synced fields a change may touch. */
export const changedFieldSchema = z.enum([
  'displayName',
  'mail',
  'userPrincipalName',
  'accountEnabled',
  'groupIds',
]);
export type ChangedField = z.infer<typeof changedFieldSchema>;

const userFieldsSchema = directoryUserSchema.pick({
  displayName: true,
  mail: true,
  userPrincipalName: true,
  accountEnabled: true,
});

/**
 * One user a run added, removed or changed (`GET
 * /orgs/{orgId}/syncs/{runId}/changes`). The fields are the user's in the
 * run's snapshot, or, for `removed`, the last ones synced.
 */
export const runChangeSchema = z.object({
  userId: z.string(),
  change: runChangeKindSchema,
  ...userFieldsSchema.shape,
  /** For `changed`: what differs from the previous snapshot; empty otherwise. */
  changedFields: z.array(changedFieldSchema),
  /** For `changed`: the user's fields in the previous snapshot; null otherwise. */
  previous: userFieldsSchema.nullable(),
});
export type RunChange = z.infer<typeof runChangeSchema>;

const count = z.number().int().min(0);
export const runChangeTotalsSchema = z.object({ added: count, removed: count, changed: count });
export type RunChangeTotals = z.infer<typeof runChangeTotalsSchema>;

/**
 * A page of a run's changes: added, then removed, then changed users, each
 * kind in user-ID order. A run keeps at most `limitPerKind` users of each
 * kind (a first sync "adds" every user); `totals` counts them all.
 */
export const runChangesPageSchema = listEnvelopeSchema(runChangeSchema).extend({
  /** False while the run has not reached its commit's diff, or stopped before it. */
  recorded: z.boolean(),
  /**
   * True once the changes are in the committed snapshot; false for a run
   * that stopped at its commit (`mass_removal_blocked`): the items are what
   * it would have done.
   */
  applied: z.boolean(),
  totals: runChangeTotalsSchema,
  /** Users of each kind the run keeps at most. */
  limitPerKind: count,
  /** Some changes of the kinds asked for are counted in `totals` but not listed. */
  truncated: z.boolean(),
});
export type RunChangesPage = z.infer<typeof runChangesPageSchema>;
