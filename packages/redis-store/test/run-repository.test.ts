import { newQueuedRun, type Run } from '@pinnacle/domain';
import { type RedisFixture, test } from '@pinnacle/testing/fixtures';
import { describe, expect, it } from 'vitest';
import { orgKeys } from '../src/keys.js';
import type { RedisClient } from '../src/redis-client.js';
import { RUN_HISTORY_LIMIT, RunRepository } from '../src/run-repository.js';
import { dataPrefix } from '../src/stores.js';

let r: RedisFixture;
let prefix: string;
let repo: RunRepository;

test.beforeAll(async ({ redis }) => {
  r = redis;
  prefix = dataPrefix(r.prefix);
  repo = new RunRepository(r.redis, prefix);
});

const base = Date.UTC(2026, 0, 1);
const at = (seconds: number) => new Date(base + seconds * 1000).toISOString();

function run(orgId: string, id: string, second: number, patch: Partial<Run> = {}): Run {
  return {
    ...newQueuedRun({ id, orgId, trigger: 'manual', createdAt: new Date(at(second)) }),
    ...patch,
  };
}

const finished = (x: Run, status: 'succeeded' | 'failed' = 'succeeded'): Run => ({
  ...x,
  status,
  stage: 'commit',
  startedAt: x.createdAt,
  finishedAt: x.createdAt,
  attempts: 1,
  ...(status === 'failed'
    ? {
        failure: {
          code: 'client_secret_expired',
          category: 'credentials',
          title: 'The client secret has expired',
          message: 'Authentication with Microsoft Entra ID could not be completed.',
          remediation: ['Generate a new client secret in Entra ID.'],
          retryable: false,
          details: { source: 'recorded_expiry' },
        },
      }
    : { stats: { ...x.stats, users: 3, groups: 1, added: 3, removed: 0, changed: 0 } }),
});

/** Creates a run and finishes it at once, so the next one can start. */
async function createFinished(orgId: string, id: string, second: number): Promise<Run> {
  const created = await repo.createIfIdle(run(orgId, id, second));
  expect(created.created).toBe(true);
  const done = finished(created.run);
  await repo.save(done);
  return done;
}

async function listAll(orgId: string, limit: number, between?: (page: number) => Promise<void>) {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 10_000; page++) {
    const result = await repo.list(orgId, { limit, cursor });
    expect(result.items.length).toBeLessThanOrEqual(limit);
    ids.push(...result.items.map((x) => x.id));
    if (result.nextCursor === null) return ids;
    cursor = result.nextCursor;
    await between?.(page);
  }
  throw new Error('paging did not end');
}

