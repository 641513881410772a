import type { ValidationIssue } from '../api/types.js';

/**
 * Puts each of the API's validation issues beside the form field it names.
 * `fields` maps a field's key to the issue paths it owns, as prefixes:
 * `notifications.email.recipients` owns `notifications.email.recipients[2]`.
 * What no field owns is returned under `form`, shown above the form.
 */
export function issuesByField<K extends string>(
  issues: readonly ValidationIssue[],
  fields: Record<K, readonly string[]>,
): { byField: Partial<Record<K, string[]>>; form: string[] } {
  const byField: Partial<Record<K, string[]>> = {};
  const form: string[] = [];
  const entries = Object.entries(fields) as [K, readonly string[]][];
  for (const issue of issues) {
    // The most specific owner wins: `schedule.every` over `schedule`.
    let owner: [K, number] | undefined;
    for (const [key, prefixes] of entries) {
      for (const p of prefixes) {
        const owns =
          issue.path === p || issue.path.startsWith(`${p}.`) || issue.path.startsWith(`${p}[`);
        if (owns && (owner === undefined || p.length > owner[1])) owner = [key, p.length];
      }
    }
    if (!owner) {
      form.push(issue.path ? `${issue.path}: ${issue.message}` : issue.message);
      continue;
    }
    const [key] = owner;
    const list = byField[key] ?? [];
    list.push(describeIssue(issue));
    byField[key] = list;
  }
  return { byField, form };
}

/** "must be a valid email address" or, for a list entry, "Entry 2: must be ...". */
function describeIssue(issue: ValidationIssue): string {
  const index = /\[(\d+)\]$/.exec(issue.path)?.[1];
  const message = issue.message.charAt(0).toUpperCase() + issue.message.slice(1);
  return index === undefined ? message : `Entry ${Number(index) + 1}: ${issue.message}`;
}

/** A text area's lines (or comma-separated values) as a list; blank entries dropped. */
export function splitList(text: string): string[] {
  return text
    .split(/[\n,;]/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
