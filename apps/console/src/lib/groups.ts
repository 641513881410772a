/**
 * The settings form keeps the selected groups as typed text, one object ID
 * per line (so pasted IDs and a refused save lose nothing); picking a group
 * by name adds its ID to that text. Pure, so it is unit-tested.
 */
import { splitList } from './issues.js';

const same = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();

/** The IDs in the text, as typed. */
export function selectedGroupIds(text: string): string[] {
  return splitList(text);
}

export function hasGroupId(text: string, id: string): boolean {
  return selectedGroupIds(text).some((x) => same(x, id));
}

/** The text with `id` on a line of its own at the end (unchanged when already there). */
export function addGroupId(text: string, id: string): string {
  if (hasGroupId(text, id)) return text;
  const ids = selectedGroupIds(text);
  return [...ids, id].join('\n');
}

/** The text without `id`. */
export function removeGroupId(text: string, id: string): string {
  return selectedGroupIds(text)
    .filter((x) => !same(x, id))
    .join('\n');
}

/** Names known for group IDs, keyed by lower-case ID. */
export type GroupNames = ReadonlyMap<string, string>;

export function nameOf(names: GroupNames, id: string): string | null {
  return names.get(id.trim().toLowerCase()) ?? null;
}

export function withNames(
  names: GroupNames,
  groups: readonly { id: string; displayName: string | null }[],
): Map<string, string> {
  const next = new Map(names);
  for (const g of groups) if (g.displayName) next.set(g.id.toLowerCase(), g.displayName);
  return next;
}
