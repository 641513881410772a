/**
 * Figure 9, the compact snapshot's memory (issue 13), kept in `pnpm bench`.
 *
 * Commits the same directories in the previous layout (a frozen copy of the
 * old store, from redis-store's test support) and in the compact one, each on
 * a private redis-server started with Redis's stock encoding limits (hash/zset
 * listpacks up to 128 entries and 64-byte values), and reports per committed
 * user:
 * - the committed snapshot's bytes (MEMORY USAGE of every key of the version,
 *   index included) and the INFO used_memory it added;
 * - the users' own field bytes (displayName, mail and UPN in UTF-8, and 16
 *   for the GUID) and the bytes beyond them;
 * - the peak during a second sync's staging and commit, when the committed
 *   version, the staging and the version being built coexist: as the keys'
 *   MEMORY USAGE at the checkpoints (staged, built) and as used_memory
 *   (polled, so also the client buffers of the pages in flight), and the two
 *   versions held right after the commit;
 * - the time to stage and to commit, and Redis's CPU time for the second sync.
 * Tenants: the demo's 100,000-user Woodgrove tenant as the demo org selects
 * it (the simulator's seeded users: short names, mail = UPN), and tenants
 * with realistic fields (display names of 15 to 30 characters, mail and UPN
 * differing) of 1,000, 10,000 and 100,000 users (BENCH_SNAPSHOT_SIZES, e.g.
 * `1000,10000,100000,1000000`). Goal: at most 200 bytes per user, committed.
 */

import {
  demoTenants,
  type SeededTenantSpec,
  seededGroupId,
  seededTenantSchema,
  seededUser,
} from '@pinnacle/entra-simulator';
import { orgKeys, SnapshotStore, type StagedUser } from '@pinnacle/redis-store';
import { type RedisServer, redisCpuMs, startRedisServer } from '@pinnacle/testing';
import { Redis } from 'ioredis';
// The previous layout lives on as redis-store's own test fixture (its
// upgrade tests write it); the benchmark measures against that same copy.
import { testCursors } from '../../../packages/redis-store/test/support/cursors.js';
import { LegacySnapshotStore } from '../../../packages/redis-store/test/support/legacy-snapshot-store.js';
import type { Figure } from '../figure.js';
import { fmt } from '../format.js';
import { intKnob } from '../knobs.js';
import { ratioOf } from '../stats.js';

const PAGE = 999;
/** For smoke tests: the demo groups cut to their first N members (default: all of them). */
const DEMO_USERS = intKnob('BENCH_SNAPSHOT_DEMO_USERS', 1_000_000);
const PREFIX = 'bench';
const ORG = 'org';
const GOAL_BYTES_PER_USER = 200;

/** A directory: each selected group's members, in the order Graph pages them. */
interface Directory {
  name: string;
  groups: { id: string; members: StagedUser[] }[];
  includeDisabledUsers: boolean;
}

type Layout = 'previous' | 'compact';

// --- Directories ------------------------------------------------------------

function woodgrove(): Directory {
  const demo = demoTenants().find((t) => t.key === 'woodgrove');
  if (!demo) throw new Error('no woodgrove demo tenant');
  const spec: SeededTenantSpec = seededTenantSchema.parse(demo.tenant);
  const domain = spec.domains[0] as string;
  const byKey = new Map(spec.groups.map((g) => [g.key, g]));
  const ranges = (key: string, seen: Set<string>): [number, number][] => {
    const g = byKey.get(key);
    if (!g || seen.has(key)) return [];
    seen.add(key);
    return [
      ...g.userRanges.map((r): [number, number] => [r.start, r.start + r.count]),
      ...g.memberGroups.flatMap((m) => ranges(m, seen)),
    ];
  };
  // The demo org selects the tenant's first two groups (apps/demo).
  const selected = spec.groups.slice(0, 2).map((g) => g.key);
  return {
    name: 'woodgrove (demo, seeded)',
    includeDisabledUsers: false,
    groups: selected.map((key) => {
      const indexes = new Set<number>();
      for (const [from, to] of ranges(key, new Set())) {
        for (let i = from; i < to; i++) indexes.add(i);
      }
      return {
        id: seededGroupId(spec.seed, key),
        members: [...indexes]
          .sort((a, b) => a - b)
          .slice(0, DEMO_USERS)
          .map((i) => {
            const u = seededUser(spec.seed, i, domain, spec.disabledShare);
            return {
              id: u.id,
              displayName: u.displayName,
              mail: u.mail,
              userPrincipalName: u.userPrincipalName,
              accountEnabled: u.accountEnabled,
            };
          }),
      };
    }),
  };
}

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const GIVEN = [
  'Alexandra',
  'Benjamin',
  'Chen',
  'Dolores',
  'Emmanuel',
  'Fatima',
  'Giovanni',
  'Hiroshi',
];
const FAMILY = [
  'Abernathy',
  'Bergström',
  'Castellanos',
  'Dubois',
  'Esposito',
  'Fitzgerald',
  'Gonzalez',
];

