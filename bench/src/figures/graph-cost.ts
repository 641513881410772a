import type { Figure } from '../figure.js';
import { fmt } from '../format.js';
import { intKnob } from '../knobs.js';
import { forgetOrg, measureSync } from '../stack/sync-run.js';
import { benchTenant, slicedGroups } from '../stack/tenants.js';
import { ratioOf } from '../stats.js';
import { type SyncStack, startSyncStack, stopSyncStack } from './sync-stack.js';

const USERS = intKnob('BENCH_COST_USERS', 50_000);
const GROUPS = intKnob('BENCH_COST_GROUPS', 25);
/** The throttled run: every Nth Graph request (inside a batch or not) answered 429. */
const THROTTLE_EVERY = 25;

interface State extends SyncStack {
  tenant: ReturnType<typeof benchTenant>;
}

/** Graph requests the simulator received for one measured sync (HTTP requests: a batch counts once). */
async function countedSync(s: State) {
  const before = await s.simulator.counters();
  const sync = await measureSync(s, s.tenant);
  const after = await s.simulator.counters();
  await forgetOrg(s.redis, sync.orgId);
  return {
    requests: after.graphRequests - before.graphRequests,
    throttled: after.throttled - before.throttled,
    workerRequests: sync.run.stats.graphRequests,
    workerThrottled: sync.run.stats.throttledRequests,
  };
}

export const graphCost: Figure<State> = {
  id: '4',
  key: 'graph-cost',
  title: 'Graph cost',
  about:
    `Graph requests (HTTP, as the simulator counts them; a $batch once) for a sync of ${USERS.toLocaleString('en-US')} users ` +
    `in ${GROUPS} overlapping, nested groups, against the minimum: ceil(groups / 20) JSON $batch requests for the ` +
    'group checks plus max(1, ceil(members / 999)) members pages a group. Healthy, then with every ' +
    `${THROTTLE_EVERY}th request throttled (429, Retry-After 0): the throttled ones counted apart, and the requests ` +
    "beyond the minimum, which the retries of throttled requests alone should explain. The run's own " +
    'stats.graphRequests must agree with the simulator.',
  async setup(ctx) {
    const tenant = benchTenant('cost', USERS, slicedGroups(GROUPS));
    const s = await startSyncStack(ctx);
    await s.simulator.addTenant(tenant.input);
    return { ...s, tenant };
  },
  async run(s) {
    await s.simulator.setFaults(s.tenant.tenantId, {});
    const healthy = await countedSync(s);
    await s.simulator.setFaults(s.tenant.tenantId, {
      throttle: { every: THROTTLE_EVERY, retryAfterSeconds: 0 },
    });
    const throttled = await countedSync(s);
    await s.simulator.setFaults(s.tenant.tenantId, {});
    const minimum = s.tenant.minimumGraphRequests;
    return {
      minimum,
      requests: healthy.requests,
      ratio: ratioOf(healthy.requests, minimum),
      workerCountAgrees: healthy.workerRequests === healthy.requests ? 1 : 0,
      throttledRunRequests: throttled.requests,
      throttledRunThrottled: throttled.throttled,
      throttledRunBeyondMinimum: throttled.requests - minimum,
      throttledRunWorkerThrottled: throttled.workerThrottled,
    };
  },
  teardown: (s) => stopSyncStack(s),
  rows: (m) => [
    {
      measure: `Graph requests a sync, ${GROUPS} groups, ${fmt.count(USERS)} users, healthy`,
      value: fmt.count(m.requests ?? Number.NaN),
      baseline: `${fmt.count(m.minimum ?? Number.NaN)} (minimum)`,
      ratio: m.ratio ?? null,
      goal: 'exactly the minimum',
      met: m.requests === m.minimum && m.workerCountAgrees === 1,
    },
    {
      measure: `the same, every ${THROTTLE_EVERY}th request throttled`,
      value: `${fmt.count(m.throttledRunRequests ?? Number.NaN)} (${fmt.count(m.throttledRunThrottled ?? Number.NaN)} throttled)`,
      baseline: `${fmt.count(m.minimum ?? Number.NaN)} (minimum)`,
      ratio: null,
      goal: 'beyond the minimum ≤ throttled',
      met:
        (m.throttledRunBeyondMinimum ?? Number.POSITIVE_INFINITY) <=
        (m.throttledRunThrottled ?? -1),
    },
  ],
};
