import { type EpisodeState, emptyEpisodeState } from '@pinnacle/domain';
import { type RedisFixture, test } from '@pinnacle/testing/fixtures';
import { describe, expect, it } from 'vitest';
import {
  AlertRepository,
  finalEmailStateSchema,
  type StoredNotification,
} from '../src/alert-repository.js';
import { orgKeys } from '../src/keys.js';
import { NOTIFICATIONS_PER_ORG, NotificationRepository } from '../src/notification-repository.js';
import { dataPrefix } from '../src/stores.js';

let r: RedisFixture;
let alerts: AlertRepository;
let inbox: NotificationRepository;

test.beforeAll(async ({ redis }) => {
  r = redis;
  alerts = new AlertRepository(r.redis, dataPrefix(r.prefix));
  inbox = new NotificationRepository(r.redis, dataPrefix(r.prefix));
});

const at = (minutes: number) => new Date(Date.UTC(2026, 0, 1) + minutes * 60_000).toISOString();

function notification(id: string, patch: Partial<StoredNotification> = {}): StoredNotification {
  return {
    id,
    type: 'sync_failed',
    severity: 'error',
    title: 'Client secret expired',
    message: 'Authentication with Microsoft Entra ID could not be completed.',
    failureCode: 'client_secret_expired',
    runId: 'run-1',
    count: 1,
    firstSeenAt: at(0),
    lastSeenAt: at(0),
    createdAt: at(0),
    readAt: null,
    delivery: { inApp: 'delivered', email: 'pending' },
    emailAlertId: `alert-${id}`,
    ...patch,
  };
}

function stateWith(count: number): EpisodeState {
  return {
    open: {
      code: 'client_secret_expired',
      firstRunId: 'run-1',
      notificationId: 'ep',
      openedBy: 'alert-1',
      openedAt: at(0),
      firstSeenAt: at(0),
      lastSeenAt: at(count),
      lastRunId: `run-${count}`,
      count,
      emailsSent: 1,
      nextReminderAt: at(24 * 60),
    },
    lastEventAt: at(count),
    recent: [{ alertId: `alert-${count}`, outcome: 'x', notificationId: 'ep', email: null }],
  };
}

describe('AlertRepository.commit', () => {
  it('writes the state and the notification together, only over the state it read', async () => {
    const orgId = 'org-cas';
    const first = await alerts.readState(orgId);
    expect(first).toEqual({ raw: '', state: emptyEpisodeState });
    expect(await alerts.commit(orgId, first.raw, stateWith(1), notification('ep'))).toBe(true);

    const second = await alerts.readState(orgId);
    expect(second.state).toEqual(stateWith(1));
    // A writer still holding the first read loses, and writes nothing at all.
    const lost = await alerts.commit(
      orgId,
      first.raw,
      stateWith(9),
      notification('other', { count: 9 }),
    );
    expect(lost).toBe(false);
    expect((await alerts.readState(orgId)).state).toEqual(stateWith(1));
    expect(await alerts.getNotification(orgId, 'other')).toBeNull();
    expect((await inbox.get(orgId, 'ep'))?.count).toBe(1);
  });

  it('counts every one of many concurrent writers exactly once', async () => {
    const orgId = 'org-concurrent';
    const bump = async () => {
      for (;;) {
        const { raw, state } = await alerts.readState(orgId);
        const count = (state.open?.count ?? 0) + 1;
        const n = notification('ep', { count, emailAlertId: null });
        if (await alerts.commit(orgId, raw, stateWith(count), n)) return;
      }
    };
    await Promise.all(Array.from({ length: 25 }, bump));
    expect((await alerts.readState(orgId)).state.open?.count).toBe(25);
    expect((await inbox.get(orgId, 'ep'))?.count).toBe(25);
  });
});