/**
 * Realistic fields: display names of 15 to 30 characters, a UPN on the
 * tenant's onmicrosoft domain and a mail address on the company's own, an
 * "all staff" group and a department group holding 40 % of it, 3 % disabled.
 */
function realistic(users: number): Directory {
  const random = prng(users);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)] as T;
  const all: StagedUser[] = [];
  for (let i = 0; i < users; i++) {
    const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');
    const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
    const given = pick(GIVEN);
    const family = pick(FAMILY);
    const length = 15 + Math.floor(random() * 16);
    let displayName = `${given} ${family}`;
    while (displayName.length < length) displayName += ` ${pick(FAMILY)}`;
    displayName = displayName.slice(0, length).trimEnd().padEnd(length, 'x');
    const local = `${given}.${family}${i}`.toLowerCase();
    all.push({
      id,
      displayName,
      userPrincipalName: `${local}@fabrikamcorp.onmicrosoft.com`,
      mail: `${local}@fabrikam.com`,
      accountEnabled: random() >= 0.03,
    });
  }
  return {
    name: `realistic ${users.toLocaleString('en-US')}`,
    includeDisabledUsers: false,
    groups: [
      { id: 'aaaaaaaa-0000-4000-8000-000000000001', members: all },
      {
        id: 'aaaaaaaa-0000-4000-8000-000000000002',
        members: all.slice(0, Math.floor(users * 0.4)),
      },
    ],
  };
}

/** The next sync's directory: 1 % renamed, 0.5 % gone, as many new. */
function nextVersion(dir: Directory): Directory {
  const random = prng(42);
  const gone = new Set<string>();
  const renamed = new Set<string>();
  for (const u of dir.groups[0]?.members ?? []) {
    const roll = random();
    if (roll < 0.005) gone.add(u.id);
    else if (roll < 0.015) renamed.add(u.id);
  }
  const edit = (u: StagedUser): StagedUser =>
    renamed.has(u.id) ? { ...u, displayName: `${u.displayName} (2)` } : u;
  return {
    ...dir,
    groups: dir.groups.map((g, i) => ({
      id: g.id,
      members: [
        ...g.members.filter((u) => !gone.has(u.id)).map(edit),
        ...(i === 0
          ? [...gone].map((id, n) => ({
              ...(g.members[n] as StagedUser),
              id: `${id.slice(0, 24)}${'f'.repeat(12)}`,
            }))
          : []),
      ],
    })),
  };
}

/**
 * A user's own bytes: its fields' UTF-8 and 16 for the ID (a GUID's
 * information; counting its 36 characters would hide 20 bytes of overhead).
 */
function fieldBytes(u: StagedUser): number {
  return (
    16 +
    Buffer.byteLength(u.displayName ?? '') +
    Buffer.byteLength(u.mail ?? '') +
    Buffer.byteLength(u.userPrincipalName ?? '')
  );
}

// --- Measuring --------------------------------------------------------------

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1]);
}

/** Sum of MEMORY USAGE over the keys whose names match. */
async function keyBytes(redis: Redis, match: (key: string) => boolean): Promise<number> {
  let total = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of keys.filter(match)) {
      total += ((await redis.memory('USAGE', key, 'SAMPLES', 0)) as number | null) ?? 0;
    }
  } while (cursor !== '0');
  return total;
}

/** Polls used_memory until stopped: the peak a sync reaches. */
function memoryPoller(redis: Redis) {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, await usedMemory(redis));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return peak;
    },
  };
}

