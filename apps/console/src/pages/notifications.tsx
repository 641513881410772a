import { type ReactNode, useState } from 'react';
import { unwrap } from '../api/client.js';
import { type ApiFailure, describeFailure } from '../api/errors.js';
import type { Notification, NotificationPage } from '../api/types.js';
import { useSession } from '../auth/session.js';
import { CreateCertificateAction, certificatesPath } from '../components/certificates.js';
import { Page } from '../components/page.js';
import { EmptyView, ErrorView, LoadingView } from '../components/states.js';
import { Alert, Badge, Button, Card, Facts } from '../components/ui.js';
import { useUnread } from '../components/unread.js';
import { dateTime, plural, relativeTime, type Tone } from '../lib/format.js';
import { Link } from '../lib/router.js';
import { orgPath } from '../lib/routes.js';
import { failureFromError } from '../lib/use-action.js';
import { useResource } from '../lib/use-resource.js';

const PAGE_SIZE = 20;

const SEVERITY: Record<Notification['severity'], { label: string; tone: Tone }> = {
  error: { label: 'Error', tone: 'danger' },
  warning: { label: 'Warning', tone: 'warning' },
  info: { label: 'Info', tone: 'info' },
};

const DELIVERY: Record<Notification['delivery']['email'], string> = {
  pending: 'pending',
  delivered: 'delivered',
  failed: 'failed',
  disabled: 'off',
  // The org's email cap: the message says until when.
  suppressed: 'held back (email limit reached)',
};

function NotificationItem({
  orgId,
  notification: n,
  onRead,
}: {
  orgId: string;
  notification: Notification;
  onRead: (read: Notification) => void;
}) {
  const { api } = useSession();
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<ApiFailure | null>(null);
  const now = new Date();
  const unread = n.readAt === null;
  const markRead = async () => {
    setBusy(true);
    setFailure(null);
    try {
      onRead(
        await unwrap(
          api.POST('/api/v1/orgs/{orgId}/notifications/{id}/read', {
            params: { path: { orgId, id: n.id } },
          }),
        ),
      );
    } catch (error) {
      setFailure(failureFromError(error));
    } finally {
      setBusy(false);
    }
  };
  const severity = SEVERITY[n.severity];
  return (
    <li
      className={
        unread ? 'disclosure-list__item disclosure-list__item--unread' : 'disclosure-list__item'
      }
    >
      <details className="disclosure" data-notification-type={n.type}>
        <summary className="disclosure__summary">
          <span className="disclosure__main">
            {unread ? <span className="unread-dot" role="img" aria-label="Unread" /> : null}
            <Badge tone={severity.tone}>{severity.label}</Badge>{' '}
            <span className="disclosure__title">{n.title}</span>
          </span>
          <span className="disclosure__meta">
            <span title={dateTime(n.lastSeenAt)}>{relativeTime(n.lastSeenAt, now)}</span>
            {n.count > 1 ? ` · ${plural(n.count, 'time')}` : ''}
          </span>
        </summary>
        <div className="disclosure__body">
          {/* Paragraphs: a held-back email adds one saying so. */}
          {n.message.split('\n\n').map((paragraph) => (
            <p key={paragraph}>{paragraph}</p>
          ))}
          <Facts
            items={[
              ['First seen', dateTime(n.firstSeenAt)],
              ['Last seen', dateTime(n.lastSeenAt)],
              ...(n.failureCode
                ? [
                    ['Reason code', <code key="code">{n.failureCode}</code>] as [
                      ReactNode,
                      ReactNode,
                    ],
                  ]
                : []),
              ['Email', DELIVERY[n.delivery.email]],
              ['Read', n.readAt ? dateTime(n.readAt) : 'Not yet'],
            ]}
          />
          <div className="button-row">
            {unread ? (
              <Button busy={busy} onClick={() => void markRead()}>
                Mark as read
              </Button>
            ) : null}
            {n.type === 'certificate_rotated' ? (
              <Link to={certificatesPath(orgId)}>See the certificates</Link>
            ) : null}
            {n.runId ? <Link to={orgPath(orgId, 'runs')}>See the run history</Link> : null}
            <Link to={orgPath(orgId)}>Open the sync overview</Link>
          </div>
          {failure ? (
            <Alert tone="danger" live="alert">
              {describeFailure(failure)}
            </Alert>
          ) : null}
          {n.type === 'certificate_expiring' || n.type === 'certificate_expired' ? (
            <CreateCertificateAction orgId={orgId} />
          ) : null}
        </div>
      </details>
    </li>
  );
}

