import {
  type ChangedField,
  decodeCursor,
  encodeCursor,
  RUN_CHANGE_KINDS,
  type RunChange,
  type RunChangeKind,
  type RunChangesPage,
} from '@pinnacle/domain';
import { orgKeys } from './keys.js';
import type { RedisClient } from './redis-client.js';
import { readEntry, servedFields } from './snapshot-codec.js';

/**
 * Users of each kind of change (added, removed, changed) a run keeps. The
 * counts are always complete; the lists stop here, so a first sync (which
 * "adds" every user) or a mass removal costs at most about 3 × 1,000 × 80
 * bytes per run, and an org's 200 kept runs at most ~50 MB however its
 * directory churns.
 */
export const RUN_CHANGES_LIMIT = 1000;

export class RunChangesCursorError extends Error {
  readonly code = 'cursor_invalid';
  constructor() {
    super('The cursor is not one this API issued for this list');
    this.name = 'RunChangesCursorError';
  }
}

const FIELDS = ['displayName', 'mail', 'userPrincipalName', 'accountEnabled'] as const;

/**
 * The users a run added, removed and changed, as its commit's diff recorded
 * them (SnapshotStore.buildVersion writes them; the run index's trim deletes
 * them with the run).
 */
export class RunChangesRepository {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  /**
   * A page of the run's changes: added, then removed, then changed users
   * (each in user-ID order), or only the kind asked for. The cursor is a
   * position in those lists, which no longer change once the run is done.
   */
  async list(
    orgId: string,
    runId: string,
    options: { change?: RunChangeKind | undefined; cursor?: string | undefined; limit: number },
  ): Promise<RunChangesPage> {
    const k = orgKeys(this.prefix, orgId);
    const kinds = options.change ? [options.change] : [...RUN_CHANGE_KINDS];
    let kind = 0;
    let offset = 0;
    if (options.cursor) {
      const position = decodeCursor(options.cursor);
      const match = position === null ? null : /^([a-z]+):(\d{1,9})$/.exec(position);
      const at = match ? kinds.indexOf(match[1] as RunChangeKind) : -1;
      if (!match || at < 0) throw new RunChangesCursorError();
      kind = at;
      offset = Number(match[2]);
    }
    const lists = kinds.map((c) => k.runChangeList(runId, c));
    const read = this.redis.pipeline().hgetall(k.runChanges(runId));
    for (const list of lists) read.llen(list);
    const replies = (await read.exec()) ?? [];
    for (const [error] of replies) if (error) throw error;
    const summary = (replies[0]?.[1] ?? {}) as Record<string, string>;
    const stored = replies.slice(1).map(([, n]) => n as number);
    const recorded = summary.added !== undefined;
    const totals = {
      added: Number(summary.added ?? 0),
      removed: Number(summary.removed ?? 0),
      changed: Number(summary.changed ?? 0),
    };
    const page: RunChangesPage = {
      items: [],
      nextCursor: null,
      recorded,
      applied: summary.applied === '1',
      totals,
      limitPerKind: Number(summary.limit ?? RUN_CHANGES_LIMIT),
      truncated: kinds.some((c, i) => (stored[i] ?? 0) < totals[c]),
    };
    if (!recorded) return page;

    // The ranges to read: from the cursor on, one more than the page to
    // know whether another follows.
    const ranges: { kind: number; from: number; to: number }[] = [];
    let want = options.limit + 1;
    for (let i = kind; i < kinds.length && want > 0; i++) {
      const from = i === kind ? offset : 0;
      const n = Math.min(want, Math.max(0, (stored[i] ?? 0) - from));
      if (n > 0) ranges.push({ kind: i, from, to: from + n - 1 });
      want -= n;
    }
    const rows = this.redis.pipeline();
    for (const r of ranges) rows.lrangeBuffer(lists[r.kind] as string, r.from, r.to);
    const results = (await rows.exec()) ?? [];
    const found: { kind: number; index: number; entry: Buffer }[] = [];
    ranges.forEach((r, j) => {
      const [error, entries] = results[j] ?? [null, []];
      if (error) throw error;
      (entries as Buffer[]).forEach((entry, n) => {
        found.push({ kind: r.kind, index: r.from + n, entry });
      });
    });
    const next = found[options.limit];
    page.items = found
      .slice(0, options.limit)
      .map((f) => decodeChange(kinds[f.kind] as RunChangeKind, f.entry));
    page.nextCursor = next ? encodeCursor(`${kinds[next.kind]}:${next.index}`) : null;
    return page;
  }
}

function decodeChange(change: RunChangeKind, item: Buffer): RunChange {
  if (change !== 'changed') {
    const { id, fields } = readEntry(item);
    return { userId: id, change, ...servedFields(fields), changedFields: [], previous: null };
  }
  // [groups differ][length of the new entry, 2 bytes][new entry][old entry]
  const groupsDiffer = item[0] === 1;
  const length = item.readUInt16BE(1);
  const now = readEntry(item.subarray(3, 3 + length));
  const before = readEntry(item.subarray(3 + length));
  const [after, previous] = [servedFields(now.fields), servedFields(before.fields)];
  const changedFields: ChangedField[] = FIELDS.filter((f) => after[f] !== previous[f]);
  if (groupsDiffer) changedFields.push('groupIds');
  return { userId: now.id, change, ...after, changedFields, previous };
}
