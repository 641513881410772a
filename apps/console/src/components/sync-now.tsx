import { useCallback, useId, useRef, useState } from 'react';
import { unwrap } from '../api/client.js';
import { ApiError, type ApiFailure, describeFailure } from '../api/errors.js';
import type { Run } from '../api/types.js';
import { useSession } from '../auth/session.js';
import { plural } from '../lib/format.js';
import { Link } from '../lib/router.js';
import { orgPath } from '../lib/routes.js';
import { failureFromError } from '../lib/use-action.js';
import { useInterval } from '../lib/use-resource.js';
import { FailureDetails, isActive, RunCounts, STAGES, StageSteps } from './run.js';
import { Alert, Button } from './ui.js';

/** How often a run in progress is read again. A browser's EventSource cannot send the bearer token. */
const POLL_MS = 1_000;

/**
 * Sync Now: one button, then the run's stage live until it ends. A press
 * while a run is queued or running gets that run back from the API
 * (`deduplicated`), and the panel says so instead of starting another.
 */
export function SyncNowPanel({
  orgId,
  activeRun,
  lastRun,
  onFinished,
  headingLevel = 2,
  linkToChanges = true,
}: {
  orgId: string;
  /** A run queued or running when the page loaded: followed at once. */
  activeRun: Run | null;
  /** The newest finished run: a `mass_removal_blocked` one offers to allow the removal. */
  lastRun: Run | null;
  onFinished?: (run: Run) => void;
  headingLevel?: 2 | 3;
  /** Link a blocked run to its list of who would be removed (in the run history). */
  linkToChanges?: boolean;
}) {
  const { api } = useSession();
  const [run, setRun] = useState<Run | null>(activeRun);
  const [notice, setNotice] = useState<string | null>(null);
  const [failure, setFailure] = useState<ApiFailure | null>(null);
  const [pressing, setPressing] = useState(false);
  const [confirmingRemoval, setConfirmingRemoval] = useState(false);
  const finishedRef = useRef(onFinished);
  finishedRef.current = onFinished;
  const Heading = headingLevel === 2 ? 'h2' : 'h3';
  const titleId = useId();

  // A run that started elsewhere (a schedule, another tab) is followed too,
  // unless this panel is following one of its own (React's "adjust state on a prop change").
  const [seenActiveId, setSeenActiveId] = useState(activeRun?.id);
  if (activeRun?.id !== seenActiveId) {
    setSeenActiveId(activeRun?.id);
    if (activeRun && (run === null || !isActive(run))) setRun(activeRun);
  }

  const poll = useCallback(async () => {
    if (!run || !isActive(run)) return;
    try {
      const next = await unwrap(
        api.GET('/api/v1/orgs/{orgId}/syncs/{runId}', {
          params: { path: { orgId, runId: run.id } },
        }),
      );
      setRun(next);
      if (!isActive(next)) finishedRef.current?.(next);
    } catch (error) {
      // A missed poll is retried on the next tick; the run goes on regardless.
      if (error instanceof ApiError && error.failure.kind === 'not_found') setRun(null);
    }
  }, [api, orgId, run]);
  useInterval(() => void poll(), run && isActive(run) ? POLL_MS : null);

  const press = async (allowMassRemoval: boolean) => {
    setPressing(true);
    setFailure(null);
    setNotice(null);
    setConfirmingRemoval(false);
    try {
      const accepted = await unwrap(
        api.POST('/api/v1/orgs/{orgId}/syncs', {
          params: { path: { orgId } },
          body: allowMassRemoval ? { allowMassRemoval: true } : {},
        }),
      );
      if (accepted.deduplicated) {
        setNotice('A sync is already running for this organisation. Its progress is shown below.');
      }
      const started = await unwrap(
        api.GET('/api/v1/orgs/{orgId}/syncs/{runId}', {
          params: { path: { orgId, runId: accepted.runId } },
        }),
      );
      setRun(started);
      if (!isActive(started)) finishedRef.current?.(started);
    } catch (error) {
      setFailure(failureFromError(error));
    } finally {
      setPressing(false);
    }
  };

  const active = run !== null && isActive(run);
  // The org's budget of new runs is spent (429 `sync_now_budget`): a wait, not an error.
  const overBudget = failure?.kind === 'rate_limited' && failure.limit === 'sync_now_budget';
  const stage = run ? STAGES.find((s) => s.stage === run.stage) : undefined;
  // The newest finished run: the one followed here, else the page's last run.
  const latest = run && !active ? run : lastRun;
  const blocked = !active && latest?.failure?.code === 'mass_removal_blocked';
  const wouldRemove = latest?.failure?.details.removedUsers;

  return (
    <section className="card sync-now" aria-labelledby={titleId}>
      <div className="card__header">
        <Heading className="card__title" id={titleId}>
          Sync now
        </Heading>
        <div className="card__actions">
          <Button variant="primary" busy={pressing} onClick={() => void press(false)}>
            Sync now
          </Button>
        </div>
      </div>
      <p className="muted">
        Reads the selected groups from Microsoft Entra ID now instead of waiting for the schedule.
      </p>

      {notice ? (
        <Alert tone="info" live="status">
          {notice}
        </Alert>
      ) : null}
      {failure ? (
        <Alert
          tone={overBudget ? 'warning' : 'danger'}
          live="alert"
          title={
            overBudget
              ? 'Sync Now is resting for this organisation'
              : 'The sync could not be started'
          }
        >
          {describeFailure(failure)}
        </Alert>
      ) : null}

      {run ? (
        <div className="sync-now__run" data-run-status={run.status}>
          <StageSteps run={run} />
          <p className="sync-now__status" role="status" aria-live="polite">
            {run.status === 'queued' ? 'Queued: waiting for a worker to start the sync.' : null}
            {run.status === 'running' && stage ? `Running: ${stage.label}. ${stage.doing}…` : null}
            {run.status === 'succeeded'
              ? `Sync succeeded: ${plural(run.stats.users ?? 0, 'user')} in the snapshot.`
              : null}
            {run.status === 'failed' ? `Sync failed at ${stage?.label ?? run.stage}.` : null}
          </p>
          {run.status === 'succeeded' ? <RunCounts run={run} /> : null}
          {run.status === 'failed' && run.failure ? (
            <FailureDetails failure={run.failure} headingLevel={headingLevel === 2 ? 3 : 4} />
          ) : null}
        </div>
      ) : null}

      {blocked ? (
        <div className="sync-now__removal">
          <Alert tone="warning" title="The last sync was stopped by the mass-removal guard">
            <p>
              It would have removed{' '}
              {typeof wouldRemove === 'number' ? plural(wouldRemove, 'user') : 'many users'} at
              once. If the groups really shrank, allow the removal for one sync.
            </p>
            {linkToChanges && latest ? (
              <p>
                <Link to={`${orgPath(orgId, 'runs')}#run-${latest.id}`}>
                  See who would be removed
                </Link>
              </p>
            ) : null}
          </Alert>
          {confirmingRemoval ? (
            <div className="button-row">
              <Button variant="danger" busy={pressing} onClick={() => void press(true)}>
                Yes, remove them and sync now
              </Button>
              <Button variant="quiet" onClick={() => setConfirmingRemoval(false)}>
                Cancel
              </Button>
            </div>
          ) : (
            <Button variant="danger" onClick={() => setConfirmingRemoval(true)}>
              Allow the removal and sync now…
            </Button>
          )}
        </div>
      ) : null}
    </section>
  );
}