export function NotificationsPage({ orgId }: { orgId: string }) {
  const { api } = useSession();
  const unread = useUnread();
  const [onlyUnread, setOnlyUnread] = useState(false);
  const [older, setOlder] = useState<NotificationPage[]>([]);
  const [overrides, setOverrides] = useState<Record<string, Notification>>({});
  const [loadingMore, setLoadingMore] = useState(false);
  const [markingAll, setMarkingAll] = useState(false);
  const [failure, setFailure] = useState<ApiFailure | null>(null);
  const [announce, setAnnounce] = useState('');

  const query = (cursor?: string) => ({
    limit: PAGE_SIZE,
    ...(onlyUnread ? { unread: 'true' as const } : {}),
    ...(cursor ? { cursor } : {}),
  });
  const { state, reload, refreshing } = useResource(async () => {
    setOlder([]);
    setOverrides({});
    const page = await unwrap(
      api.GET('/api/v1/orgs/{orgId}/notifications', {
        params: { path: { orgId }, query: query() },
      }),
    );
    unread.set(page.unreadCount);
    return page;
  }, [api, orgId, onlyUnread]);

  const pages = state.status === 'ready' ? [state.data, ...older] : [];
  const items = pages.flatMap((p) => p.items).map((n) => overrides[n.id] ?? n);
  const cursor = pages[pages.length - 1]?.nextCursor ?? null;
  const unreadCount = unread.count ?? (state.status === 'ready' ? state.data.unreadCount : 0);

  const more = async () => {
    if (!cursor) return;
    setLoadingMore(true);
    setFailure(null);
    try {
      const next = await unwrap(
        api.GET('/api/v1/orgs/{orgId}/notifications', {
          params: { path: { orgId }, query: query(cursor) },
        }),
      );
      setOlder((o) => [...o, next]);
    } catch (error) {
      setFailure(failureFromError(error));
    } finally {
      setLoadingMore(false);
    }
  };

  const markAll = async () => {
    setMarkingAll(true);
    setFailure(null);
    try {
      const { markedRead } = await unwrap(
        api.POST('/api/v1/orgs/{orgId}/notifications/read-all', { params: { path: { orgId } } }),
      );
      setAnnounce(
        markedRead === 0
          ? 'Nothing was unread.'
          : `${plural(markedRead, 'notification')} marked as read.`,
      );
      await reload();
      await unread.refresh();
    } catch (error) {
      setFailure(failureFromError(error));
    } finally {
      setMarkingAll(false);
    }
  };

  return (
    <Page
      title="Notifications"
      subtitle={
        unreadCount > 0 ? `${plural(unreadCount, 'unread notification')}` : 'Everything is read.'
      }
      actions={
        <div className="button-row">
          <Button busy={refreshing} onClick={() => void reload()}>
            Refresh
          </Button>
          <Button
            variant="primary"
            busy={markingAll}
            disabled={unreadCount === 0}
            onClick={() => void markAll()}
          >
            Mark all as read
          </Button>
        </div>
      }
    >
      <p className="visually-hidden" role="status" aria-live="polite">
        {announce}
      </p>
      <Card>
        <fieldset className="segmented">
          <legend className="visually-hidden">Show</legend>
          <label
            className={onlyUnread ? 'segmented__option' : 'segmented__option segmented__option--on'}
          >
            <input
              type="radio"
              name="filter"
              checked={!onlyUnread}
              onChange={() => setOnlyUnread(false)}
            />{' '}
            All
          </label>
          <label
            className={onlyUnread ? 'segmented__option segmented__option--on' : 'segmented__option'}
          >
            <input
              type="radio"
              name="filter"
              checked={onlyUnread}
              onChange={() => setOnlyUnread(true)}
            />{' '}
            Unread
          </label>
        </fieldset>
        {failure ? (
          <Alert tone="danger" live="alert">
            {describeFailure(failure)}
          </Alert>
        ) : null}
        {state.status === 'loading' ? (
          <LoadingView label="Loading notifications…" lines={4} />
        ) : null}
        {state.status === 'error' ? (
          <ErrorView
            title="The notifications could not be loaded"
            failure={state.failure}
            onRetry={() => void reload()}
          />
        ) : null}
        {state.status === 'ready' && items.length === 0 ? (
          <EmptyView title={onlyUnread ? 'No unread notifications' : 'No notifications yet'}>
            <p>
              Failed syncs, recoveries and client secrets about to expire are reported here (and by
              email, where it is on).
            </p>
          </EmptyView>
        ) : null}
        {items.length > 0 ? (
          <ul className="disclosure-list" aria-label="Notifications">
            {items.map((n) => (
              <NotificationItem
                key={n.id}
                orgId={orgId}
                notification={n}
                onRead={(read) => {
                  setOverrides((o) => ({ ...o, [read.id]: read }));
                  void unread.refresh();
                }}
              />
            ))}
          </ul>
        ) : null}
        {cursor ? (
          <div className="list-footer">
            <Button busy={loadingMore} onClick={() => void more()}>
              Show older notifications
            </Button>
          </div>
        ) : null}
      </Card>
    </Page>
  );
}
