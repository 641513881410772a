import type { Figure } from '../figure.js';
import { fmt } from '../format.js';
import { intKnob } from '../knobs.js';
import { runBareSync } from '../stack/bare-loop-process.js';
import { forgetOrg, measureSync } from '../stack/sync-run.js';
import { benchTenant, FOUR_GROUPS } from '../stack/tenants.js';
import { ratioOf, round } from '../stats.js';
import { bareOptions, type SyncStack, startSyncStack, stopSyncStack } from './sync-stack.js';

const USERS = intKnob('BENCH_NETWORK_USERS', 100_000);
const LATENCY_MS = intKnob('BENCH_LATENCY_MS', 100);
const JITTER_MS = intKnob('BENCH_JITTER_MS', 20);
/** Fixed: the same delays, run after run. */
const LATENCY_SEED = 14;
const GOAL = 1.05;

interface State extends SyncStack {
  tenant: ReturnType<typeof benchTenant>;
}

/** The latency every request of the tenant meets, set again before each measured sync so both see the same delays. */
const latency = {
  latencyMs: LATENCY_MS,
  entraLatencyMs: LATENCY_MS,
  latencyJitterMs: JITTER_MS,
  latencySeed: LATENCY_SEED,
};

export const networkSync: Figure<State> = {
  id: '1',
  key: 'network-sync',
  title: 'Network-bound sync',
  about:
    `the run's wall time, preflight to commit (startedAt to finishedAt), syncing ${USERS.toLocaleString('en-US')} users ` +
    `in 4 overlapping, nested groups with ${LATENCY_MS} ± ${JITTER_MS} ms (seeded) added to every request, Entra's included, ` +
    `against a bare loop sending the same discovery, token, $batch group-check and members-page requests at the same ` +
    'group concurrency (4) and parsing the answers; the commit (from entering it to the run saved) is reported apart.',
  async setup(ctx) {
    const tenant = benchTenant('network', USERS, FOUR_GROUPS);
    const s = await startSyncStack(ctx);
    await s.simulator.addTenant(tenant.input);
    return { ...s, tenant };
  },
  async run(s) {
    await s.simulator.setFaults(s.tenant.tenantId, latency);
    const bare = await runBareSync(bareOptions(s.simulator, s.tenant), s.simulator.caPath);
    await s.simulator.setFaults(s.tenant.tenantId, latency);
    const sync = await measureSync(s, s.tenant);
    await forgetOrg(s.redis, sync.orgId);
    if (sync.run.stats.users !== s.tenant.users) {
      throw new Error(`the sync committed ${sync.run.stats.users} of ${s.tenant.users} users`);
    }
    return {
      users: sync.run.stats.users ?? 0,
      syncMs: sync.wallMs,
      bareMs: round(bare.wallMs),
      ratio: ratioOf(sync.wallMs, bare.wallMs),
      preflightMs: sync.stageMs.preflight,
      fetchMs: sync.stageMs.fetch,
      commitMs: sync.stageMs.commit,
      commitSharePercent: round((sync.stageMs.commit / sync.wallMs) * 100, 1),
      workerCpuMs: sync.workerCpuMs,
      simulatorCpuMs: sync.simulatorCpuMs,
      redisCpuMs: sync.redisCpuMs,
    };
  },
  teardown: (s) => stopSyncStack(s),
  rows: (m) => [
    {
      measure: `wall time, ${fmt.count(m.users ?? USERS)} users, ${LATENCY_MS} ± ${JITTER_MS} ms a request`,
      value: fmt.ms(m.syncMs ?? Number.NaN),
      baseline: fmt.ms(m.bareMs ?? Number.NaN),
      ratio: m.ratio ?? null,
      goal: `≤ ${GOAL}x`,
      met: (m.ratio ?? Number.POSITIVE_INFINITY) <= GOAL,
    },
    {
      measure: 'of which the commit',
      value: `${fmt.ms(m.commitMs ?? Number.NaN)} (${fmt.percent(m.commitSharePercent ?? Number.NaN)})`,
      baseline: '–',
      ratio: null,
      goal: 'report',
      met: null,
    },
  ],
};
