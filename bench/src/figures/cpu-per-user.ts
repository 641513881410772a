import { mkdirSync } from 'node:fs';
import type { Figure } from '../figure.js';
import { fmt } from '../format.js';
import { intKnob } from '../knobs.js';
import { newestProfile, type SelfTime, topSelfTime } from '../profile.js';
import { runBareSync } from '../stack/bare-loop-process.js';
import { forgetOrg, measureSync } from '../stack/sync-run.js';
import { benchTenant, FOUR_GROUPS } from '../stack/tenants.js';
import { ratioOf, round } from '../stats.js';
import { bareOptions, type SyncStack, startSyncStack, stopSyncStack } from './sync-stack.js';

const USERS = intKnob('BENCH_CPU_USERS', 100_000);
/** BENCH_CPU_PROFILE=<dir>: the worker runs with --cpu-prof; the JSON names its heaviest functions. */
const PROFILE_DIR = process.env.BENCH_CPU_PROFILE;
const GOAL = 2;
/** The worker's own heap bound (apps/worker/src/heap-tuning.ts), for the bounded bare loop. */
const WORKER_HEAP_FLAG = '--heap-growing-percent=100';
const per100k = (ms: number, users: number) => round((ms * 100_000) / users);

interface State extends SyncStack {
  tenant: ReturnType<typeof benchTenant>;
  profile?: SelfTime[];
}

export const cpuPerUser: Figure<State> = {
  id: '2',
  key: 'cpu-per-user',
  title: 'CPU per user',
  about:
    `the worker process's CPU time (user + system, from /proc) for a sync of ${USERS.toLocaleString('en-US')} users ` +
    "in 4 overlapping, nested groups at zero added latency, per 100,000 users, against the bare loop's own CPU " +
    "time for the same requests (both parse the same JSON), and against the same loop run with the worker's heap " +
    "flag (--heap-growing-percent=100), which holds it to a bounded heap as the worker is; the simulator's and " +
    "Redis's CPU are in the JSON. " +
    'With BENCH_CPU_PROFILE=<dir> the worker is profiled and the JSON lists its heaviest functions by self time.',
  async setup(ctx) {
    const tenant = benchTenant('cpu', USERS, FOUR_GROUPS);
    if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true });
    const s = await startSyncStack(ctx, {
      nodeArgs: PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [],
    });
    await s.simulator.addTenant(tenant.input);
    return { ...s, tenant };
  },
  async run(s) {
    const options = bareOptions(s.simulator, s.tenant);
    const bare = await runBareSync(options, s.simulator.caPath);
    // The same loop held to the worker's memory bound (its heap flag): what bounded memory costs.
    const bounded = await runBareSync(options, s.simulator.caPath, [WORKER_HEAP_FLAG]);
    const sync = await measureSync(s, s.tenant);
    await forgetOrg(s.redis, sync.orgId);
    const users = sync.run.stats.users ?? USERS;
    return {
      users,
      workerCpuMsPer100k: per100k(sync.workerCpuMs, users),
      bareCpuMsPer100k: per100k(bare.cpuMs, users),
      ratio: ratioOf(sync.workerCpuMs, bare.cpuMs),
      barePeakRssMb: bare.peakRssMb,
      boundedBareCpuMsPer100k: per100k(bounded.cpuMs, users),
      boundedBarePeakRssMb: bounded.peakRssMb,
      ratioToBounded: ratioOf(sync.workerCpuMs, bounded.cpuMs),
      workerPeakRssMb: sync.workerPeakRssMb,
      simulatorCpuMsPer100k: per100k(sync.simulatorCpuMs, users),
      redisCpuMsPer100k: per100k(sync.redisCpuMs, users),
      syncMs: sync.wallMs,
      bareMs: round(bare.wallMs),
    };
  },
  async teardown(s) {
    await stopSyncStack(s);
    // The profile is written as the worker exits.
    const file = PROFILE_DIR ? newestProfile(PROFILE_DIR) : null;
    if (file) s.profile = topSelfTime(file);
  },
  rows: (m) => [
    {
      measure: `worker CPU per 100,000 users (${fmt.count(m.users ?? USERS)} synced, no added latency)`,
      value: fmt.ms(m.workerCpuMsPer100k ?? Number.NaN),
      baseline: fmt.ms(m.bareCpuMsPer100k ?? Number.NaN),
      ratio: m.ratio ?? null,
      goal: `≤ ${GOAL}x`,
      met: (m.ratio ?? Number.POSITIVE_INFINITY) <= GOAL,
    },
    {
      measure: `the same, the bare loop held to the worker's heap bound (peaks: bare ${fmt.mb(m.barePeakRssMb ?? Number.NaN)}, bounded ${fmt.mb(m.boundedBarePeakRssMb ?? Number.NaN)}, worker ${fmt.mb(m.workerPeakRssMb ?? Number.NaN)})`,
      value: fmt.ms(m.workerCpuMsPer100k ?? Number.NaN),
      baseline: fmt.ms(m.boundedBareCpuMsPer100k ?? Number.NaN),
      ratio: m.ratioToBounded ?? null,
      goal: 'report',
      met: null,
    },
  ],
  details: (s) => (s.profile ? { workerProfileTopSelfTime: s.profile } : {}),
};
