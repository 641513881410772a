import { type FormEvent, useCallback, useEffect, useMemo, useState } from 'react';
import { unwrap } from '../api/client.js';
import { type ApiFailure, describeFailure } from '../api/errors.js';
import { createOpsClient, type OpsCredentials } from '../api/ops-client.js';
import type { FleetList, FleetOrg, FleetQuery, HealthStatus } from '../api/types.js';
import { controlProps, Field } from '../components/field.js';
import { Page } from '../components/page.js';
import { EmptyView, ErrorView, LoadingView } from '../components/states.js';
import { Alert, Badge, Button, Card } from '../components/ui.js';
import {
  count,
  dateTime,
  relativeTime,
  secretExpiryText,
  secretExpiryTone,
  type Tone,
} from '../lib/format.js';
import { Link } from '../lib/router.js';
import { orgPath } from '../lib/routes.js';
import { failureFromError } from '../lib/use-action.js';

const PAGE_SIZE = 50;

const STATUS: Record<HealthStatus, { label: string; tone: Tone }> = {
  failing: { label: 'Failing', tone: 'danger' },
  healthy: { label: 'Healthy', tone: 'success' },
  unknown: { label: 'Never synced', tone: 'neutral' },
};
const STATUSES: HealthStatus[] = ['failing', 'healthy', 'unknown'];
type FailureCode = NonNullable<FleetQuery['code']>;

function secretText(org: FleetOrg, now: Date): { text: string; tone: Tone } {
  const expired = org.secretExpiresAt !== null && Date.parse(org.secretExpiresAt) <= now.getTime();
  return {
    text: secretExpiryText(org.secretDaysLeft, expired, org.secretExpiresAt, now),
    tone: secretExpiryTone(org.secretDaysLeft, expired),
  };
}

function SignInForm({
  onSignIn,
  refused,
  lastUser,
}: {
  onSignIn: (credentials: OpsCredentials) => void;
  refused: string | null;
  /** The user of a refused try, kept so only the password is typed again. */
  lastUser: string;
}) {
  const [user, setUser] = useState(lastUser);
  const [password, setPassword] = useState('');
  const [missing, setMissing] = useState(false);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (user.trim() === '' || password === '') {
      setMissing(true);
      return;
    }
    onSignIn({ user: user.trim(), password });
  };
  const userErrors = missing && user.trim() === '' ? ['Enter the ops user.'] : undefined;
  const passwordErrors = missing && password === '' ? ['Enter the ops password.'] : undefined;
  return (
    <Card title="Ops credentials">
      <p className="muted">
        The fleet view is for support staff: sign in with the ops user and password (the same as for
        Bull Board and /metrics). They stay in this page's memory only, never stored.
      </p>
      <form onSubmit={submit} noValidate className="form">
        {refused ? (
          <Alert tone="danger" live="alert" title="Not signed in">
            {refused}
          </Alert>
        ) : null}
        <Field id="ops-user" label="Ops user" errors={userErrors}>
          <input
            {...controlProps('ops-user', false, userErrors)}
            className="input"
            autoComplete="username"
            spellCheck={false}
            value={user}
            onChange={(e) => setUser(e.target.value)}
          />
        </Field>
        <Field id="ops-password" label="Ops password" errors={passwordErrors}>
          <input
            {...controlProps('ops-password', false, passwordErrors)}
            className="input"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </Field>
        <div>
          <Button type="submit" variant="primary">
            Show the fleet
          </Button>
        </div>
      </form>
    </Card>
  );
}

function refusalText(failure: ApiFailure): string {
  if (failure.kind === 'unauthorized') return 'The ops user or password was not accepted.';
  return describeFailure(failure);
}

/**
 * `/console/fleet`: every org's sync status for support staff, from
 * `GET /ops/orgs` with the ops credentials (HTTP Basic from the browser; no
 * bearer token, no cookie): counts by failure code, stale orgs flagged, and
 * filters by status and code, a page at a time.
 */
