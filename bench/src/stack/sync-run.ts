import { randomUUID } from 'node:crypto';
import { newQueuedRun, type Run } from '@pinnacle/domain';
import type { TypedQueue } from '@pinnacle/queue-runtime';
import type { Stores } from '@pinnacle/redis-store';
import type { BenchRedis } from './redis.js';
import type { RoleProcess } from './roles.js';
import type { SimulatorProcess } from './simulator.js';
import type { BenchTenant } from './tenants.js';

export interface SyncMeasurement {
  orgId: string;
  run: Run;
  /** Preflight to commit, as the run records it (startedAt to finishedAt). */
  wallMs: number;
  /** Each stage's time, from the worker's `sync succeeded` line. */
  stageMs: { preflight: number; fetch: number; commit: number };
  workerCpuMs: number;
  simulatorCpuMs: number;
  redisCpuMs: number;
  /** The worker's peak RSS during this sync (its peak reset just before). */
  workerPeakRssMb: number;
}

export interface SyncDeps {
  stores: Stores;
  queue: TypedQueue<'sync'>;
  worker: RoleProcess;
  simulator: SimulatorProcess;
  redis: BenchRedis;
}

/**
 * One Sync Now of a fresh org over the tenant, executed by the worker
 * process, measured from outside: the run record, the worker's log line,
 * and the CPU time of the worker, the simulator and Redis while it ran.
 */
export async function measureSync(
  deps: SyncDeps,
  tenant: BenchTenant,
  orgId = `bench-${randomUUID()}`,
): Promise<SyncMeasurement> {
  const { stores, queue, worker, simulator, redis } = deps;
  await stores.integrations.put(orgId, tenant.settings());
  const runId = randomUUID();
  await stores.runs.createIfIdle(
    newQueuedRun({ id: runId, orgId, trigger: 'manual', createdAt: new Date() }),
  );
  const finished = worker.waitForLine(
    (l) => l.runId === runId && (l.msg === 'sync succeeded' || l.msg === 'sync failed'),
  );
  worker.resetPeakRss();
  const cpu = { worker: worker.cpuMs(), simulator: simulator.cpuMs(), redis: await redis.cpuMs() };
  await queue.add({ orgId, runId, trigger: 'manual' });
  const line = await finished;
  const used = {
    worker: worker.cpuMs() - cpu.worker,
    simulator: simulator.cpuMs() - cpu.simulator,
    redis: (await redis.cpuMs()) - cpu.redis,
  };
  const workerPeakRssMb = worker.peakRssMb();
  // The success line is written once the run is saved; a failure's may come just before.
  let run = await stores.runs.get(orgId, runId);
  for (let i = 0; i < 100 && run?.finishedAt == null; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    run = await stores.runs.get(orgId, runId);
  }
  if (run?.status !== 'succeeded') {
    throw new Error(`the bench sync of ${orgId} did not succeed: ${JSON.stringify(run?.failure)}`);
  }
  const stageMs = line.stageMs as SyncMeasurement['stageMs'];
  return {
    orgId,
    run,
    wallMs: Date.parse(run.finishedAt as string) - Date.parse(run.startedAt as string),
    stageMs,
    workerCpuMs: used.worker,
    simulatorCpuMs: used.simulator,
    redisCpuMs: used.redis,
    workerPeakRssMb,
  };
}

/** Drops what a measured sync left in Redis (its org's keys), so runs do not pile up. */
export async function forgetOrg(redis: BenchRedis, orgId: string): Promise<void> {
  await redis.unlinkMatching(`*{o:${orgId}}*`);
}
