import { randomUUID } from 'node:crypto';
import { newQueuedRun, type Run } from '@pinnacle/domain';
import type { SyncJob } from '@pinnacle/queue-contracts';

/** What a Sync Now writes to: the run records and the sync queue's producer. */
export interface SyncRequestTarget {
  runs: { createIfIdle(run: Run): Promise<{ created: boolean; run: Run }> };
  /** The sync queue's typed producer (`TypedQueue<'sync'>`): job ID and retries from its definition. */
  syncQueue: { add(job: SyncJob): Promise<unknown> };
}

export interface SyncRequestOptions {
  allowMassRemoval?: boolean;
  /** Default now. */
  now?: Date;
}

export interface RequestedSync {
  runId: string;
  /** False when a run of the org was already queued or running: the request joined it. */
  created: boolean;
}

/**
 * Sync Now for tests that run a worker without the API, making the two
 * writes the API's `requestSync` makes, in its order: the manual run is
 * recorded (claiming the org's single run slot; a request while a run is
 * active joins it), then its job is added through the sync queue's
 * definition, keyed by the run. The API's own concerns (the org's budget,
 * healing a lost run) are its tests' business. Tests with an API in front
 * use its route instead.
 */
export async function requestSync(
  target: SyncRequestTarget,
  orgId: string,
  options: SyncRequestOptions = {},
): Promise<RequestedSync> {
  const now = options.now ?? new Date();
  const { created, run } = await target.runs.createIfIdle(
    newQueuedRun({
      id: randomUUID(),
      orgId,
      trigger: 'manual',
      createdAt: now,
      allowMassRemoval: options.allowMassRemoval,
    }),
  );
  if (!created) return { runId: run.id, created: false };
  await target.syncQueue.add({
    orgId,
    runId: run.id,
    trigger: 'manual',
    ...(options.allowMassRemoval !== undefined
      ? { allowMassRemoval: options.allowMassRemoval }
      : {}),
    requestedAt: now.toISOString(),
  });
  return { runId: run.id, created: true };
}
