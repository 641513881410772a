import { randomUUID } from 'node:crypto';
import type { Run } from '@pinnacle/domain';
import type { Figure, FigureContext } from '../figure.js';
import { fmt } from '../format.js';
import { intKnob } from '../knobs.js';
import { type ApiProcess, bearerToken, startApi } from '../stack/api.js';
import { benchTenant, FOUR_GROUPS } from '../stack/tenants.js';
import { percentile, ratioOf } from '../stats.js';
import { type SyncStack, startSyncStack, stopSyncStack } from './sync-stack.js';

const ORGS = intKnob('BENCH_SYNC_NOW_ORGS', 50);
const USERS = intKnob('BENCH_SYNC_NOW_USERS', 200);
const LATENCY_MS = intKnob('BENCH_LATENCY_MS', 100);
const JITTER_MS = intKnob('BENCH_JITTER_MS', 20);
const GOAL = 3;
/**
 * Syncs one worker process runs at once here: all of them, so that 50 syncs
 * are in flight together as the figure asks (at the default of 4 they would
 * wait in the queue, and the figure would measure the queue).
 */
const IN_FLIGHT = String(ORGS);

interface State extends SyncStack {
  ctx: FigureContext;
  api: ApiProcess;
  token: string;
  tenant: ReturnType<typeof benchTenant>;
}

