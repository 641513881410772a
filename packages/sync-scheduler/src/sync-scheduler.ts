import { syncSchedulerId } from '@pinnacle/queue-contracts';
import type { TypedQueue } from '@pinnacle/queue-runtime';
import { planRepeat } from './repeat-plan.js';

export interface ScheduleState {
  enabled: boolean;
  every: string;
}

/**
 * Keeps each org's BullMQ job scheduler in step with its settings. One
 * scheduler per org (its ID derived from the org), so saving settings
 * creates, changes or removes it and never duplicates it. The scheduled
 * jobs are made by the sync queue's definition, like a Sync Now job: the
 * same payload contract and the same options (SYNC_ATTEMPTS,
 * SYNC_BACKOFF_MS), whichever role upserts the scheduler.
 */
export class SyncScheduler {
  constructor(private readonly syncQueue: TypedQueue<'sync'>) {}

  /**
   * Creates, updates or removes the org's scheduler. Returns the next run,
   * or null. `live` tells whether the org still has its integration: asked
   * after an upsert, and when it says no (the org was offboarded meanwhile)
   * the scheduler is removed again, so it cannot outlive the org whichever
   * of the two writes came last.
   */
  async apply(
    orgId: string,
    schedule: ScheduleState,
    options: { backedOff?: boolean; live?: () => Promise<boolean> } = {},
  ): Promise<Date | null> {
    const plan = planRepeat(orgId, schedule, { backedOff: options.backedOff === true });
    const id = syncSchedulerId(orgId);
    if (!plan) {
      await this.syncQueue.removeScheduler(id);
      return null;
    }
    const repeat =
      plan.kind === 'every'
        ? { every: plan.every, offset: plan.offset }
        : { pattern: plan.pattern, tz: plan.tz };
    await this.syncQueue.upsertScheduler(id, repeat, { orgId, trigger: 'schedule' });
    if (options.live && !(await options.live())) {
      await this.syncQueue.removeScheduler(id);
      return null;
    }
    return this.nextRun(orgId);
  }

  async remove(orgId: string): Promise<void> {
    await this.syncQueue.removeScheduler(syncSchedulerId(orgId));
  }

  /** When the org's next scheduled sync fires, as BullMQ has it; null when none. */
  async nextRun(orgId: string): Promise<Date | null> {
    const scheduler = await this.syncQueue.getScheduler(syncSchedulerId(orgId));
    return scheduler?.next ? new Date(scheduler.next) : null;
  }

  /** The repeat interval in force (ms), or null for cron/none: tells whether the org is backed off. */
  async currentEveryMs(orgId: string): Promise<number | null> {
    const scheduler = await this.syncQueue.getScheduler(syncSchedulerId(orgId));
    return scheduler?.every ?? null;
  }
}
