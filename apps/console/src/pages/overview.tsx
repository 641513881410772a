import { unwrap } from '../api/client.js';
import type { OverviewGroup, Run } from '../api/types.js';
import { useSession } from '../auth/session.js';
import { CertificateOverviewCard } from '../components/certificates.js';
import {
  FixAction,
  GroupsCard,
  Health,
  type OverviewData,
  RunCard,
  ScheduleCard,
  SecretCard,
} from '../components/overview-cards.js';
import { Page } from '../components/page.js';
import { FailureDetails, Warnings } from '../components/run.js';
import { EmptyView, ErrorView, LoadingView } from '../components/states.js';
import { SyncNowPanel } from '../components/sync-now.js';
import { Card } from '../components/ui.js';
import { useUnread } from '../components/unread.js';
import { Link } from '../lib/router.js';
import { orgPath } from '../lib/routes.js';
import { useInterval, useResource } from '../lib/use-resource.js';

/** The overview is read again this often, so a scheduled run shows up without a reload. */
const REFRESH_MS = 30_000;

export function OverviewPage({ orgId }: { orgId: string }) {
  const { api } = useSession();
  const unread = useUnread();
  const { state, reload } = useResource(async (): Promise<OverviewData> => {
    const overview = await unwrap(
      api.GET('/api/v1/orgs/{orgId}/sync-overview', { params: { path: { orgId } } }),
    );
    let failingRun: Run | null = null;
    const open = overview.openFailure;
    if (open) {
      failingRun =
        overview.lastRun?.id === open.lastRunId
          ? overview.lastRun
          : await unwrap(
              api.GET('/api/v1/orgs/{orgId}/syncs/{runId}', {
                params: { path: { orgId, runId: open.lastRunId } },
              }),
            ).catch(() => null);
    }
    return { overview, failingRun };
  }, [api, orgId]);
  useInterval(() => void reload(), REFRESH_MS);

  if (state.status === 'loading') {
    return (
      <Page title="Sync overview">
        <LoadingView label="Loading the sync overview…" lines={6} />
      </Page>
    );
  }
  if (state.status === 'error') {
    return (
      <Page title="Sync overview">
        <ErrorView
          title="The sync overview could not be loaded"
          failure={state.failure}
          onRetry={() => void reload()}
        />
      </Page>
    );
  }
  const { overview, failingRun } = state.data;
  if (!overview.configured) {
    return (
      <Page title="Sync overview">
        <EmptyView
          title="Microsoft Entra ID is not connected yet"
          action={
            <Link className="button button--primary" to={orgPath(orgId, 'settings')}>
              Set up the integration
            </Link>
          }
        >
          <p>
            Connect your Entra ID tenant with an app registration's tenant ID, client ID and client
            secret, then choose the groups whose members the platform should know.
          </p>
        </EmptyView>
      </Page>
    );
  }

  const groups = overview.groups as OverviewGroup[];
  const warnings = overview.lastRun?.warnings ?? [];
  return (
    <Page title="Sync overview" subtitle="Microsoft Entra ID users and groups of this organisation">
      <div className="stack">
        <Health overview={overview} failingRun={failingRun} />
        {overview.status === 'failing' && failingRun?.failure ? (
          <Card title="What went wrong" className="card--danger">
            <FailureDetails failure={failingRun.failure} />
            <FixAction orgId={orgId} code={failingRun.failure.code} />
          </Card>
        ) : null}
        <SyncNowPanel
          orgId={orgId}
          activeRun={overview.currentRun}
          lastRun={overview.lastRun}
          onFinished={() => {
            void reload();
            void unread.refresh();
          }}
        />
        <div className="grid">
          <RunCard title="Last run" run={overview.lastRun} empty="No sync has finished yet." />
          <RunCard
            title="Last successful run"
            run={overview.lastSuccessfulRun}
            empty="No sync has succeeded yet."
          />
          <ScheduleCard overview={overview} />
          {overview.authMethod === 'certificate' ? (
            <CertificateOverviewCard
              orgId={orgId}
              overview={overview}
              onCreated={() => void reload()}
            />
          ) : (
            <SecretCard orgId={orgId} overview={overview} />
          )}
          <GroupsCard orgId={orgId} groups={groups} />
          <Card title="Warnings" headingLevel={3}>
            {warnings.length > 0 ? (
              <Warnings warnings={warnings} />
            ) : (
              <p className="muted">The last sync raised no warning.</p>
            )}
          </Card>
        </div>
        <p>
          <Link to={orgPath(orgId, 'runs')}>See every run in the run history</Link>
        </p>
      </div>
    </Page>
  );
}
