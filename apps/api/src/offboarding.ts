import type { Logger } from '@pinnacle/logging';
import { type OrgJobsRemoval, type QueueHandle, removeJobsOfOrg } from '@pinnacle/queue-runtime';
import type { OrgOffboarding, StoredIntegration } from '@pinnacle/redis-store';
import type { SyncScheduler } from '@pinnacle/sync-scheduler';

/** How long a DELETE waits, by default, for the org's running jobs to stop. */
export const DEFAULT_OFFBOARDING_SETTLE_MS = 10_000;
const POLL_MS = 100;

export interface OffboardingDeps {
  offboarding: OrgOffboarding;
  scheduler: SyncScheduler;
  /** Every queue whose jobs name an org (the queue definitions' `orgOfJob`). */
  queues: readonly QueueHandle[];
  logger: Logger;
  /** How long to wait for the org's running jobs to stop. Default 10 s. */
  settleMs?: number;
}

export interface OffboardingResult {
  /** The integration as it was (null: there was none; the rest is deleted all the same). */
  integration: StoredIntegration | null;
  runs: number;
  keys: number;
  jobs: number;
  /** Jobs of the org still running when the wait ended: they stop at their next write and delete themselves. */
  running: number;
}

/**
 * Offboards an org: everything the service keeps of it is deleted, and work
 * of it in flight cannot write anything back.
 *
 * 1. Fence: one script deletes the integration and every run record, which
 *    every write of in-flight work checks in the same script (WriteFence):
 *    a sync mid-fetch, a commit about to swap, a notifier about to write the
 *    inbox are refused from here on, and stop without a trace.
 * 2. The org's job scheduler (its next job with it), then every job of the
 *    org in the sync, notification and email queues, waiting, delayed,
 *    retrying or finished. Running jobs cannot be removed: they hit the
 *    fence at their next write and delete themselves as they finish.
 * 3. Sweep: every key under the org's hash tag, and its entries in every
 *    global index (`globalKeySpace`).
 * 4. While jobs of the org are running, wait for them (bounded), then remove
 *    them and sweep again, for what they wrote before they hit the fence.
 *
 * Idempotent: offboarding an org with nothing left does nothing.
 */
export async function offboardOrg(
  deps: OffboardingDeps,
  orgId: string,
): Promise<OffboardingResult> {
  const fenced = await deps.offboarding.fence(orgId);
  await deps.scheduler.remove(orgId);
  const first = await removeJobs(deps, orgId);
  let jobs = first.removed;
  let keys = (await deps.offboarding.sweep(orgId)).keys;
  let running = first.running;
  if (running.length > 0) {
    const deadline = Date.now() + (deps.settleMs ?? DEFAULT_OFFBOARDING_SETTLE_MS);
    while (running.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      const again = await removeJobs(deps, orgId);
      jobs += again.removed;
      running = again.running;
    }
    // What the running jobs wrote before they stopped, a schedule put back included.
    await deps.scheduler.remove(orgId);
    keys += (await deps.offboarding.sweep(orgId)).keys;
    if (running.length > 0) {
      deps.logger.warn(
        { orgId, running },
        'jobs of the offboarded org still running; they stop at their next write and delete themselves',
      );
    }
  }
  return {
    integration: fenced.integration,
    runs: fenced.runs,
    keys,
    jobs,
    running: running.length,
  };
}

async function removeJobs(deps: OffboardingDeps, orgId: string): Promise<OrgJobsRemoval> {
  const results = await Promise.all(deps.queues.map((queue) => removeJobsOfOrg(queue, orgId)));
  return {
    removed: results.reduce((n, r) => n + r.removed, 0),
    running: results.flatMap((r) => r.running),
  };
}
