/*
 * The compact snapshot's binary records. A user is stored as one string,
 * positionally packed rather than as JSON with field names:
 *
 *   entry   = [k] key(k bytes) [gc] group index × gc  body
 *   key     = 16 raw bytes + 0x00 for a lower-case GUID (every Entra user ID),
 *             or the ID's UTF-8 bytes + 0x01 for anything else
 *   body    = [flags] displayName? userPrincipalName? mail?   (each: varint length + UTF-8)
 *
 * Keys sort bytewise in user-ID order (for GUIDs the raw bytes order as the
 * lower-case hex does), and a key's first four bytes choose its bucket, so a
 * version's buckets, read in order, are one list sorted by user ID whatever
 * the bucket count. Group indexes point into the version's group table
 * (1-based, the table sorted, so sorted indexes list the GUIDs sorted).
 * Lua in snapshot-scripts.ts reads `k`, the key, `gc` and the body's flags
 * byte, and nothing else.
 */

import type { DirectoryUser } from '@pinnacle/domain';

/** A committed directory user: the shape the API serves (what a record decodes to). */
export type SnapshotUser = DirectoryUser;

/**
 * What a record holds of a user. Wider than the domain's user model
 * (GraphUser): rows of older versions kept a missing UPN or
 * `accountEnabled` as null, and a record keeps whatever it was given.
 */
export interface RecordUser {
  id: string;
  displayName: string | null;
  mail: string | null;
  userPrincipalName: string | null;
  accountEnabled: boolean | null;
}

export class SnapshotEncodingError extends Error {
  readonly code = 'snapshot_encoding';
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotEncodingError';
  }
}

/** Bytes of a field's length prefix: one below 128, two below 16384. */
const MAX_FIELD_BYTES = 16_383;
/** A non-GUID ID's bytes, plus its marker byte, must fit `k`. */
const MAX_ID_BYTES = 254;

const ENABLED_MASK = 0b11;
const ENABLED_FALSE = 0;
const ENABLED_TRUE = 1;
const ENABLED_NULL = 2;
const HAS_DISPLAY_NAME = 1 << 2;
const HAS_UPN = 1 << 3;
const HAS_MAIL = 1 << 4;
const MAIL_IS_UPN = 1 << 5;

export const GUID_KEY_MARKER = 0;
export const TEXT_KEY_MARKER = 1;

const HEX_VALUE = new Int8Array(128).fill(-1);
for (let c = 0; c < 10; c++) HEX_VALUE[48 + c] = c;
for (let c = 0; c < 6; c++) HEX_VALUE[97 + c] = 10 + c;
const HEX_DIGITS = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** Writes a lower-case GUID as 16 raw bytes; false (nothing meaningful written) for anything else. */
function writeGuid(id: string, buf: Buffer, pos: number): boolean {
  if (id.length !== 36) return false;
  let p = pos;
  for (let i = 0; i < 36; i += 2) {
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (id.charCodeAt(i) !== 45) return false;
      i--;
      continue;
    }
    const hi = HEX_VALUE[id.charCodeAt(i)] ?? -1;
    const lo = HEX_VALUE[id.charCodeAt(i + 1)] ?? -1;
    if (hi < 0 || lo < 0) return false;
    buf[p++] = (hi << 4) | lo;
  }
  return true;
}

/** Bytes an encoded key of `id` may take, at most. */
function keyBound(id: string): number {
  return 1 + Math.max(17, id.length * 3 + 1);
}

/**
 * Writes `[k] key` for `id` at `pos`; returns the bytes written. The key
 * alone (the staging hash's field) is `buf.subarray(pos + 1, pos + n)`.
 */
export function writeKey(id: string, buf: Buffer, pos: number): number {
  if (writeGuid(id, buf, pos + 1)) {
    buf[pos] = 17;
    buf[pos + 17] = GUID_KEY_MARKER;
    return 18;
  }
  const n = buf.write(id, pos + 1, 'utf8');
  if (n === 0 || n > MAX_ID_BYTES) {
    throw new SnapshotEncodingError(`A user ID must be 1 to ${MAX_ID_BYTES} bytes`);
  }
  buf[pos + 1 + n] = TEXT_KEY_MARKER;
  buf[pos] = n + 1;
  return n + 2;
}

