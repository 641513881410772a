import type { TypedQueue } from '@pinnacle/queue-runtime';
import type { Stores } from '@pinnacle/redis-store';
import type { FigureContext } from '../figure.js';
import type { BareSyncOptions } from '../stack/bare-loop.js';
import type { BenchRedis } from '../stack/redis.js';
import { RoleProcess } from '../stack/roles.js';
import type { SimulatorProcess } from '../stack/simulator.js';
import type { SyncDeps } from '../stack/sync-run.js';
import type { BenchTenant } from '../stack/tenants.js';

/** Groups paged at once: the worker's default SYNC_GROUP_CONCURRENCY, and the bare loop's. */
export const GROUP_CONCURRENCY = 4;

/** A worker process and what a figure needs to drive syncs through it. */
export interface SyncStack extends SyncDeps {
  stores: Stores;
  queue: TypedQueue<'sync'>;
  worker: RoleProcess;
  simulator: SimulatorProcess;
  redis: BenchRedis;
}

export async function startSyncStack(
  ctx: FigureContext,
  options: { workerEnv?: Record<string, string>; nodeArgs?: string[] } = {},
): Promise<SyncStack> {
  const { stack } = ctx;
  const [simulator, redis, stores, queue] = await Promise.all([
    stack.simulator(),
    stack.redis(),
    stack.stores(),
    stack.syncQueue(),
  ]);
  const worker = await RoleProcess.start(
    'worker',
    await stack.roleEnv({
      SYNC_GROUP_CONCURRENCY: String(GROUP_CONCURRENCY),
      ...options.workerEnv,
    }),
    options.nodeArgs,
  );
  return { simulator, redis, stores, queue, worker };
}

export async function stopSyncStack(s: SyncStack): Promise<void> {
  await s.worker.stop();
  await s.queue.close();
}

/** The bare loop's options for the tenant, at the worker's group concurrency. */
export function bareOptions(sim: SimulatorProcess, tenant: BenchTenant): BareSyncOptions {
  return {
    authorityHost: sim.url,
    graphBaseUrl: sim.url,
    tenantId: tenant.tenantId,
    clientId: tenant.clientId,
    clientSecret: tenant.clientSecret,
    groupIds: tenant.groupIds,
    concurrency: GROUP_CONCURRENCY,
  };
}
