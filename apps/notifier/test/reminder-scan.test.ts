import { randomUUID } from 'node:crypto';
import { buildFailure, newQueuedRun } from '@pinnacle/domain';
import {
  maintenanceSchedules,
  type NotificationJob,
  notificationJobId,
} from '@pinnacle/queue-contracts';
import { dataPrefix, globalKeys } from '@pinnacle/redis-store';
import { describe, expect, it } from 'vitest';
import { test } from './support/fixtures.js';
import { type NotifierHarness, newOrgId } from './support/harness.js';

let h: NotifierHarness;

test.beforeAll(async ({ harness }) => {
  h = harness;
  await h.start();
});

const T0 = Date.UTC(2026, 3, 6, 9, 0, 0);
const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;
const at = (ms: number) => new Date(T0 + ms);

const expired = buildFailure(
  'client_secret_expired',
  { expiresAt: '2026-04-05T00:00:00.000Z', source: 'recorded_expiry' },
  { clientId: '11111111-2222-3333-4444-555555555555' },
);

/** A failed run as the worker records it, and its hand-off, delivered. */
async function failedRun(orgId: string, occurredAt: Date) {
  const run = newQueuedRun({ id: randomUUID(), orgId, trigger: 'manual', createdAt: occurredAt });
  await h.stores.runs.createIfIdle(run);
  await h.stores.runs.save({
    ...run,
    status: 'failed',
    stage: 'preflight',
    finishedAt: occurredAt.toISOString(),
    failure: expired,
  });
  await deliver({
    type: 'sync_failed',
    orgId,
    runId: run.id,
    occurredAt: occurredAt.toISOString(),
    failure: expired,
  });
  return run;
}

async function deliver(message: NotificationJob) {
  await h.handOff(message);
  expect(await h.finished(h.raw.notifications, notificationJobId(message))).toBe('completed');
  await h.drained(h.raw.email);
}

/** Runs the scan at `now`, as its job scheduler would, and waits for what it queued. */
const scanAt = (now: Date) => h.runMaintenanceAt('scan_failure_reminders', now);

const subjects = (orgId: string) => h.mailsFor(orgId).map((m) => m.parsed.subject);
const dueIndex = (orgId: string) =>
  h.redis.redis.zscore(globalKeys(dataPrefix(h.env.QUEUE_PREFIX)).remindersDue, orgId);

describe('failure reminder scan', () => {
  it('registers the hourly job scheduler at start: at :17', async () => {
    const { schedulerId } = maintenanceSchedules.scan_failure_reminders;
    expect(await h.raw.maintenance.getJobScheduler(schedulerId)).toMatchObject({
      key: schedulerId,
      name: 'scan_failure_reminders',
      pattern: '17 * * * *',
      tz: 'UTC',
      template: { data: { task: 'scan_failure_reminders' } },
    });
  });

  it('reminds an episode no run brings up, on the cadence, once per slot, until it recovers', async () => {
    const orgId = newOrgId();
    const bystander = newOrgId();
    await h.configure(orgId);
    await h.configure(bystander);
    const run = await failedRun(orgId, at(0));
    expect(Number(await dueIndex(orgId))).toBe(T0 + DAY);

    // Hourly scans through the first day: nothing due yet.
    for (let hour = 1; hour < 24; hour += 6) await scanAt(at(hour * HOUR));
    expect(subjects(orgId)).toHaveLength(1);

    // A day later: one reminder, in the episode's thread; scanning again changes nothing.
    await scanAt(at(DAY + 17 * 60_000));
    await scanAt(at(DAY + HOUR));
    await scanAt(at(DAY + 2 * HOUR));
    const reminder = `[${orgId}] Reminder: Microsoft Entra ID sync still failing: client secret expired`;
    expect(subjects(orgId)).toEqual([
      `[${orgId}] Microsoft Entra ID sync failed: client secret expired`,
      reminder,
    ]);
    const [first, second] = h.mailsFor(orgId);
    expect(second?.parsed.headers['in-reply-to']).toBe(first?.parsed.messageId);
    expect(second?.parsed.text).toContain(expired.remediation[0] as string);
    expect(Number(await dueIndex(orgId))).toBe(T0 + 3 * DAY);

    // The inbox keeps its one entry for the episode: same count, the reminder's email delivered.
    const inbox = await h.inbox(orgId);
    expect(inbox).toHaveLength(1);
    expect(inbox[0]).toMatchObject({
      type: 'sync_failed',
      failureCode: 'client_secret_expired',
      runId: run.id,
      count: 1,
      delivery: { inApp: 'delivered', email: 'delivered' },
    });

    // Days 3 and 7: the next two slots.
    await scanAt(at(3 * DAY + HOUR));
    await scanAt(at(7 * DAY + HOUR));
    expect(subjects(orgId)).toEqual([subjects(orgId)[0], reminder, reminder, reminder]);

    // Fixed: the recovery closes the episode and empties its slot in the index.
    await deliver({
      type: 'sync_recovered',
      orgId,
      runId: randomUUID(),
      occurredAt: at(8 * DAY).toISOString(),
      previousFailureCode: 'client_secret_expired',
    });
    expect(await dueIndex(orgId)).toBeNull();
    await scanAt(at(14 * DAY + HOUR));
    expect(subjects(orgId)).toHaveLength(5);
    expect(subjects(orgId)[4]).toBe(`[${orgId}] Microsoft Entra ID sync recovered`);
    expect(h.mailsFor(bystander)).toEqual([]);
  });

  it('a run that already sent the reminder wins: the scan finds it not due', async () => {
    const orgId = newOrgId();
    await h.configure(orgId);
    await failedRun(orgId, at(0));
    // The index still says day 1, but a failed run on day 1 sent that reminder first.
    const index = globalKeys(dataPrefix(h.env.QUEUE_PREFIX)).remindersDue;
    await failedRun(orgId, at(DAY + HOUR));
    expect(subjects(orgId)).toHaveLength(2);
    await h.redis.redis.zadd(index, T0 + DAY, orgId);
    await scanAt(at(DAY + 2 * HOUR));
    expect(subjects(orgId)).toHaveLength(2);
    // The scan put the index back in line with the episode.
    expect(Number(await dueIndex(orgId))).toBe(T0 + 3 * DAY);
  });
});
