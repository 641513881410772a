import { describe, expect, it } from 'vitest';
import { committedRunStats, snapshotMetaSchema } from '../src/index.js';

describe('snapshotMetaSchema', () => {
  it('parses the meta a commit writes, and gives back the run counts it holds', () => {
    const written = {
      runId: 'run-1',
      committedAt: '2026-01-01T00:00:00.000Z',
      groups: 2,
      graphRequests: 9,
      throttledRequests: 1,
      tokenRequests: 2,
      users: 40,
      added: 3,
      changed: 2,
      removed: 1,
      previousUsers: 38,
    };
    const meta = snapshotMetaSchema.parse(written);
    expect(meta).toEqual(written);
    expect(committedRunStats(meta)).toEqual({
      users: 40,
      added: 3,
      removed: 1,
      changed: 2,
      groups: 2,
      graphRequests: 9,
      throttledRequests: 1,
      tokenRequests: 2,
    });
  });

  it('parses older and smaller metas; counts they lack are left out, not zero', () => {
    const meta = snapshotMetaSchema.parse({
      runId: 'run-2',
      users: 1,
      groupNames: { g1: 'Sales' },
    });
    expect(meta).toEqual({ runId: 'run-2', users: 1 });
    expect(committedRunStats(meta)).toEqual({ users: 1 });
    expect(committedRunStats(snapshotMetaSchema.parse({ runId: 'r', groups: null }))).toEqual({});
  });

  it('refuses a meta with a malformed count', () => {
    expect(snapshotMetaSchema.safeParse({ runId: 'r', users: -1 }).success).toBe(false);
    expect(snapshotMetaSchema.safeParse({ users: 1 }).success).toBe(false);
  });
});
