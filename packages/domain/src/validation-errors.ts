import type { z } from 'zod';

/** One entry of the API's 400 `{ error: 'validation_failed', issues }`. */
export type ValidationIssue = { path: string; message: string };

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const MAX_KEY_SHOWN = 64;

function keySegment(key: PropertyKey, first: boolean): string {
  if (typeof key === 'number') return `[${key}]`;
  const name = typeof key === 'symbol' ? (key.description ?? 'symbol') : key;
  if (IDENTIFIER.test(name) && name.length <= MAX_KEY_SHOWN) return first ? name : `.${name}`;
  // An odd key (dots, spaces, control characters): quoted and cut, never raw.
  return `[${JSON.stringify(name.slice(0, MAX_KEY_SHOWN))}]`;
}

/** `['notifications', 'email', 'recipients', 0]` → `notifications.email.recipients[0]`; root is `''`. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  return path.map((key, i) => keySegment(key, i === 0)).join('');
}

/**
 * Turns a ZodError into the API's issue list. The rejected value is never
 * echoed (it may be a secret): only the path and the schema's message, and
 * issues are built without zod's `input`. An unknown field becomes one issue
 * per field, at that field's path.
 */
export function toValidationIssues(error: z.ZodError): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        issues.push({
          path: formatIssuePath([...issue.path, key]),
          message: 'is not a known field',
        });
      }
      continue;
    }
    issues.push({ path: formatIssuePath(issue.path), message: issue.message });
  }
  return issues;
}
