import { useEffect, useState } from 'react';
import { unwrap } from '../api/client.js';
import { type ApiFailure, describeFailure } from '../api/errors.js';
import type { Run, RunPage } from '../api/types.js';
import { useSession } from '../auth/session.js';
import { Page } from '../components/page.js';
import {
  FailureDetails,
  RunStats,
  RunStatusBadge,
  STAGES,
  StageSteps,
  Warnings,
} from '../components/run.js';
import { RunChanges } from '../components/run-changes.js';
import { EmptyView, ErrorView, LoadingView } from '../components/states.js';
import { SyncNowPanel } from '../components/sync-now.js';
import { Alert, Button, Card } from '../components/ui.js';
import { count, dateTime, duration, relativeTime } from '../lib/format.js';
import { Link } from '../lib/router.js';
import { orgPath } from '../lib/routes.js';
import { failureFromError } from '../lib/use-action.js';
import { useResource } from '../lib/use-resource.js';

const PAGE_SIZE = 20;

function RunItem({ orgId, run, newest }: { orgId: string; run: Run; newest: boolean }) {
  const now = new Date();
  // The changes load when the run is first opened, not for every run on the page.
  const initiallyOpen = window.location.hash === `#run-${run.id}`;
  const [opened, setOpened] = useState(initiallyOpen);
  const blocked = run.failure?.code === 'mass_removal_blocked';
  const stage = STAGES.find((s) => s.stage === run.stage)?.label ?? run.stage;
  const took = duration(run.startedAt, run.finishedAt);
  return (
    <li className="disclosure-list__item">
      <details
        className="disclosure"
        id={`run-${run.id}`}
        open={initiallyOpen || undefined}
        data-run-id={run.id}
        onToggle={(e) => {
          if (e.currentTarget.open) setOpened(true);
        }}
      >
        <summary className="disclosure__summary">
          <span className="disclosure__main">
            <RunStatusBadge run={run} />{' '}
            <span className="disclosure__title">
              {run.failure
                ? run.failure.title
                : run.status === 'succeeded'
                  ? `${count(run.stats.users)} users`
                  : stage}
            </span>
          </span>
          <span className="disclosure__meta">
            <span title={dateTime(run.createdAt)}>{relativeTime(run.createdAt, now)}</span>
            {' · '}
            {run.trigger === 'manual' ? 'Sync now' : 'Scheduled'}
            {took ? ` · ${took}` : ''}
          </span>
        </summary>
        <div className="disclosure__body">
          <StageSteps run={run} />
          <p className="muted">
            Started {run.startedAt ? dateTime(run.startedAt) : 'not yet'}
            {run.finishedAt ? `, finished ${dateTime(run.finishedAt)}` : ''}. Run ID{' '}
            <code>{run.id}</code>
          </p>
          {run.failure ? <FailureDetails failure={run.failure} headingLevel={3} /> : null}
          {run.warnings.length > 0 ? (
            <>
              <h3 className="subheading">Warnings</h3>
              <Warnings warnings={run.warnings} />
            </>
          ) : null}
          <h3 className="subheading">Stats</h3>
          <RunStats run={run} />
          {opened ? <RunChanges orgId={orgId} run={run} /> : null}
          {opened && blocked && newest ? (
            <SyncNowPanel
              orgId={orgId}
              activeRun={null}
              lastRun={run}
              headingLevel={3}
              linkToChanges={false}
            />
          ) : null}
        </div>
      </details>
    </li>
  );
}

export function RunHistoryPage({ orgId }: { orgId: string }) {
  const { api } = useSession();
  const [older, setOlder] = useState<RunPage[]>([]);
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreFailure, setMoreFailure] = useState<ApiFailure | null>(null);
  const { state, reload, refreshing } = useResource(async () => {
    setOlder([]);
    return unwrap(
      api.GET('/api/v1/orgs/{orgId}/syncs', {
        params: { path: { orgId }, query: { limit: PAGE_SIZE } },
      }),
    );
  }, [api, orgId]);

  // A link to one run (`#run-<id>`, from the overview's blocked sync): bring it into view.
  useEffect(() => {
    if (state.status !== 'ready' || !window.location.hash.startsWith('#run-')) return;
    document.getElementById(window.location.hash.slice(1))?.scrollIntoView({ block: 'start' });
  }, [state.status]);

  const pages = state.status === 'ready' ? [state.data, ...older] : [];
  const runs = pages.flatMap((p) => p.items);
  const cursor = pages[pages.length - 1]?.nextCursor ?? null;

  const more = async () => {
    if (!cursor) return;
    setLoadingMore(true);
    setMoreFailure(null);
    try {
      const next = await unwrap(
        api.GET('/api/v1/orgs/{orgId}/syncs', {
          params: { path: { orgId }, query: { limit: PAGE_SIZE, cursor } },
        }),
      );
      setOlder((o) => [...o, next]);
    } catch (error) {
      setMoreFailure(failureFromError(error));
    } finally {
      setLoadingMore(false);
    }
  };

  return (
    <Page
      title="Run history"
      subtitle="Every sync of this organisation, newest first. Open a run for its stages, failure, warnings, stats and who it changed."
      actions={
        <Button busy={refreshing} onClick={() => void reload()}>
          Refresh
        </Button>
      }
    >
      <Card title="Runs">
        {state.status === 'loading' ? (
          <LoadingView label="Loading the run history…" lines={5} />
        ) : null}
        {state.status === 'error' ? (
          <ErrorView
            title="The run history could not be loaded"
            failure={state.failure}
            onRetry={() => void reload()}
          />
        ) : null}
        {state.status === 'ready' && runs.length === 0 ? (
          <EmptyView
            title="No sync has run yet"
            action={<Link to={orgPath(orgId)}>Run one from the overview</Link>}
          >
            <p>Runs appear here as they are queued, with their stage, result and counts.</p>
          </EmptyView>
        ) : null}
        {runs.length > 0 ? (
          <ul className="disclosure-list" aria-label="Runs">
            {runs.map((run, i) => (
              <RunItem
                key={run.id}
                orgId={orgId}
                run={run}
                newest={runs
                  .slice(0, i)
                  .every((r) => r.status === 'queued' || r.status === 'running')}
              />
            ))}
          </ul>
        ) : null}
        {moreFailure ? (
          <Alert tone="danger" live="alert" title="Older runs could not be loaded">
            {describeFailure(moreFailure)}
          </Alert>
        ) : null}
        {cursor ? (
          <div className="list-footer">
            <Button busy={loadingMore} onClick={() => void more()}>
              Show older runs
            </Button>
          </div>
        ) : null}
      </Card>
    </Page>
  );
}
