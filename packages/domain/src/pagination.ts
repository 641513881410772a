import { z } from 'zod';

export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 200;
export const MAX_CURSOR_LENGTH = 512;

/** `{ items, nextCursor }`: every list of the API; `nextCursor` null on the last page. */
export function listEnvelopeSchema<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}
export type ListEnvelope<T> = { items: T[]; nextCursor: string | null };

/**
 * `?limit=`: 1-200, default 50. Query strings arrive as text, so digits are
 * accepted as a string; numbers too, for internal callers. Anything else
 * (`1e2`, `0x10`, ` 5`, `-1`) is refused rather than coerced.
 */
export const limitQuerySchema = z
  .union([
    z.number(),
    z
      .string()
      .regex(/^\d{1,4}$/, 'must be a whole number')
      .transform(Number),
  ])
  .pipe(
    z
      .number()
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .max(MAX_PAGE_LIMIT, `must be at most ${MAX_PAGE_LIMIT}`),
  )
  .optional()
  .transform((v) => v ?? DEFAULT_PAGE_LIMIT);

/** `?cursor=`: opaque to clients; bounded, base64url characters only. */
export const cursorSchema = z
  .string()
  .min(1)
  .max(MAX_CURSOR_LENGTH)
  .regex(/^[A-Za-z0-9_-]+$/, 'must be a cursor returned as nextCursor');

/** `?unread=true`: a boolean query flag (`true`/`false`/`1`/`0`). */
export const booleanQuerySchema = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1');

/** Makes a cursor from a store's position (any string). */
export function encodeCursor(position: string): string {
  return Buffer.from(position, 'utf8').toString('base64url');
}

/** The position inside a cursor, or null when it is not one we made. */
export function decodeCursor(cursor: string): string | null {
  if (!cursorSchema.safeParse(cursor).success) return null;
  const position = Buffer.from(cursor, 'base64url').toString('utf8');
  // Round-trip check: rejects non-canonical padding bits and invalid UTF-8.
  return encodeCursor(position) === cursor ? position : null;
}