describe('RunRepository.createIfIdle', () => {
  it('creates once, then returns the active run', async () => {
    const org = 'org-create';
    const first = run(org, 'run-1', 1);
    expect(await repo.createIfIdle(first)).toEqual({ created: true, run: first });
    expect(await repo.get(org, 'run-1')).toEqual(first);
    expect(await repo.activeRunId(org)).toBe('run-1');

    const second = await repo.createIfIdle(run(org, 'run-2', 2, { trigger: 'schedule' }));
    expect(second).toEqual({ created: false, run: first });
    // The refused run left no trace.
    expect(await repo.get(org, 'run-2')).toBeNull();
    expect((await repo.list(org, { limit: 10 })).items.map((x) => x.id)).toEqual(['run-1']);
    expect(await repo.activeRunId(org)).toBe('run-1');
  });

  it('returns the active run as it is now (e.g. running)', async () => {
    const org = 'org-create-running';
    const first = run(org, 'run-1', 1);
    await repo.createIfIdle(first);
    const running: Run = { ...first, status: 'running', startedAt: at(2), attempts: 1 };
    await repo.save(running);
    expect(await repo.createIfIdle(run(org, 'run-2', 3))).toEqual({
      created: false,
      run: running,
    });
  });

  it('refuses an invalid run without writing anything', async () => {
    const org = 'org-create-invalid';
    const bad = { ...run(org, 'run-1', 1), createdAt: 'yesterday' };
    await expect(repo.createIfIdle(bad)).rejects.toThrow();
    await expect(repo.createIfIdle(run(org, 'bad:id', 1))).rejects.toThrow();
    expect(await repo.activeRunId(org)).toBeNull();
    expect((await r.keys()).filter((k) => k.includes(`{o:${org}}`))).toEqual([]);
  });

  it('creates exactly one of 20 concurrent requests', async () => {
    const org = 'org-concurrent';
    // Several connections, as several API processes would have.
    const connections: RedisClient[] = Array.from({ length: 4 }, () => r.connect());
    const repos = connections.map((c) => new RunRepository(c, prefix));
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (repos[i % repos.length] as RunRepository).createIfIdle(run(org, `run-${i}`, i)),
      ),
    );
    const created = results.filter((x) => x.created);
    expect(created).toHaveLength(1);
    const winner = created[0]?.run.id as string;
    for (const result of results) expect(result.run.id).toBe(winner);
    expect(await repo.activeRunId(org)).toBe(winner);
    expect((await repo.list(org, { limit: 50 })).items.map((x) => x.id)).toEqual([winner]);
    await Promise.all(connections.map((c) => c.quit()));
  });

  it('recovers when the active slot names a run that no longer exists', async () => {
    const org = 'org-orphan-slot';
    await r.redis.set(orgKeys(prefix, org).activeRun, 'run-gone');
    const result = await repo.createIfIdle(run(org, 'run-1', 1));
    expect(result.created).toBe(true);
    expect(await repo.activeRunId(org)).toBe('run-1');
  });
});