/** Sync Now through the API; when its 202 arrived (this process's clock). */
async function syncNow(s: State, orgId: string): Promise<{ runId: string; acceptedAt: number }> {
  const res = await fetch(`${s.api.url}/api/v1/orgs/${orgId}/syncs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
    body: '{}',
  });
  const acceptedAt = Date.now();
  if (res.status !== 202)
    throw new Error(`Sync Now of ${orgId}: ${res.status} ${await res.text()}`);
  const { runId } = (await res.json()) as { runId: string };
  return { runId, acceptedAt };
}

/** Resolves with each run once it has finished (polled in the store). */
async function finished(s: State, runs: { orgId: string; runId: string }[]): Promise<Run[]> {
  const done = new Map<string, Run>();
  const deadline = Date.now() + 10 * 60_000;
  while (done.size < runs.length) {
    if (Date.now() > deadline) throw new Error(`${runs.length - done.size} runs never finished`);
    await Promise.all(
      runs
        .filter((r) => !done.has(r.runId))
        .map(async (r) => {
          const run = await s.stores.runs.get(r.orgId, r.runId);
          if (run?.finishedAt) done.set(r.runId, run);
        }),
    );
    if (done.size < runs.length) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return runs.map((r) => done.get(r.runId) as Run);
}

async function newOrgs(s: State, label: string): Promise<string[]> {
  const orgIds = Array.from(
    { length: ORGS },
    (_, i) => `now-${label}-${i}-${randomUUID().slice(0, 8)}`,
  );
  const settings = s.tenant.settings();
  await Promise.all(orgIds.map((orgId) => s.stores.integrations.put(orgId, settings)));
  return orgIds;
}

function latencies(runs: Run[], accepted: number[]): number[] {
  return runs.map((run, i) => {
    if (run.status !== 'succeeded')
      throw new Error(`run ${run.id} ${run.status}: ${run.failure?.code}`);
    return Date.parse(run.finishedAt as string) - (accepted[i] as number);
  });
}

export const syncNowLatency: Figure<State> = {
  id: '5',
  key: 'sync-now-latency',
  title: 'Sync Now latency',
  about:
    `from the API's 202 to the run's finishedAt, for ${ORGS} orgs of a small tenant (${USERS} users in 4 ` +
    `groups, ${LATENCY_MS} ± ${JITTER_MS} ms a request) pressing Sync Now at once, against the same syncs (fresh orgs) ` +
    'pressed one at a time, each after the previous one finished; the api and one worker process from their ' +
    `builds, the worker running up to ${ORGS} syncs at once (SYNC_CONCURRENCY=${ORGS}: all of them in flight, as ` +
    'the figure asks; at the default of 4 the figure would measure the queue). Where the time went (waiting for ' +
    'the worker, each stage) and the CPU per sync of the worker, the simulator and Redis are in the JSON.',
  async setup(ctx) {
    const tenant = benchTenant('sync-now', USERS, FOUR_GROUPS);
    const s = await startSyncStack(ctx, { workerEnv: { SYNC_CONCURRENCY: IN_FLIGHT } });
    await s.simulator.addTenant(tenant.input);
    await s.simulator.setFaults(tenant.tenantId, {
      latencyMs: LATENCY_MS,
      entraLatencyMs: LATENCY_MS,
      latencyJitterMs: JITTER_MS,
      latencySeed: 5,
    });
    const api = await startApi(ctx.stack);
    return { ...s, ctx, api, tenant, token: await bearerToken(ctx.stack, '*') };
  },
  async run(s) {
    // One at a time.
    const sequential: number[] = [];
    for (const orgId of await newOrgs(s, 'seq')) {
      const { runId, acceptedAt } = await syncNow(s, orgId);
      const [run] = await finished(s, [{ orgId, runId }]);
      sequential.push(...latencies([run as Run], [acceptedAt]));
    }
    // All at once.
    const orgIds = await newOrgs(s, 'all');
    const cpu = {
      worker: s.worker.cpuMs(),
      simulator: s.simulator.cpuMs(),
      redis: await s.redis.cpuMs(),
    };
    const stages: { preflight: number; fetch: number; commit: number }[] = [];
    const stopListening = s.worker.onLine((line) => {
      if (line.msg === 'sync succeeded') stages.push(line.stageMs as (typeof stages)[number]);
    });
    const pressed = await Promise.all(orgIds.map((orgId) => syncNow(s, orgId)));
    const runs = await finished(
      s,
      pressed.map((p, i) => ({ orgId: orgIds[i] as string, runId: p.runId })),
    );
    const concurrent = latencies(
      runs,
      pressed.map((p) => p.acceptedAt),
    );
    const perSync = (ms: number) => Math.round(ms / ORGS);
    const workerCpuMsPerSync = perSync(s.worker.cpuMs() - cpu.worker);
    const simulatorCpuMsPerSync = perSync(s.simulator.cpuMs() - cpu.simulator);
    const redisCpuMsPerSync = perSync((await s.redis.cpuMs()) - cpu.redis);
    stopListening();
    // Where the time of the syncs pressed at once went: waiting for the worker, then each stage.
    const waited = runs.map(
      (run, i) => Date.parse(run.startedAt as string) - (pressed[i]?.acceptedAt ?? 0),
    );
    const oneAtATimeP50 = percentile(sequential, 50);
    const atOnceP99 = percentile(concurrent, 99);
    return {
      atOnceP50Ms: percentile(concurrent, 50),
      atOnceP99Ms: atOnceP99,
      oneAtATimeP50Ms: oneAtATimeP50,
      oneAtATimeP99Ms: percentile(sequential, 99),
      ratio: ratioOf(atOnceP99, oneAtATimeP50),
      workerCpuMsPerSync,
      simulatorCpuMsPerSync,
      redisCpuMsPerSync,
      atOnceWaitP50Ms: percentile(waited, 50),
      atOncePreflightP50Ms: percentile(
        stages.map((x) => x.preflight),
        50,
      ),
      atOnceFetchP50Ms: percentile(
        stages.map((x) => x.fetch),
        50,
      ),
      atOnceCommitP50Ms: percentile(
        stages.map((x) => x.commit),
        50,
      ),
    };
  },
  async teardown(s) {
    await s.api.role.stop();
    await stopSyncStack(s);
  },
  rows: (m) => [
    {
      measure: `Sync Now to finished, p99, ${ORGS} at once (p50 ${fmt.ms(m.atOnceP50Ms ?? Number.NaN)})`,
      value: fmt.ms(m.atOnceP99Ms ?? Number.NaN),
      baseline: `${fmt.ms(m.oneAtATimeP50Ms ?? Number.NaN)} (p50, one at a time)`,
      ratio: m.ratio ?? null,
      goal: `p99 ≤ ${GOAL}x`,
      met: (m.ratio ?? Number.POSITIVE_INFINITY) <= GOAL,
    },
  ],
};