/** The user ID a key encodes. */
export function userIdOfKey(buf: Buffer, start: number, end: number): string {
  if (end - start === 17 && buf[end - 1] === GUID_KEY_MARKER) {
    let s = '';
    for (let i = start; i < start + 16; i++) {
      if (i === start + 4 || i === start + 6 || i === start + 8 || i === start + 10) s += '-';
      s += HEX_DIGITS[buf[i] as number];
    }
    return s;
  }
  if (buf[end - 1] !== TEXT_KEY_MARKER || end - start < 2) {
    throw new SnapshotEncodingError('Corrupt snapshot entry: bad user key');
  }
  return buf.toString('utf8', start, end - 1);
}

/** The first four bytes of a key as an unsigned 32-bit number (zero-padded). */
export function keyPrefix(buf: Buffer, start: number, end: number): number {
  let p = 0;
  for (let i = 0; i < 4; i++) {
    p = p * 256 + (start + i < end ? (buf[start + i] as number) : 0);
  }
  return p;
}

/** The bucket (of 2^bits, by key prefix) a key belongs to. */
export function bucketOfPrefix(prefix: number, bits: number): number {
  return bits === 0 ? 0 : Math.floor(prefix / 2 ** (32 - bits));
}

function writeField(value: string, buf: Buffer, pos: number): number {
  // One length byte covers the usual field; measure only when it may not.
  if (value.length * 3 < 128) {
    const n = buf.write(value, pos + 1, 'utf8');
    buf[pos] = n;
    return n + 1;
  }
  const n = Buffer.byteLength(value, 'utf8');
  if (n > MAX_FIELD_BYTES) {
    throw new SnapshotEncodingError(`A user field must be at most ${MAX_FIELD_BYTES} bytes`);
  }
  if (n < 128) {
    buf[pos] = n;
    buf.write(value, pos + 1, 'utf8');
    return n + 1;
  }
  buf[pos] = 0x80 | (n & 0x7f);
  buf[pos + 1] = n >> 7;
  buf.write(value, pos + 2, 'utf8');
  return n + 2;
}

function bodyBound(user: RecordUser): number {
  return (
    1 +
    (user.displayName?.length ?? 0) * 3 +
    (user.userPrincipalName?.length ?? 0) * 3 +
    (user.mail?.length ?? 0) * 3 +
    6
  );
}

/** Writes a user's fields (not the ID) at `pos`; returns the bytes written. */
export function writeBody(user: RecordUser, buf: Buffer, pos: number): number {
  const { displayName, userPrincipalName: upn, mail } = user;
  let flags =
    user.accountEnabled === true
      ? ENABLED_TRUE
      : user.accountEnabled === false
        ? ENABLED_FALSE
        : ENABLED_NULL;
  let p = pos + 1;
  if (displayName !== null && displayName !== undefined) {
    flags |= HAS_DISPLAY_NAME;
    p += writeField(displayName, buf, p);
  }
  if (upn !== null && upn !== undefined) {
    flags |= HAS_UPN;
    p += writeField(upn, buf, p);
  }
  if (mail !== null && mail !== undefined) {
    // Mail is the UPN for most accounts: then it costs one flag bit.
    if (mail === upn) flags |= MAIL_IS_UPN;
    else {
      flags |= HAS_MAIL;
      p += writeField(mail, buf, p);
    }
  }
  buf[pos] = flags;
  return p - pos;
}

/**
 * A page of users encoded for staging, one blob per bucket: each user as
 * `[k] key [body length, 2 bytes] body`, back to back (one argument per
 * bucket costs the client far less than two per user).
 */
export function encodeStagePage(
  users: readonly RecordUser[],
  bits: number,
): { bucket: number; records: Buffer }[] {
  let size = 0;
  for (const u of users) size += keyBound(u.id) + 2 + bodyBound(u);
  const buf = Buffer.allocUnsafe(size);
  const byBucket = new Map<number, Buffer[]>();
  let pos = 0;
  for (const u of users) {
    const start = pos;
    const k = writeKey(u.id, buf, pos);
    const bucket = bucketOfPrefix(keyPrefix(buf, pos + 1, pos + k), bits);
    pos += k;
    const b = writeBody(u, buf, pos + 2);
    buf.writeUInt16BE(b, pos);
    pos += 2 + b;
    const record = buf.subarray(start, pos);
    const list = byBucket.get(bucket);
    if (list) list.push(record);
    else byBucket.set(bucket, [record]);
  }
  return [...byBucket].map(([bucket, records]) => ({ bucket, records: Buffer.concat(records) }));
}