async function sync(
  store: SnapshotStore | LegacySnapshotStore,
  dir: Directory,
  runId: string,
  onCheckpoint: () => Promise<void>,
) {
  if (store instanceof SnapshotStore) {
    await store.resetStaging(ORG, runId, { groupIds: dir.groups.map((g) => g.id) });
  } else {
    await store.resetStaging(ORG, runId);
  }
  const staging = performance.now();
  for (const g of dir.groups) {
    for (let i = 0; i < g.members.length; i += PAGE) {
      await store.stagePage(ORG, runId, g.id, g.members.slice(i, i + PAGE));
    }
  }
  const stagingMs = performance.now() - staging;
  await onCheckpoint();
  const commit = performance.now();
  const diff = await store.buildVersion(ORG, runId, {
    includeDisabledUsers: dir.includeDisabledUsers,
  });
  await onCheckpoint();
  await store.promote(ORG, runId, diff.baseVersion);
  const commitMs = performance.now() - commit;
  return { diff, stagingMs: Math.round(stagingMs), commitMs: Math.round(commitMs) };
}

async function measure(dir: Directory, layout: Layout) {
  const server: RedisServer = await startRedisServer({
    appendonly: false,
    extraArgs: [
      // Redis's stock limits: a managed Redis cannot be assumed to raise them.
      '--hash-max-listpack-entries',
      '128',
      '--hash-max-listpack-value',
      '64',
      '--zset-max-listpack-entries',
      '128',
      '--zset-max-listpack-value',
      '64',
      '--list-max-listpack-size',
      '-2',
      '--hz',
      '100',
    ],
  });
  const redis = new Redis(server.url);
  const watcher = new Redis(server.url);
  try {
    const store =
      layout === 'compact'
        ? new SnapshotStore(redis, PREFIX, testCursors)
        : new LegacySnapshotStore(redis, PREFIX, testCursors);
    const k = orgKeys(PREFIX, ORG);
    const snapshotKey = (version: string) => (key: string) =>
      key.includes(`:snap:${version}:`) || key === k.snapshotCurrent;
    // Warm up (scripts loaded, connections' buffers grown), so the baseline
    // holds what every sync shares and the deltas only what this one adds.
    const warmup = {
      ...dir,
      groups: dir.groups.map((g) => ({ ...g, members: g.members.slice(0, PAGE) })),
    };
    await sync(store, warmup, 'warmup', async () => {});
    await redis.unlink(...(await redis.keys(`${PREFIX}:*`)));
    await redis.call('MEMORY', 'PURGE');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const baseline = await usedMemory(redis);

    const first = await sync(store, dir, 'v1', async () => {});
    const users = first.diff.users;
    const committedBytes = await keyBytes(redis, snapshotKey('v1'));
    const committedUsed = (await usedMemory(redis)) - baseline;
    const changesBytes = await keyBytes(redis, (key) => key.includes(':run:v1:changes'));
    let fields = 0;
    const counted = new Set<string>();
    for (const g of dir.groups) {
      for (const u of g.members) {
        if (counted.has(u.id)) continue;
        counted.add(u.id);
        if (dir.includeDisabledUsers || u.accountEnabled !== false) fields += fieldBytes(u);
      }
    }

    const poller = memoryPoller(watcher);
    let checkpointPeak = 0;
    let keysPeak = 0;
    const cpuBefore = await redisCpuMs(redis);
    const second = await sync(store, nextVersion(dir), 'v2', async () => {
      checkpointPeak = Math.max(checkpointPeak, await usedMemory(redis));
      keysPeak = Math.max(keysPeak, await keyBytes(redis, (key) => key.includes(':snap:')));
    });
    const redisCpu = (await redisCpuMs(redis)) - cpuBefore;
    const polledPeak = await poller.stop();
    const twoVersions = (await usedMemory(redis)) - baseline;
    const perUser = (bytes: number) => Math.round(bytes / users);
    return {
      tenant: dir.name,
      layout,
      users,
      bytesPerUser: perUser(committedBytes),
      usedMemoryPerUser: perUser(committedUsed),
      fieldBytesPerUser: perUser(fields),
      beyondFieldsPerUser: perUser(committedBytes - fields),
      peakKeysPerUser: perUser(keysPeak),
      peakUsedMemoryPerUser: perUser(Math.max(polledPeak, checkpointPeak) - baseline),
      twoVersionsPerUser: perUser(twoVersions),
      committedMb: Math.round((committedBytes / 1048576) * 10) / 10,
      runChangesKb: Math.round(changesBytes / 1024),
      firstSync: { stagingMs: first.stagingMs, commitMs: first.commitMs },
      secondSync: {
        stagingMs: second.stagingMs,
        commitMs: second.commitMs,
        redisCpuMs: redisCpu,
        diff: second.diff,
      },
    };
  } finally {
    redis.disconnect();
    watcher.disconnect();
    await server.stop();
  }
}