describe('RunRepository.save and releaseActive', () => {
  it('saving a queued or running run keeps the slot; a finished one releases it', async () => {
    const org = 'org-save';
    const first = run(org, 'run-1', 1);
    await repo.createIfIdle(first);
    const running: Run = { ...first, status: 'running', stage: 'fetch', startedAt: at(2) };
    await repo.save(running);
    expect(await repo.get(org, 'run-1')).toEqual(running);
    expect(await repo.activeRunId(org)).toBe('run-1');
    expect((await repo.createIfIdle(run(org, 'run-x', 3))).created).toBe(false);

    const done = finished(running, 'failed');
    await repo.save(done);
    expect(await repo.get(org, 'run-1')).toEqual(done);
    expect(await repo.activeRunId(org)).toBeNull();

    const next = await repo.createIfIdle(run(org, 'run-2', 4));
    expect(next.created).toBe(true);
    expect(await repo.activeRunId(org)).toBe('run-2');
    // A success releases it too.
    await repo.save(finished(next.run, 'succeeded'));
    expect(await repo.activeRunId(org)).toBeNull();
  });

  it("saving a finished run never releases another run's slot", async () => {
    const org = 'org-save-other';
    const old = await createFinished(org, 'run-1', 1);
    const current = await repo.createIfIdle(run(org, 'run-2', 2));
    expect(current.created).toBe(true);
    // A late save of the old run (e.g. a retried hand-off).
    await repo.save({ ...old, attempts: 2 });
    expect(await repo.activeRunId(org)).toBe('run-2');
    expect((await repo.get(org, 'run-1'))?.attempts).toBe(2);
  });

  it('saving a run that was never created (or was trimmed) writes nothing', async () => {
    const org = 'org-save-unknown';
    await repo.save(finished(run(org, 'run-ghost', 1)));
    expect(await repo.get(org, 'run-ghost')).toBeNull();
    expect((await r.keys()).filter((k) => k.includes(`{o:${org}}`))).toEqual([]);
  });

  it('saveUnlessFinished: of two finishing saves of a run, the first wins', async () => {
    const org = 'org-save-once';
    const created = await repo.createIfIdle(run(org, 'run-1', 1));
    const failed = finished(created.run, 'failed');
    const [a, b] = await Promise.all([
      repo.saveUnlessFinished(failed),
      repo.saveUnlessFinished({ ...failed, attempts: 2 }),
    ]);
    expect([a, b]).toEqual(['saved', 'already_finished']);
    expect(await repo.get(org, 'run-1')).toEqual(failed);
    expect(await repo.activeRunId(org)).toBeNull();
    // A run still going is saved; a record that is gone is not written.
    const next = await repo.createIfIdle(run(org, 'run-2', 2));
    const running: Run = { ...next.run, status: 'running', stage: 'fetch' };
    expect(await repo.saveUnlessFinished(running)).toBe('saved');
    expect(await repo.get(org, 'run-2')).toEqual(running);
    expect(await repo.saveUnlessFinished(finished(run(org, 'run-ghost', 3)))).toBe('gone');
    expect(await repo.get(org, 'run-ghost')).toBeNull();
  });

  it('releaseActive is compare-and-delete', async () => {
    const org = 'org-release';
    await repo.createIfIdle(run(org, 'run-1', 1));
    expect(await repo.releaseActive(org, 'run-other')).toBe(false);
    expect(await repo.activeRunId(org)).toBe('run-1');
    expect(await repo.releaseActive(org, 'run-1')).toBe(true);
    expect(await repo.activeRunId(org)).toBeNull();
    expect(await repo.releaseActive(org, 'run-1')).toBe(false);
    // The run record itself stays.
    expect((await repo.get(org, 'run-1'))?.id).toBe('run-1');
    expect((await repo.createIfIdle(run(org, 'run-2', 2))).created).toBe(true);
    expect(await repo.releaseActive(org, 'run-1')).toBe(false);
    expect(await repo.activeRunId(org)).toBe('run-2');
  });

  it('a run whose ID is "active" is a run like any other', async () => {
    // Run IDs are any [A-Za-z0-9_-]{1,64} (the API validates path parameters
    // with that schema), so "active" must not alias the active-slot key.
    const org = 'org-active-id';
    await repo.createIfIdle(run(org, 'run-1', 1));
    expect(await repo.get(org, 'active')).toBeNull();

    const org2 = 'org-active-id-2';
    const odd = run(org2, 'active', 1);
    expect(await repo.createIfIdle(odd)).toEqual({ created: true, run: odd });
    expect(await repo.get(org2, 'active')).toEqual(odd);
    expect(await repo.activeRunId(org2)).toBe('active');
    await repo.save(finished(odd));
    expect(await repo.activeRunId(org2)).toBeNull();
    expect((await repo.get(org2, 'active'))?.status).toBe('succeeded');
  });
});

