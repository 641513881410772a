import { createHash, randomUUID } from 'node:crypto';

/** Canonical GUID text (any case); Entra and Graph object IDs all have this shape. */
export const GUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGuid(value: string): boolean {
  return GUID_PATTERN.test(value);
}

/** SHA-256 of the parts joined unambiguously. */
export function digest(...parts: (string | number)[]): Buffer {
  return createHash('sha256').update(parts.join('\u0000')).digest();
}

/**
 * A version-4-shaped GUID derived from the parts, so seeded tenants get the
 * same IDs on every run.
 */
export function deterministicGuid(...parts: (string | number)[]): string {
  const b = digest(...parts);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = b.subarray(0, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** A fresh random GUID (request IDs, trace IDs). */
export function newGuid(): string {
  return randomUUID();
}

const SECRET_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.~-';

/**
 * A client secret value shaped like the ones Entra generates today
 * (40 characters, with "8Q~" after a three-character prefix), derived from
 * the parts so demo credentials are stable.
 */
export function deterministicSecretValue(...parts: (string | number)[]): string {
  const bytes = Buffer.concat([digest(...parts, 'a'), digest(...parts, 'b')]);
  const pick = (i: number) => SECRET_ALPHABET[(bytes[i] ?? 0) % SECRET_ALPHABET.length];
  let head = '';
  for (let i = 0; i < 3; i++) head += pick(i);
  let tail = '';
  for (let i = 3; i < 37; i++) tail += pick(i);
  return `${head}8Q~${tail}`;
}