/** One whole entry (as stored in a version's bucket): for the legacy conversion and tests. */
export function encodeEntry(user: RecordUser, groupIndexes: readonly number[]): Buffer {
  const sorted = [...new Set(groupIndexes)].sort((a, b) => a - b);
  for (const g of sorted) {
    if (!Number.isInteger(g) || g < 1 || g > 255) {
      throw new SnapshotEncodingError('A version holds at most 255 groups');
    }
  }
  const buf = Buffer.allocUnsafe(keyBound(user.id) + 1 + sorted.length + bodyBound(user));
  let pos = writeKey(user.id, buf, 0);
  buf[pos++] = sorted.length;
  for (const g of sorted) buf[pos++] = g;
  pos += writeBody(user, buf, pos);
  return buf.subarray(0, pos);
}

function readField(buf: Buffer, pos: number): [string, number] {
  let n = buf[pos] as number;
  let p = pos + 1;
  if (n & 0x80) {
    n = (n & 0x7f) | ((buf[p] as number) << 7);
    p++;
  }
  if (p + n > buf.length) throw new SnapshotEncodingError('Corrupt snapshot entry: field overrun');
  return [buf.toString('utf8', p, p + n), p + n];
}

export type UserFields = Omit<RecordUser, 'id'>;

/** A body's fields, read from `pos` to the end of `buf`. */
export function readBody(buf: Buffer, pos: number): UserFields {
  const flags = buf[pos];
  if (flags === undefined) throw new SnapshotEncodingError('Corrupt snapshot entry: no body');
  let p = pos + 1;
  let displayName: string | null = null;
  let userPrincipalName: string | null = null;
  let mail: string | null = null;
  if (flags & HAS_DISPLAY_NAME) [displayName, p] = readField(buf, p);
  if (flags & HAS_UPN) [userPrincipalName, p] = readField(buf, p);
  if (flags & HAS_MAIL) [mail, p] = readField(buf, p);
  else if (flags & MAIL_IS_UPN) mail = userPrincipalName;
  const enabled = flags & ENABLED_MASK;
  return {
    displayName,
    mail,
    userPrincipalName,
    accountEnabled: enabled === ENABLED_TRUE ? true : enabled === ENABLED_FALSE ? false : null,
  };
}

/** An entry's parts, by offset. */
export interface EntryParts {
  id: string;
  /** The group indexes (1-based into the version's table). */
  groups: number[];
  fields: UserFields;
}

export function readEntry(buf: Buffer, start = 0): EntryParts {
  const k = buf[start];
  if (k === undefined || k < 2) throw new SnapshotEncodingError('Corrupt snapshot entry: no key');
  const id = userIdOfKey(buf, start + 1, start + 1 + k);
  const gcAt = start + 1 + k;
  const gc = buf[gcAt];
  if (gc === undefined) throw new SnapshotEncodingError('Corrupt snapshot entry: no groups');
  const groups: number[] = [];
  for (let i = 0; i < gc; i++) groups.push(buf[gcAt + 1 + i] as number);
  return { id, groups, fields: readBody(buf, gcAt + 1 + gc) };
}

/**
 * A user's fields as the domain's user model has them: a missing
 * `accountEnabled` reads as enabled (as Graph's omission does), a missing
 * UPN as ''.
 */
export function servedFields(fields: UserFields): Omit<SnapshotUser, 'id' | 'groupIds'> {
  return {
    displayName: fields.displayName,
    mail: fields.mail,
    userPrincipalName: fields.userPrincipalName ?? '',
    accountEnabled: fields.accountEnabled ?? true,
  };
}

/** A stored entry as the API serves it, its group indexes resolved through the version's table. */
export function decodeEntry(buf: Buffer, groupTable: readonly string[]): SnapshotUser {
  const { id, groups, fields } = readEntry(buf);
  const groupIds = groups.map((g) => {
    const guid = groupTable[g - 1];
    if (guid === undefined) {
      throw new SnapshotEncodingError('Corrupt snapshot entry: unknown group');
    }
    return guid;
  });
  return { id, ...servedFields(fields), groupIds };
}