const sizes = (process.env.BENCH_SNAPSHOT_SIZES ?? '1000,10000,100000')
  .split(',')
  .map(Number)
  .filter((n) => Number.isInteger(n) && n > 0);
const largest = Math.max(...sizes);

type Measured = Awaited<ReturnType<typeof measure>>;

interface State {
  /** The last run's rows, every tenant and layout, for the JSON. */
  results: Measured[];
}

/** Sample keys: `<tenant>.<layout>.<measure>`. */
const keyOf = (tenant: 'woodgrove' | 'realistic', layout: Layout, measure: string) =>
  `${tenant}.${layout}.${measure}`;

export const snapshotMemory: Figure<State> = {
  id: '9',
  key: 'snapshot-memory',
  title: 'Snapshot memory',
  about:
    "a committed snapshot's Redis memory per user (MEMORY USAGE of its keys, index included), in the compact layout " +
    "against the previous one, each on a private redis-server with stock encoding limits: the demo's 100,000-user " +
    `Woodgrove tenant and tenants with realistic fields (${sizes.map((n) => n.toLocaleString('en-US')).join(', ')} users); ` +
    "the bytes beyond the users' own fields, the peak while a second sync stages and commits, and the stage and " +
    'commit times are in the JSON.',
  setup: async () => ({ results: [] }),
  async run(state) {
    state.results = [];
    const sample: Record<string, number> = {};
    const directories: [('woodgrove' | 'realistic') | null, () => Directory][] = [
      ['woodgrove', woodgrove],
      ...sizes.map((n): [('woodgrove' | 'realistic') | null, () => Directory] => [
        n === largest ? 'realistic' : null,
        () => realistic(n),
      ]),
    ];
    for (const [name, make] of directories) {
      const dir = make();
      for (const layout of ['previous', 'compact'] as const) {
        const row = await measure(dir, layout);
        state.results.push(row);
        if (!name) continue;
        sample[`${name}.users`] = row.users;
        sample[keyOf(name, layout, 'bytesPerUser')] = row.bytesPerUser;
        sample[keyOf(name, layout, 'beyondFieldsPerUser')] = row.beyondFieldsPerUser;
        sample[keyOf(name, layout, 'peakKeysPerUser')] = row.peakKeysPerUser;
        sample[keyOf(name, layout, 'commitMs')] = row.secondSync.commitMs;
      }
    }
    for (const name of ['woodgrove', 'realistic'] as const) {
      sample[`${name}.ratio`] = ratioOf(
        sample[keyOf(name, 'compact', 'bytesPerUser')] as number,
        sample[keyOf(name, 'previous', 'bytesPerUser')] as number,
      );
    }
    return sample;
  },
  teardown: async () => {},
  rows(m) {
    const at = (name: 'woodgrove' | 'realistic', layout: Layout, measure: string) =>
      m[keyOf(name, layout, measure)] ?? Number.NaN;
    const woodgroveBytes = at('woodgrove', 'compact', 'bytesPerUser');
    return [
      {
        measure: `committed snapshot per user, Woodgrove (${fmt.count(m['woodgrove.users'] ?? Number.NaN)} demo users)`,
        value: fmt.bytes(woodgroveBytes),
        baseline: `${fmt.bytes(at('woodgrove', 'previous', 'bytesPerUser'))} (previous layout)`,
        ratio: m['woodgrove.ratio'] ?? null,
        goal: `≤ ${GOAL_BYTES_PER_USER} B`,
        met: woodgroveBytes <= GOAL_BYTES_PER_USER,
      },
      {
        measure: `the same, ${fmt.count(m['realistic.users'] ?? Number.NaN)} users with realistic fields (beyond their fields: ${fmt.bytes(at('realistic', 'compact', 'beyondFieldsPerUser'))})`,
        value: fmt.bytes(at('realistic', 'compact', 'bytesPerUser')),
        baseline: `${fmt.bytes(at('realistic', 'previous', 'bytesPerUser'))} (previous layout)`,
        ratio: m['realistic.ratio'] ?? null,
        goal: 'report',
        met: null,
      },
    ];
  },
  details: (state) => ({ lastRun: state.results }),
};
