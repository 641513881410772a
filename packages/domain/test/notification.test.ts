import { describe, expect, it } from 'vitest';
import {
  deliveryStateSchema,
  isEmailCapped,
  NOTIFICATION_EMAIL_CAP,
  NOTIFICATION_SEVERITY,
  type Notification,
  notificationSchema,
  notificationTypeSchema,
} from '../src/index.js';

const notification: Notification = {
  id: 'b7e0c5f2-1d1a-4c7e-9d55-2f0b1a3c4d5e',
  type: 'sync_failed',
  severity: 'error',
  title: 'Entra ID sync failed: client secret expired',
  message: 'Authentication with Microsoft Entra ID could not be completed.',
  failureCode: 'client_secret_expired',
  runId: '6f1c1f8e-8d3a-4c55-9a62-0d6c3f4b5a21',
  count: 3,
  firstSeenAt: '2026-05-08T10:00:00.000Z',
  lastSeenAt: '2026-05-10T10:00:00.000Z',
  createdAt: '2026-05-08T10:00:01.000Z',
  readAt: null,
  delivery: { inApp: 'delivered', email: 'pending' },
};

describe('notificationSchema', () => {
  it('accepts a notification of DESIGN.md shape', () => {
    expect(notificationSchema.parse(notification)).toEqual(notification);
  });

  it('accepts a secret-expiry notification with no run or failure code', () => {
    const expiring = {
      ...notification,
      type: 'client_secret_expiring',
      severity: 'warning',
      failureCode: null,
      runId: null,
      count: 1,
      readAt: '2026-05-10T11:00:00.000Z',
      delivery: { inApp: 'delivered', email: 'disabled' },
    };
    expect(notificationSchema.parse(expiring)).toEqual(expiring);
  });

  it.each([
    ['type', { type: 'sync_warning' }],
    ['severity', { severity: 'critical' }],
    ['count', { count: 0 }],
    ['delivery', { delivery: { inApp: 'sent', email: 'pending' } }],
    ['readAt', { readAt: 'now' }],
  ])('rejects a bad %s', (_field, patch) => {
    expect(notificationSchema.safeParse({ ...notification, ...patch }).success).toBe(false);
  });

  it('lists the types of DESIGN.md, their severities and delivery states', () => {
    expect(notificationTypeSchema.options).toEqual([
      'sync_failed',
      'sync_recovered',
      'client_secret_expiring',
      'client_secret_expired',
      'certificate_expiring',
      'certificate_expired',
      'certificate_rotated',
    ]);
    expect(NOTIFICATION_SEVERITY).toEqual({
      sync_failed: 'error',
      sync_recovered: 'info',
      client_secret_expiring: 'warning',
      client_secret_expired: 'error',
      certificate_expiring: 'warning',
      certificate_expired: 'error',
      certificate_rotated: 'info',
    });
    expect(deliveryStateSchema.options).toEqual([
      'pending',
      'delivered',
      'failed',
      'disabled',
      'suppressed',
    ]);
  });

  it('caps failure emails (reminders are sync_failed too); recoveries and expiry warnings are exempt', () => {
    expect(NOTIFICATION_EMAIL_CAP).toEqual({
      sync_failed: 'capped',
      sync_recovered: 'exempt',
      client_secret_expiring: 'exempt',
      client_secret_expired: 'exempt',
      certificate_expiring: 'exempt',
      certificate_expired: 'exempt',
      certificate_rotated: 'exempt',
    });
    expect(notificationTypeSchema.options.filter(isEmailCapped)).toEqual(['sync_failed']);
  });

  it('accepts an email held back by the cap', () => {
    const held = { ...notification, delivery: { inApp: 'delivered', email: 'suppressed' } };
    expect(notificationSchema.parse(held)).toEqual(held);
  });
});