describe('AlertRepository notification merge', () => {
  it('keeps createdAt, a readAt once set, and the email state of an ongoing email', async () => {
    const orgId = 'org-merge';
    await alerts.upsertNotification(orgId, notification('n1', { emailAlertId: 'a1' }));
    await inbox.markRead(orgId, 'n1', new Date(at(5)));
    await alerts.recordEmail(orgId, 'n1', 'a1', 'delivered');

    // A repeat that starts no email: count moves, the email state stays.
    await alerts.upsertNotification(
      orgId,
      notification('n1', { count: 2, createdAt: at(10), lastSeenAt: at(10), emailAlertId: null }),
    );
    let stored = await alerts.getNotification(orgId, 'n1');
    expect(stored).toMatchObject({
      count: 2,
      createdAt: at(0),
      readAt: at(5),
      lastSeenAt: at(10),
      emailAlertId: 'a1',
      emailsDelivered: 'a1',
      delivery: { inApp: 'delivered', email: 'delivered' },
    });

    // A replay of the same alert (same emailAlertId) cannot turn delivered back to pending.
    await alerts.upsertNotification(orgId, notification('n1', { count: 2, emailAlertId: 'a1' }));
    expect((await alerts.getNotification(orgId, 'n1'))?.delivery.email).toBe('delivered');

    // A reminder (a new email) tracks its own state; the delivered list is kept.
    await alerts.upsertNotification(orgId, notification('n1', { count: 3, emailAlertId: 'a2' }));
    stored = await alerts.getNotification(orgId, 'n1');
    expect(stored).toMatchObject({
      count: 3,
      emailAlertId: 'a2',
      emailsDelivered: 'a1',
      delivery: { email: 'pending' },
    });
  });

  it("keeps an email the cap held back as such through the episode's later writes, with the cap's log", async () => {
    const orgId = 'org-held';
    const first = await alerts.readState(orgId);
    const held = { ...stateWith(1), emailsSentAt: [1, 2, 3] };
    const line = 'Email held back: ...';
    expect(
      await alerts.commit(
        orgId,
        first.raw,
        held,
        notification('h1', {
          emailAlertId: 'a1',
          message: `Failed.\n\n${line}`,
          delivery: { inApp: 'delivered', email: 'suppressed' },
        }),
      ),
    ).toBe(true);
    expect((await alerts.readState(orgId)).state.emailsSentAt).toEqual([1, 2, 3]);
    // A repeat (no email of its own) rewrites the text and keeps the held-back state.
    await alerts.upsertNotification(
      orgId,
      notification('h1', { count: 2, emailAlertId: null, message: `Failed again.\n\n${line}` }),
    );
    expect((await inbox.get(orgId, 'h1'))?.delivery.email).toBe('suppressed');
    // An older email of the notification finishing late leaves it alone.
    await alerts.recordEmail(orgId, 'h1', 'a0', 'delivered');
    expect((await inbox.get(orgId, 'h1'))?.delivery.email).toBe('suppressed');
    expect(finalEmailStateSchema.safeParse('suppressed').success).toBe(false);
  });

  it('serves the API view without the bookkeeping fields', async () => {
    const orgId = 'org-view';
    await alerts.upsertNotification(orgId, notification('v1', { emailAlertId: 'a1' }));
    await alerts.recordEmail(orgId, 'v1', 'a1', 'delivered');
    const [item] = (await inbox.list(orgId, { limit: 10 })).items;
    expect(item?.id).toBe('v1');
    expect(item?.delivery).toEqual({ inApp: 'delivered', email: 'delivered' });
    expect(Object.keys(item ?? {})).not.toContain('emailAlertId');
    expect(Object.keys(item ?? {})).not.toContain('emailsDelivered');
  });

  it(`keeps only the newest ${NOTIFICATIONS_PER_ORG} per org`, async () => {
    const orgId = 'org-trim';
    const total = NOTIFICATIONS_PER_ORG + 3;
    for (let i = 0; i < total; i++) {
      await alerts.upsertNotification(orgId, notification(`t${i}`, { createdAt: at(i) }));
    }
    const k = orgKeys(dataPrefix(r.prefix), orgId);
    expect(await r.redis.zcard(k.notifications)).toBe(NOTIFICATIONS_PER_ORG);
    expect(await alerts.getNotification(orgId, 't0')).toBeNull();
    expect(await alerts.getNotification(orgId, 't3')).not.toBeNull();
  });
});

describe('AlertRepository.recordEmail', () => {
  it('moves only the tracked email, never away from delivered, and remembers deliveries', async () => {
    const orgId = 'org-email';
    await alerts.upsertNotification(orgId, notification('e1', { emailAlertId: 'a2' }));
    expect(await alerts.emailDelivered(orgId, 'e1', 'a2')).toBe(false);

    // An older email of the same notification finishing late does not touch the state...
    const late = await alerts.recordEmail(orgId, 'e1', 'a1', 'delivered');
    expect(late?.delivery.email).toBe('pending');
    // ...but is remembered as delivered.
    expect(await alerts.emailDelivered(orgId, 'e1', 'a1')).toBe(true);

    expect((await alerts.recordEmail(orgId, 'e1', 'a2', 'delivered'))?.delivery.email).toBe(
      'delivered',
    );
    expect((await alerts.recordEmail(orgId, 'e1', 'a2', 'failed'))?.delivery.email).toBe(
      'delivered',
    );
    await alerts.recordEmail(orgId, 'e1', 'a2', 'delivered');
    expect((await alerts.getNotification(orgId, 'e1'))?.emailsDelivered).toBe('a1,a2');
    expect(await alerts.emailDelivered(orgId, 'e1', 'a2')).toBe(true);
    expect(await alerts.emailDelivered(orgId, 'e1', 'a')).toBe(false);
  });

  it('records a failure or a disabled channel', async () => {
    const orgId = 'org-email-failed';
    await alerts.upsertNotification(orgId, notification('f1', { emailAlertId: 'a1' }));
    expect((await alerts.recordEmail(orgId, 'f1', 'a1', 'failed'))?.delivery.email).toBe('failed');
    await alerts.upsertNotification(orgId, notification('d1', { emailAlertId: 'a1' }));
    expect((await alerts.recordEmail(orgId, 'd1', 'a1', 'disabled'))?.delivery.email).toBe(
      'disabled',
    );
    expect(await alerts.emailDelivered(orgId, 'f1', 'a1')).toBe(false);
  });

  it('returns null for a notification that does not exist', async () => {
    expect(await alerts.recordEmail('org-none', 'missing', 'a1', 'delivered')).toBeNull();
    expect(await alerts.emailDelivered('org-none', 'missing', 'a1')).toBe(false);
  });
});