describe('RunRepository history', () => {
  it('lists newest first', async () => {
    const org = 'org-list';
    // Created out of time order: the order is createdAt, not insertion.
    for (const [id, second] of [
      ['run-b', 20],
      ['run-a', 10],
      ['run-d', 40],
      ['run-c', 30],
    ] as const) {
      await createFinished(org, id, second);
    }
    expect((await repo.list(org, { limit: 10 })).items.map((x) => x.id)).toEqual([
      'run-d',
      'run-c',
      'run-b',
      'run-a',
    ]);
    const page = await repo.list(org, { limit: 4 });
    expect(page.nextCursor).toBeNull();
    expect(page.items[0]).toEqual(await repo.get(org, 'run-d'));
  });

  it('an org with no runs lists nothing', async () => {
    expect(await repo.list('org-no-runs', { limit: 10 })).toEqual({ items: [], nextCursor: null });
  });

  it('pages with a cursor that stays stable while new runs are added', async () => {
    const org = 'org-paging';
    for (let i = 0; i < 10; i++) await createFinished(org, `run-${i}`, i);
    const expected = Array.from({ length: 10 }, (_, i) => `run-${9 - i}`);
    expect(await listAll(org, 3)).toEqual(expected);
    expect(await listAll(org, 5)).toEqual(expected);
    expect(await listAll(org, 1)).toEqual(expected);

    let added = 0;
    const seen = await listAll(org, 3, async () => {
      // Two new runs appear between every two pages.
      for (let j = 0; j < 2; j++) {
        await createFinished(org, `run-new-${added}`, 100 + added);
        added++;
      }
    });
    // The reader saw exactly the runs that existed when it started: no
    // duplicates, no gaps.
    expect(seen).toEqual(expected);
    expect(added).toBeGreaterThan(0);
    expect((await repo.list(org, { limit: 1 })).items[0]?.id).toBe(`run-new-${added - 1}`);
  });

  it('an unknown cursor yields an empty page', async () => {
    const org = 'org-bad-cursor';
    await createFinished(org, 'run-1', 1);
    const cursor = Buffer.from('run-unknown', 'utf8').toString('base64url');
    expect(await repo.list(org, { limit: 10, cursor })).toEqual({ items: [], nextCursor: null });
  });

  it(`keeps the newest ${RUN_HISTORY_LIMIT} runs and deletes the older run records`, async () => {
    const org = 'org-trim';
    const total = RUN_HISTORY_LIMIT + 7;
    const k = orgKeys(prefix, org);
    // What each run's commit records beside it: its changes.
    const changeKeys = (id: string) => [
      k.runChanges(id),
      k.runChangeList(id, 'added'),
      k.runChangeList(id, 'removed'),
      k.runChangeList(id, 'changed'),
    ];
    for (let i = 0; i < total; i++) {
      await createFinished(org, `run-${i}`, i);
      const [summary, ...lists] = changeKeys(`run-${i}`) as [string, ...string[]];
      await r.redis.hset(summary, 'added', 1);
      for (const list of lists) await r.redis.rpush(list, 'x');
    }
    expect(await r.redis.zcard(k.runIndex)).toBe(RUN_HISTORY_LIMIT);
    for (let i = 0; i < 7; i++) {
      expect(await repo.get(org, `run-${i}`)).toBeNull();
      expect(await r.redis.exists(k.run(`run-${i}`), ...changeKeys(`run-${i}`))).toBe(0);
    }
    expect(await r.redis.exists(...changeKeys('run-7'))).toBe(4);
    expect((await repo.get(org, 'run-7'))?.id).toBe('run-7');
    const all = await listAll(org, 64);
    expect(all).toEqual(
      Array.from({ length: RUN_HISTORY_LIMIT }, (_, i) => `run-${total - 1 - i}`),
    );
    // Only the kept runs have records (and changes): nothing leaks.
    const runRecords = (await r.keys()).filter(
      (key) => key.startsWith(k.run('')) && key !== k.activeRun,
    );
    expect(runRecords).toHaveLength(RUN_HISTORY_LIMIT * 5);
  });

  it('findLatest finds the newest match across pages', async () => {
    const org = 'org-find';
    for (let i = 0; i < 120; i++) {
      const created = await repo.createIfIdle(run(org, `run-${i}`, i));
      await repo.save(finished(created.run, i === 3 || i === 7 ? 'succeeded' : 'failed'));
    }
    expect((await repo.findLatest(org, (x) => x.status === 'succeeded'))?.id).toBe('run-7');
    expect((await repo.findLatest(org, (x) => x.status === 'failed'))?.id).toBe('run-119');
    expect(await repo.findLatest(org, (x) => x.trigger === 'schedule')).toBeNull();
  });

  it('orgs have separate histories and slots', async () => {
    await repo.createIfIdle(run('org-sep-a', 'run-a', 1));
    expect((await repo.createIfIdle(run('org-sep-b', 'run-b', 1))).created).toBe(true);
    expect((await repo.list('org-sep-a', { limit: 10 })).items.map((x) => x.id)).toEqual(['run-a']);
    expect(await repo.get('org-sep-b', 'run-a')).toBeNull();
  });
});
