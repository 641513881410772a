import { setTimeout as sleep } from 'node:timers/promises';
import type { Figure, FigureContext } from '../figure.js';
import { fmt } from '../format.js';
import { intKnob } from '../knobs.js';
import { forgetOrg, measureSync } from '../stack/sync-run.js';
import { type BenchTenant, benchTenant, FOUR_GROUPS } from '../stack/tenants.js';
import { ratioOf, round } from '../stats.js';
import { startSyncStack, stopSyncStack } from './sync-stack.js';

const USERS = intKnob('BENCH_MILLION_USERS', 1_000_000);
const BASE_USERS = intKnob('BENCH_MILLION_BASE_USERS', 100_000);
const GOAL_MB = 250;
const GOAL_GROWTH = 1.1;

interface State {
  ctx: FigureContext;
  large: BenchTenant;
  base: BenchTenant;
}

export const millionUsers: Figure<State> = {
  id: '3',
  key: 'million-users',
  title: 'A million users',
  about:
    `the worker's peak RSS (VmHWM, reset before each sync) syncing ${USERS.toLocaleString('en-US')} users in 4 ` +
    `overlapping, nested groups at zero added latency, against its peak syncing ${BASE_USERS.toLocaleString('en-US')} ` +
    'users in the same run (a fresh worker process each run: idle first, then the smaller sync, then the larger); ' +
    'and its idle RSS, two seconds after it started.',
  async setup(ctx) {
    const sim = await ctx.stack.simulator();
    const large = benchTenant('million', USERS, FOUR_GROUPS);
    const base = benchTenant('million-base', BASE_USERS, FOUR_GROUPS);
    await sim.addTenant(large.input);
    await sim.addTenant(base.input);
    return { ctx, large, base };
  },
  async run(state) {
    const s = await startSyncStack(state.ctx);
    try {
      await sleep(2000);
      const idleRssMb = s.worker.rssMb();
      const small = await measureSync(s, state.base);
      await forgetOrg(s.redis, small.orgId);
      const large = await measureSync(s, state.large);
      await forgetOrg(s.redis, large.orgId);
      return {
        idleRssMb,
        basePeakRssMb: small.workerPeakRssMb,
        peakRssMb: large.workerPeakRssMb,
        ratio: ratioOf(large.workerPeakRssMb, small.workerPeakRssMb),
        growthPercent: round((large.workerPeakRssMb / small.workerPeakRssMb - 1) * 100, 1),
        users: large.run.stats.users ?? 0,
        syncMs: large.wallMs,
        commitMs: large.stageMs.commit,
        workerCpuMs: large.workerCpuMs,
      };
    } finally {
      await stopSyncStack(s);
    }
  },
  teardown: async () => {},
  rows: (m) => [
    {
      measure: `worker peak RSS, ${fmt.count(m.users ?? USERS)} users (baseline: ${fmt.count(BASE_USERS)})`,
      value: fmt.mb(m.peakRssMb ?? Number.NaN),
      baseline: fmt.mb(m.basePeakRssMb ?? Number.NaN),
      ratio: m.ratio ?? null,
      goal: `< ${GOAL_MB} MB and ≤ ${GOAL_GROWTH}x`,
      met:
        (m.peakRssMb ?? Number.POSITIVE_INFINITY) < GOAL_MB &&
        (m.ratio ?? Number.POSITIVE_INFINITY) <= GOAL_GROWTH,
    },
    {
      measure: 'worker idle RSS',
      value: fmt.mb(m.idleRssMb ?? Number.NaN),
      baseline: '–',
      ratio: null,
      goal: 'report',
      met: null,
    },
  ],
};
