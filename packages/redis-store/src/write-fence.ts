import { fenceKey, type OrgKeys, type WriteFence } from './keys.js';

/** What a fenced script returns, having written nothing, when its fence is gone. */
export const FENCED = 'fenced';

/**
 * A write refused because what it belongs to is gone: its org was
 * offboarded while the work was in flight. Nothing was written; the work
 * stops without a trace (no failure, no retry).
 */
export class OrgOffboardedError extends Error {
  readonly code = 'org_offboarded';
  constructor(readonly orgId: string) {
    super(`Org ${orgId} was offboarded while this work was in flight; nothing was written`);
    this.name = 'OrgOffboardedError';
  }
}

/**
 * Lua (to splice at the top of a script) that returns FENCED, writing
 * nothing, when the script was given a fence and its key is gone. `key` is
 * the fence's KEYS entry, `flag` the ARGV entry holding '1' for a fenced
 * call ('0': no fence, and the key is a stand-in).
 */
export function luaFence(key: string, flag: string): string {
  return `if ${flag} == '1' and redis.call('EXISTS', ${key}) == 0 then return '${FENCED}' end`;
}

/** A script's fence key and flag: the fence's key, or (none) `standIn` unchecked. */
export function fenceArgs(
  k: OrgKeys,
  fence: WriteFence | undefined,
  standIn: string,
): { key: string; flag: '0' | '1' } {
  return fence === undefined ? { key: standIn, flag: '0' } : { key: fenceKey(k, fence), flag: '1' };
}

/** Throws OrgOffboardedError when a fenced script refused to write. */
export function assertNotFenced<T>(
  result: T,
  orgId: string,
): asserts result is Exclude<T, typeof FENCED> {
  if (result === FENCED) throw new OrgOffboardedError(orgId);
}