export function FleetPage() {
  const [credentials, setCredentials] = useState<OpsCredentials | null>(null);
  const [refused, setRefused] = useState<string | null>(null);
  const [lastUser, setLastUser] = useState('');
  const [status, setStatus] = useState<HealthStatus | ''>('');
  const [code, setCode] = useState<FailureCode | ''>('');
  const [pages, setPages] = useState<FleetList[]>([]);
  const [failure, setFailure] = useState<ApiFailure | null>(null);
  const [loading, setLoading] = useState(false);
  const client = useMemo(
    () => (credentials ? createOpsClient(window.location.origin, credentials) : null),
    [credentials],
  );

  const load = useCallback(
    async (cursor: string | null) => {
      if (!client) return;
      setLoading(true);
      setFailure(null);
      try {
        const query: FleetQuery = {
          limit: PAGE_SIZE,
          ...(status ? { status } : {}),
          ...(code ? { code } : {}),
          ...(cursor ? { cursor } : {}),
        };
        const page = await unwrap(client.GET('/ops/orgs', { params: { query } }));
        setPages((old) => (cursor ? [...old, page] : [page]));
      } catch (error) {
        const f: ApiFailure = failureFromError(error);
        if (f.kind === 'unauthorized') {
          setCredentials(null);
          setPages([]);
          setRefused(refusalText(f));
        } else setFailure(f);
      } finally {
        setLoading(false);
      }
    },
    [client, status, code],
  );
  useEffect(() => {
    void load(null);
  }, [load]);

  if (!credentials) {
    return (
      <Page title="Fleet" subtitle="Every organisation's Entra ID sync, for support staff">
        <SignInForm
          refused={refused}
          lastUser={lastUser}
          onSignIn={(c) => {
            setRefused(null);
            setLastUser(c.user);
            setCredentials(c);
          }}
        />
      </Page>
    );
  }

  const first = pages[0];
  const orgs = pages.flatMap((p) => p.items);
  const cursor = pages[pages.length - 1]?.nextCursor ?? null;
  const counts = first?.counts;
  const codes = Object.entries(counts?.byFailureCode ?? {})
    .filter((e): e is [FailureCode, number] => typeof e[1] === 'number' && e[1] > 0)
    .sort((a, b) => b[1] - a[1]);
  const now = new Date();

  return (
    <Page
      title="Fleet"
      subtitle="Every organisation's Entra ID sync, for support staff"
      actions={
        <div className="button-row">
          <Button busy={loading} onClick={() => void load(null)}>
            Refresh
          </Button>
          <Button
            variant="quiet"
            onClick={() => {
              setCredentials(null);
              setPages([]);
            }}
          >
            Sign out of ops
          </Button>
        </div>
      }
    >
      <div className="stack">
        {failure ? (
          <ErrorView
            title="The fleet could not be loaded"
            failure={failure}
            onRetry={() => void load(null)}
          />
        ) : null}
        {!first && loading ? <LoadingView label="Loading the fleet…" lines={6} /> : null}
        {counts ? (
          <Card title="At a glance">
            <ul className="fleet-counts" aria-label="Organisations by status">
              <li>
                <Badge tone="neutral">{count(counts.total)} organisations</Badge>
              </li>
              {STATUSES.map((s) => (
                <li key={s}>
                  <Badge tone={STATUS[s].tone}>
                    {count(counts.byStatus[s] ?? 0)} {STATUS[s].label.toLowerCase()}
                  </Badge>
                </li>
              ))}
              <li>
                <Badge tone={counts.stale > 0 ? 'warning' : 'success'}>
                  {count(counts.stale)} stale
                </Badge>
              </li>
            </ul>
            <h3 className="subheading">Failing, by reason</h3>
            {codes.length === 0 ? (
              <p className="muted">No organisation is failing.</p>
            ) : (
              <ul className="fleet-counts" aria-label="Failing organisations by reason code">
                {codes.map(([c, n]) => (
                  <li key={c}>
                    <Button
                      variant={code === c ? 'primary' : 'secondary'}
                      aria-pressed={code === c}
                      data-failure-code={c}
                      onClick={() => {
                        setCode(code === c ? '' : c);
                        setStatus('');
                      }}
                    >
                      <code>{c}</code> {count(n)}
                    </Button>
                  </li>
                ))}
              </ul>
            )}
          </Card>
        ) : null}

        {first ? (
          <Card title="Organisations">
            <div className="fleet-filters">
              <Field id="fleet-status" label="Status">
                <select
                  id="fleet-status"
                  className="input"
                  value={status}
                  onChange={(e) => setStatus(e.target.value as HealthStatus | '')}
                >
                  <option value="">Any status</option>
                  {STATUSES.map((s) => (
                    <option key={s} value={s}>
                      {STATUS[s].label}
                    </option>
                  ))}
                </select>
              </Field>
              <Field id="fleet-code" label="Failure code">
                <select
                  id="fleet-code"
                  className="input"
                  value={code}
                  onChange={(e) => setCode(e.target.value as FailureCode | '')}
                >
                  <option value="">Any code</option>
                  {codes.map(([c]) => (
                    <option key={c} value={c}>
                      {c}
                    </option>
                  ))}
                  {code && !codes.some(([c]) => c === code) ? (
                    <option value={code}>{code}</option>
                  ) : null}
                </select>
              </Field>
            </div>
            <p className="muted" role="status" aria-live="polite">
              {loading
                ? 'Loading…'
                : `Showing ${count(orgs.length)} organisation${orgs.length === 1 ? '' : 's'}${status || code ? ' that match the filter' : ''}.`}{' '}
              Read {dateTime(first.generatedAt)}.
            </p>
            {orgs.length === 0 && !loading ? (
              <EmptyView title="No organisation matches">
                <p>Change the status or code filter.</p>
              </EmptyView>
            ) : null}
            {orgs.length > 0 ? (
              <table className="fleet-table" aria-label="Organisations">
                <thead>
                  <tr>
                    <th scope="col">Organisation</th>
                    <th scope="col">Status</th>
                    <th scope="col">Open failure</th>
                    <th scope="col">Last success</th>
                    <th scope="col">Client secret</th>
                  </tr>
                </thead>
                <tbody>
                  {orgs.map((org) => {
                    const secret = secretText(org, now);
                    return (
                      <tr key={org.orgId} data-org-id={org.orgId} data-status={org.status}>
                        <td>
                          <Link to={orgPath(org.orgId)}>{org.orgId}</Link>
                        </td>
                        <td data-label="Status">
                          <Badge tone={STATUS[org.status].tone}>{STATUS[org.status].label}</Badge>{' '}
                          {org.stale ? (
                            <Badge tone="warning">
                              Stale
                              <span className="visually-hidden">
                                : no success in three schedule intervals
                              </span>
                            </Badge>
                          ) : null}
                        </td>
                        <td data-label="Open failure">
                          {org.failureCode ? (
                            <>
                              <code>{org.failureCode}</code>
                              {org.failingSince ? (
                                <span className="muted" title={dateTime(org.failingSince)}>
                                  {' '}
                                  since {relativeTime(org.failingSince, now)}
                                </span>
                              ) : null}
                            </>
                          ) : (
                            <span className="muted">None</span>
                          )}
                        </td>
                        <td data-label="Last success">
                          {org.lastSuccessAt ? (
                            <span title={dateTime(org.lastSuccessAt)}>
                              {relativeTime(org.lastSuccessAt, now)}
                            </span>
                          ) : (
                            <span className="muted">Never</span>
                          )}
                        </td>
                        <td data-label="Client secret">
                          <Badge tone={secret.tone}>{secret.text}</Badge>
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            ) : null}
            {cursor ? (
              <div className="list-footer">
                <Button busy={loading} onClick={() => void load(cursor)}>
                  Show more organisations
                </Button>
              </div>
            ) : null}
          </Card>
        ) : null}
      </div>
    </Page>
  );
}
