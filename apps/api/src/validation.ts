import { toValidationIssues } from '@pinnacle/domain';
import type { z } from 'zod';
import { validationFailed } from './errors.js';

/**
 * Parses a request part or throws the API's 400. Issues name the field and
 * never echo the value (it may be a secret or hostile text).
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw validationFailed(toValidationIssues(result.error));
}
