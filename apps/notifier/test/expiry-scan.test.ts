import { maintenanceSchedules, queues } from '@pinnacle/queue-contracts';
import { describe, expect, it } from 'vitest';
import { test } from './support/fixtures.js';
import { type NotifierHarness, newOrgId } from './support/harness.js';

let h: NotifierHarness;

test.beforeAll(async ({ harness }) => {
  h = harness;
  await h.start();
});

const DAY = 24 * 3600 * 1000;
/** Runs the scan at `now`, as its job scheduler would, and waits for what it queued. */
const scanAt = (now: Date) => h.runMaintenanceAt('scan_secret_expiry', now);

describe('secret expiry scan', () => {
  it('registers the daily job scheduler at start: 05:00 UTC', async () => {
    const { schedulerId } = maintenanceSchedules.scan_secret_expiry;
    const scheduler = await h.raw.maintenance.getJobScheduler(schedulerId);
    expect(scheduler).toMatchObject({
      key: schedulerId,
      name: 'scan_secret_expiry',
      pattern: '0 5 * * *',
      tz: 'UTC',
      template: {
        data: { task: 'scan_secret_expiry' },
        opts: queues.maintenance.jobOptions(h.env),
      },
    });
  });

  it('warns once per threshold (30, 14, 7, 1 days), then once on the day it expires; rotating resets', async () => {
    const orgId = newOrgId();
    const quiet = newOrgId();
    const expiresAt = new Date(Date.UTC(2026, 5, 30, 0, 0, 0));
    await h.configure(orgId, { expiresAt });
    await h.configure(quiet, { expiresAt: new Date(expiresAt.getTime() + 90 * DAY) });

    // Daily at 05:00 UTC from 40 days before to 3 days after, and a second run each day.
    for (let d = -40; d <= 3; d++) {
      const at = new Date(expiresAt.getTime() + d * DAY + 5 * 3600 * 1000);
      await scanAt(at);
      await scanAt(new Date(at.getTime() + 3600 * 1000));
    }

    const inbox = await h.inbox(orgId);
    expect(inbox.map((n) => [n.type, n.title])).toEqual([
      ['client_secret_expired', 'Client secret expired'],
      ['client_secret_expiring', 'Client secret expires within a day'],
      ['client_secret_expiring', 'Client secret expires in 6 days'],
      ['client_secret_expiring', 'Client secret expires in 13 days'],
      ['client_secret_expiring', 'Client secret expires in 29 days'],
    ]);
    expect(inbox.every((n) => n.delivery.email === 'delivered')).toBe(true);
    expect(inbox.map((n) => n.createdAt)).toEqual([
      '2026-06-30T05:00:00.000Z',
      '2026-06-29T05:00:00.000Z',
      '2026-06-23T05:00:00.000Z',
      '2026-06-16T05:00:00.000Z',
      '2026-05-31T05:00:00.000Z',
    ]);
    expect(h.mailsFor(orgId).map((m) => m.parsed.subject)).toEqual([
      `[${orgId}] Microsoft Entra ID client secret expires in 29 days`,
      `[${orgId}] Microsoft Entra ID client secret expires in 13 days`,
      `[${orgId}] Microsoft Entra ID client secret expires in 6 days`,
      `[${orgId}] Microsoft Entra ID client secret expires within a day`,
      `[${orgId}] Microsoft Entra ID sync stopped: client secret expired`,
    ]);
    expect(await h.inbox(quiet)).toEqual([]);

    // A new secret (a new expiry) starts the warnings over.
    const now = new Date(expiresAt.getTime() + 4 * DAY);
    await h.stores.integrations.rotateSecret(
      orgId,
      {
        clientSecret: 'Nw9~new-secret-value-0123456789',
        expiresAt: new Date(now.getTime() + 20 * DAY).toISOString(),
      },
      now,
    );
    await scanAt(now);
    await scanAt(new Date(now.getTime() + DAY));
    const after = await h.inbox(orgId);
    expect(after).toHaveLength(6);
    expect(after[0]).toMatchObject({
      type: 'client_secret_expiring',
      title: 'Client secret expires in 20 days',
    });
    expect(h.mailsFor(orgId)).toHaveLength(6);
  });
});
