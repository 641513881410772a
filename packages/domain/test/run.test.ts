import { describe, expect, it } from 'vitest';
import {
  buildFailure,
  emptyRunStats,
  isActiveRunStatus,
  type Run,
  runSchema,
  runStatsSchema,
  syncAcceptedSchema,
  syncRequestSchema,
} from '../src/index.js';

const queued: Run = {
  id: '6f1c1f8e-8d3a-4c55-9a62-0d6c3f4b5a21',
  orgId: 'org-1',
  trigger: 'manual',
  status: 'queued',
  stage: 'preflight',
  createdAt: '2026-05-10T10:00:00.000Z',
  startedAt: null,
  finishedAt: null,
  attempts: 0,
  failure: null,
  warnings: [],
  stats: emptyRunStats(),
};

describe('runSchema', () => {
  it('accepts a queued run with nothing known yet', () => {
    expect(runSchema.parse(queued)).toEqual(queued);
  });

  it('accepts a failed run with its failure and warnings', () => {
    const failed: Run = {
      ...queued,
      status: 'failed',
      stage: 'preflight',
      startedAt: '2026-05-10T10:00:01.000Z',
      finishedAt: '2026-05-10T10:00:02.000Z',
      attempts: 1,
      failure: buildFailure('groups_not_configured', {}),
      warnings: [{ code: 'excess_permissions', message: 'Mail.Send is not needed.' }],
      stats: { ...emptyRunStats(), graphRequests: 1 },
      allowMassRemoval: true,
    };
    expect(runSchema.parse(failed)).toEqual(failed);
  });

  it('accepts a succeeded run with full stats', () => {
    const stats = {
      users: 1200,
      groups: 3,
      added: 10,
      removed: 2,
      changed: 5,
      graphRequests: 9,
      throttledRequests: 1,
      tokenRequests: 2,
    };
    expect(runStatsSchema.parse(stats)).toEqual(stats);
    expect(
      runSchema.parse({ ...queued, status: 'succeeded', stage: 'commit', stats }).stats,
    ).toEqual(stats);
  });

  it('reads a record written before tokenRequests and groups existed', () => {
    const { tokenRequests: _added, ...oldStats } = emptyRunStats();
    const old = runSchema.parse({ ...queued, stats: { ...oldStats, graphRequests: 4 } });
    expect(old.stats.tokenRequests).toBe(0);
    expect(old.stats.graphRequests).toBe(4);
    expect(old.groups).toBeUndefined();
  });

  it('keeps the groups a run saw, a missing one marked', () => {
    const groups = [
      { id: '0a0a0a0a-0000-4000-8000-00000000000a', displayName: 'Sales (EMEA)', missing: false },
      { id: '0b0b0b0b-0000-4000-8000-00000000000b', displayName: null, missing: true },
    ];
    expect(runSchema.parse({ ...queued, groups }).groups).toEqual(groups);
    expect(runSchema.safeParse({ ...queued, groups: [{ id: 'x' }] }).success).toBe(false);
  });

  it.each([
    ['status', { status: 'done' }],
    ['trigger', { trigger: 'cron' }],
    ['stage', { stage: 'sync' }],
    ['id', { id: 'run:1' }],
    ['orgId', { orgId: '' }],
    ['createdAt', { createdAt: 'yesterday' }],
    ['attempts', { attempts: -1 }],
    ['stats', { stats: { ...emptyRunStats(), users: -1 } }],
    ['failure', { failure: { code: 'nope' } }],
  ])('rejects a bad %s', (_field, patch) => {
    expect(runSchema.safeParse({ ...queued, ...patch }).success).toBe(false);
  });

  it('knows which statuses hold the org slot', () => {
    expect(isActiveRunStatus('queued')).toBe(true);
    expect(isActiveRunStatus('running')).toBe(true);
    expect(isActiveRunStatus('succeeded')).toBe(false);
    expect(isActiveRunStatus('failed')).toBe(false);
  });
});

describe('Sync Now contracts', () => {
  it('accepts an empty body and the override, strictly', () => {
    expect(syncRequestSchema.parse({})).toEqual({});
    expect(syncRequestSchema.parse({ allowMassRemoval: true })).toEqual({ allowMassRemoval: true });
    expect(syncRequestSchema.safeParse({ allowMassRemoval: 'yes' }).success).toBe(false);
    expect(syncRequestSchema.safeParse({ force: true }).success).toBe(false);
  });

  it('describes the 202 response', () => {
    const body = { runId: queued.id, status: 'queued', deduplicated: false };
    expect(syncAcceptedSchema.parse(body)).toEqual(body);
    expect(syncAcceptedSchema.safeParse({ ...body, deduplicated: 'no' }).success).toBe(false);
  });
});
