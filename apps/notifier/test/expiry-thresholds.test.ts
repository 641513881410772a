import { describe, expect, it } from 'vitest';
import { expiryWarningAt, planExpiryNotification } from '../src/expiry/expiry-thresholds.js';

const DAY = 24 * 3600 * 1000;
const expiresAt = new Date(Date.UTC(2026, 5, 30, 0, 0, 0));
const daysBefore = (d: number) => new Date(expiresAt.getTime() - d * DAY);

describe('expiryWarningAt', () => {
  it.each([
    [45, null],
    [30.5, null],
    [30, { kind: 'expiring', label: '30d', thresholdDays: 30, daysLeft: 30 }],
    [29.5, { kind: 'expiring', label: '30d', thresholdDays: 30, daysLeft: 29 }],
    [15, { kind: 'expiring', label: '30d', thresholdDays: 30, daysLeft: 15 }],
    [14, { kind: 'expiring', label: '14d', thresholdDays: 14, daysLeft: 14 }],
    [8, { kind: 'expiring', label: '14d', thresholdDays: 14, daysLeft: 8 }],
    [6.9, { kind: 'expiring', label: '7d', thresholdDays: 7, daysLeft: 6 }],
    [1, { kind: 'expiring', label: '1d', thresholdDays: 1, daysLeft: 1 }],
    [0.25, { kind: 'expiring', label: '1d', thresholdDays: 1, daysLeft: 0 }],
    [0, { kind: 'expired', label: 'expired' }],
    [-3, { kind: 'expired', label: 'expired' }],
  ])('%s days before expiry: %o', (days, expected) => {
    expect(expiryWarningAt(expiresAt, daysBefore(days))).toEqual(expected);
  });
});

describe('planExpiryNotification', () => {
  it('sends each threshold once over a daily scan, then expired on the day', () => {
    const sent = new Set<string>();
    const jobs = [];
    for (let d = 40; d >= -5; d--) {
      const plan = planExpiryNotification({ orgId: 'org-1', expiresAt, now: daysBefore(d), sent });
      if (plan) {
        sent.add(plan.label);
        jobs.push(plan.job);
      }
    }
    expect(jobs).toEqual([
      {
        type: 'client_secret_expiring',
        orgId: 'org-1',
        expiresAt: expiresAt.toISOString(),
        occurredAt: daysBefore(30).toISOString(),
        thresholdDays: 30,
        daysLeft: 30,
      },
      expect.objectContaining({ thresholdDays: 14, daysLeft: 14 }),
      expect.objectContaining({ thresholdDays: 7, daysLeft: 7 }),
      expect.objectContaining({ thresholdDays: 1, daysLeft: 1 }),
      {
        type: 'client_secret_expired',
        orgId: 'org-1',
        expiresAt: expiresAt.toISOString(),
        occurredAt: expiresAt.toISOString(),
      },
    ]);
  });

  it('skips thresholds the scan missed instead of sending them late', () => {
    const sent = new Set<string>();
    const plan = planExpiryNotification({ orgId: 'o', expiresAt, now: daysBefore(5), sent });
    expect(plan?.label).toBe('7d');
    sent.add('7d');
    expect(planExpiryNotification({ orgId: 'o', expiresAt, now: daysBefore(4), sent })).toBeNull();
  });

  it('starts over for a new expiry (nothing sent for it yet)', () => {
    const rotated = new Date(expiresAt.getTime() + 365 * DAY);
    const plan = planExpiryNotification({
      orgId: 'o',
      expiresAt: rotated,
      now: new Date(rotated.getTime() - 20 * DAY),
      sent: new Set(),
    });
    expect(plan?.label).toBe('30d');
  });
});
