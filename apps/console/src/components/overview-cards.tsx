import type { OverviewGroup, Run, SyncOverview } from '../api/types.js';
import {
  dateOnly,
  dateTime,
  duration,
  plural,
  relativeTime,
  secretExpiryText,
  secretExpiryTone,
} from '../lib/format.js';
import { Link } from '../lib/router.js';
import { orgPath } from '../lib/routes.js';
import { RunCounts, RunStatusBadge } from './run.js';
import { EmptyView } from './states.js';
import { Alert, Badge, Card, Facts } from './ui.js';

// The parts of the Sync Overview page.

export interface OverviewData {
  overview: SyncOverview;
  /** The run that carries the open failure's title, message and remediation. */
  failingRun: Run | null;
}

export function Health({ overview, failingRun }: OverviewData) {
  const now = new Date();
  if (overview.status === 'failing' && overview.openFailure) {
    const f = overview.openFailure;
    return (
      <Alert
        tone="danger"
        title={
          <>
            Failing since {dateTime(f.since)}{' '}
            <span className="alert__aside">({relativeTime(f.since, now)})</span>
          </>
        }
      >
        <p>
          {failingRun?.failure?.title ?? f.code}
          {f.count > 1
            ? ` — ${plural(f.count, 'failed run')} in a row, the last ${relativeTime(f.lastSeenAt, now)}.`
            : '.'}
        </p>
      </Alert>
    );
  }
  if (overview.status === 'healthy') {
    return (
      <Alert tone="success" title="Healthy">
        <p>
          {overview.lastSuccessAt
            ? `Last successful sync ${relativeTime(overview.lastSuccessAt, now)} (${dateTime(overview.lastSuccessAt)}).`
            : 'The last sync succeeded.'}
        </p>
      </Alert>
    );
  }
  return (
    <Alert tone="info" title="Never synced">
      <p>No sync has finished yet. Press Sync now to run the first one.</p>
    </Alert>
  );
}

/** Where the fix for a failure is made in the console, when it is made here. */
export function FixAction({ orgId, code }: { orgId: string; code: string }) {
  if (code === 'certificate_not_registered' || code === 'certificate_expired') {
    return (
      <p>
        <Link className="button button--primary" to={`${orgPath(orgId, 'settings')}#certificates`}>
          Manage certificates
        </Link>
      </p>
    );
  }
  if (code === 'client_secret_expired' || code === 'client_secret_invalid') {
    return (
      <p>
        <Link className="button button--primary" to={`${orgPath(orgId, 'settings')}#rotate-secret`}>
          Rotate the client secret
        </Link>
      </p>
    );
  }
  if (
    [
      'settings_incomplete',
      'settings_invalid',
      'tenant_not_found',
      'app_not_found',
      'groups_not_configured',
      'group_not_found',
    ].includes(code)
  ) {
    return (
      <p>
        <Link className="button button--primary" to={orgPath(orgId, 'settings')}>
          Open the settings
        </Link>
      </p>
    );
  }
  return null;
}

export function RunCard({ title, run, empty }: { title: string; run: Run | null; empty: string }) {
  const now = new Date();
  return (
    <Card title={title} headingLevel={3}>
      {run ? (
        <>
          <p className="run-line">
            <RunStatusBadge run={run} />{' '}
            {run.finishedAt ? (
              <span title={dateTime(run.finishedAt)}>{relativeTime(run.finishedAt, now)}</span>
            ) : null}
          </p>
          <p className="muted run-meta">
            {run.trigger === 'manual' ? 'Sync now' : 'Scheduled'}
            {duration(run.startedAt, run.finishedAt)
              ? ` · took ${duration(run.startedAt, run.finishedAt)}`
              : ''}
          </p>
          <RunCounts run={run} />
        </>
      ) : (
        <p className="muted">{empty}</p>
      )}
    </Card>
  );
}

export function GroupsCard({ orgId, groups }: { orgId: string; groups: OverviewGroup[] }) {
  return (
    <Card title="Selected groups" headingLevel={3}>
      {groups.length === 0 ? (
        <EmptyView
          title="No groups selected"
          action={<Link to={orgPath(orgId, 'settings')}>Choose groups in Settings</Link>}
        >
          <p>A sync reads the members of the groups you select.</p>
        </EmptyView>
      ) : (
        <ul className="group-list">
          {groups.map((g) => (
            <li key={g.id}>
              {g.displayName ? (
                <>
                  <span className="group-list__name">{g.displayName}</span>{' '}
                  <code className="group-list__id">{g.id}</code>
                </>
              ) : (
                <code>{g.id}</code>
              )}
              {g.missing ? (
                <span className="group-list__missing">
                  <Badge tone="danger">Missing in Entra ID</Badge>
                  {g.lastSeenAt ? (
                    <span className="muted">
                      {' '}
                      last seen {relativeTime(g.lastSeenAt, new Date())}
                    </span>
                  ) : null}
                </span>
              ) : null}
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

export function SecretCard({ orgId, overview }: { orgId: string; overview: SyncOverview }) {
  const secret = overview.clientSecret;
  const tone = secretExpiryTone(secret.daysLeft, secret.expired);
  return (
    <Card title="Client secret" headingLevel={3}>
      {secret.configured ? (
        <>
          <p>
            <Badge tone={tone}>
              {secretExpiryText(secret.daysLeft, secret.expired, secret.expiresAt)}
            </Badge>
          </p>
          <Facts
            items={[
              ['Expires', secret.expiresAt ? dateOnly(secret.expiresAt) : 'Not recorded'],
              ['Ends in', secret.hint ? <code key="hint">…{secret.hint}</code> : '—'],
            ]}
          />
        </>
      ) : (
        <p className="muted">No client secret is stored.</p>
      )}
      <p>
        <Link to={`${orgPath(orgId, 'settings')}#rotate-secret`}>Rotate the secret</Link>
      </p>
    </Card>
  );
}

export function ScheduleCard({ overview }: { overview: SyncOverview }) {
  const now = new Date();
  const schedule = overview.schedule;
  return (
    <Card title="Next scheduled run" headingLevel={3}>
      {schedule?.enabled && overview.nextScheduledRunAt ? (
        <>
          <p className="big">{relativeTime(overview.nextScheduledRunAt, now)}</p>
          <Facts
            items={[
              ['At', dateTime(overview.nextScheduledRunAt)],
              ['Every', <code key="every">{schedule.every}</code>],
            ]}
          />
        </>
      ) : (
        <p className="muted">
          Scheduled syncs are off. Syncs run only when someone presses Sync now.
        </p>
      )}
    </Card>
  );
}
