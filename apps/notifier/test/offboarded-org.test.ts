import { randomUUID } from 'node:crypto';
import { buildFailure } from '@pinnacle/domain';
import {
  type EmailJob,
  emailJobId,
  type NotificationJob,
  notificationJobId,
} from '@pinnacle/queue-contracts';
import { waitFor } from '@pinnacle/testing';
import { describe, expect, it } from 'vitest';
import { test } from './support/fixtures.js';
import { type NotifierHarness, newOrgId } from './support/harness.js';

/*
 * Alerts and emails of an org offboarded while they were queued: nothing is
 * written back (inbox, episode, reminder index), no email leaves, and the
 * jobs themselves are gone once they finish.
 */

let h: NotifierHarness;

test.beforeAll(async ({ harness }) => {
  h = harness;
  await h.start();
});

const failure = buildFailure('groups_not_configured', {});

const failed = (orgId: string, runId = randomUUID()): NotificationJob => ({
  type: 'sync_failed',
  orgId,
  runId,
  occurredAt: new Date().toISOString(),
  failure,
});

/** Keys of the whole test prefix (data and queues) whose name carries the org ID. */
const keysNaming = async (orgId: string) =>
  (await h.redis.keys()).filter((key) => key.includes(orgId));

async function offboard(orgId: string) {
  await h.stores.offboarding.fence(orgId);
  await h.stores.offboarding.sweep(orgId);
}

/** Waits until the job is gone from its queue (discarded as it finished). */
async function gone(queue: 'notifications' | 'email', jobId: string) {
  await waitFor(async () => (await h.raw[queue].getJob(jobId)) === undefined, {
    timeoutMs: 15_000,
    description: `${queue} job ${jobId} to be discarded`,
  });
}

describe('an org offboarded with alerts on their way', () => {
  it('drops an alert of a deleted run: no inbox entry, episode, reminder or email, no job', async () => {
    const orgId = newOrgId();
    await h.configure(orgId);
    // The org's first failure alerts as usual.
    const first = failed(orgId);
    await h.handOff(first);
    expect(await h.finished(h.raw.notifications, notificationJobId(first))).toBe('completed');
    await h.drained(h.raw.email);
    expect(h.mailsFor(orgId)).toHaveLength(1);

    // The org is offboarded while a later run's hand-off waits in the queue.
    await h.role?.notificationWorker.pause();
    const later = failed(orgId);
    await h.handOff(later);
    await offboard(orgId);
    h.role?.notificationWorker.resume();
    await gone('notifications', notificationJobId(later));

    expect(await h.inbox(orgId)).toEqual([]);
    expect(h.mailsFor(orgId)).toHaveLength(1);
    await h.drained(h.raw.email);
    // Nothing names the org any more (its first alert's finished jobs are
    // named by their run, and are the API's offboarding to remove).
    expect(await keysNaming(orgId)).toEqual([]);
    expect(
      h.logLines.some((l) => l.includes('org offboarded; alert dropped, nothing written')),
    ).toBe(true);
  });

  it('drops an expiry warning of an org without its integration', async () => {
    const orgId = newOrgId();
    await h.configure(orgId);
    await offboard(orgId);
    const warning: NotificationJob = {
      type: 'client_secret_expiring',
      orgId,
      occurredAt: new Date().toISOString(),
      expiresAt: new Date(Date.now() + 7 * 86_400_000).toISOString(),
      thresholdDays: 7,
      daysLeft: 7,
    };
    await h.handOff(warning);
    await gone('notifications', notificationJobId(warning));
    expect(await keysNaming(orgId)).toEqual([]);
    expect(h.mailsFor(orgId)).toEqual([]);
  });

  it('sends no queued email once the org is offboarded, and discards the job', async () => {
    const orgId = newOrgId();
    await h.configure(orgId);
    await offboard(orgId);
    const alertId = `expired-${orgId}-2026-01-01`;
    const email: EmailJob = {
      alertId,
      orgId,
      notificationId: alertId,
      to: ['admin@acme.test'],
      occurredAt: new Date().toISOString(),
      content: { type: 'client_secret_expired', expiresAt: '2026-01-01T00:00:00.000Z' },
    };
    await h.raw.email.add(`email client_secret_expired ${orgId}`, email, {
      jobId: emailJobId(alertId),
    });
    await gone('email', emailJobId(alertId));
    expect(h.mailsFor(orgId)).toEqual([]);
    expect(await keysNaming(orgId)).toEqual([]);
  });
});
