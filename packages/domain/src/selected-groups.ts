import { z } from 'zod';

/**
 * A selected group as one preflight saw it: its name then, or `missing`
 * when Graph answered 404 for it (the name is then unknown to that check).
 */
export const groupSightingSchema = z.object({
  id: z.string().min(1).max(64),
  displayName: z.string().nullable(),
  missing: z.boolean(),
});
export type GroupSighting = z.infer<typeof groupSightingSchema>;

/**
 * What the org knows of a selected group across preflights: the name last
 * seen (kept when the group has since gone missing) and when it was seen.
 * `lastSeenAt` is null for a group no preflight has found yet.
 */
export const selectedGroupSchema = groupSightingSchema.extend({
  lastSeenAt: z.iso.datetime({ offset: true }).nullable(),
});
export type SelectedGroup = z.infer<typeof selectedGroupSchema>;

/** A selected group no preflight has checked yet. */
export function uncheckedGroup(id: string): SelectedGroup {
  return { id, displayName: null, missing: false, lastSeenAt: null };
}
