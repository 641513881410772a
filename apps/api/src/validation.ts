import { decodeCursor, orgIdSchema, toValidationIssues } from '@pinnacle/domain';
import type { z } from 'zod';
import { invalidCursor, validationFailed } from './errors.js';

/**
 * Parses a request part or throws the API's 400. Issues name the field and
 * never echo the value (it may be a secret or hostile text).
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw validationFailed(toValidationIssues(result.error));
}

/**
 * The org ID a list of orgs (ordered by org ID) resumes after: what its
 * `?cursor=` encodes. Undefined for the first page; a cursor that holds no
 * org ID is refused as a validation failure.
 */
export function orgIdAfterCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  const decoded = decodeCursor(cursor);
  if (decoded === null || !orgIdSchema.safeParse(decoded).success) throw invalidCursor();
  return decoded;
}
