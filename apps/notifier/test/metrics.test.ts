import { randomUUID } from 'node:crypto';
import { buildFailure } from '@pinnacle/domain';
import { metricDefinitions, readRecordedMetrics } from '@pinnacle/metrics';
import { emailJobId, type NotificationJob, notificationJobId } from '@pinnacle/queue-contracts';
import { waitFor } from '@pinnacle/testing';
import { describe, expect, it } from 'vitest';
import { test } from './support/fixtures.js';
import { type NotifierHarness, newOrgId } from './support/harness.js';

let h: NotifierHarness;

test.beforeAll(async ({ harness }) => {
  h = harness;
  await h.start();
});

const failed = (orgId: string): NotificationJob => ({
  type: 'sync_failed',
  orgId,
  runId: randomUUID(),
  occurredAt: new Date().toISOString(),
  failure: buildFailure('groups_not_configured', {}),
});

/** Hands an alert off and waits until its email job (if any) has finished. */
async function deliver(message: NotificationJob) {
  await h.handOff(message);
  expect(await h.finished(h.raw.notifications, notificationJobId(message))).toBe('completed');
  const emailId = emailJobId(notificationJobId(message));
  if (await h.raw.email.getJob(emailId)) await h.finished(h.raw.email, emailId);
}

async function deliveries(): Promise<Record<string, number>> {
  const recorded = await readRecordedMetrics(h.redis.redis, h.env.QUEUE_PREFIX);
  const counter = recorded.counters.find(
    (c) => c.definition.name === metricDefinitions.notifications.name,
  );
  return Object.fromEntries(
    (counter?.series ?? []).map((s) => [`${s.labels.channel}:${s.labels.outcome}`, s.value]),
  );
}

describe('delivery metrics recorded by the notifier', () => {
  it("counts each channel's outcome: in-app stored, email delivered, retried, failed for good", async () => {
    const ok = newOrgId();
    await h.configure(ok);
    await deliver(failed(ok));

    const quiet = newOrgId();
    await h.configure(quiet, { email: false });
    await deliver(failed(quiet));

    // One refusal the server means to lift (451), then accepted.
    const flaky = newOrgId();
    await h.configure(flaky);
    h.smtp.failNext(1, 451);
    await deliver(failed(flaky));

    // Refused for good (550).
    const refused = newOrgId();
    await h.configure(refused);
    h.smtp.failNext(1, 550);
    await deliver(failed(refused));

    const expected = {
      'inApp:delivered': 4,
      'email:delivered': 2,
      'email:retrying': 1,
      'email:failed': 1,
    };
    const counts = await waitFor(
      async () => {
        const read = await deliveries();
        return Object.entries(expected).every(([key, value]) => read[key] === value) ? read : null;
      },
      { timeoutMs: 10_000, description: 'the delivery counters' },
    );
    expect(counts).toEqual(expected);
  });
});
