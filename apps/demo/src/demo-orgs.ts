import type { DemoState, DemoTenant, Simulator } from '@pinnacle/entra-simulator';

interface Run {
  id: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  failure: { code: string } | null;
  stats: { users: number | null };
}

export interface DemoOrgsInput {
  /** The api's base URL. */
  api: string;
  /** A portal-backend (`org: "*"`) bearer token. */
  token: string;
  sim: Pick<Simulator, 'setFaults'>;
  demos: readonly DemoTenant[];
  report: (line: string) => void;
}

/** The outcome each demo state ends in (the last run's status and failure code). */
const EXPECTED: Record<DemoState, { status: Run['status'] | null; code: string | null }> = {
  healthy: { status: 'succeeded', code: null },
  secret_expiring: { status: 'succeeded', code: null },
  secret_expired: { status: 'failed', code: 'client_secret_expired' },
  consent_missing: { status: 'failed', code: 'consent_missing' },
  group_deleted: { status: 'failed', code: 'group_not_found' },
  never_synced: { status: null, code: null },
};

async function call(input: DemoOrgsInput, method: string, path: string, body?: unknown) {
  const res = await fetch(`${input.api}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${input.token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 200)}`);
  return JSON.parse(text) as unknown;
}

/** Sync Now, then the run once it has finished. */
async function syncAndWait(input: DemoOrgsInput, orgId: string): Promise<Run> {
  const { runId } = (await call(input, 'POST', `/orgs/${orgId}/syncs`, {})) as { runId: string };
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    const run = (await call(input, 'GET', `/orgs/${orgId}/syncs/${runId}`)) as Run;
    if (run.status === 'succeeded' || run.status === 'failed') return run;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`run ${runId} of ${orgId} did not finish in time`);
}

/**
 * Configures one org per demo tenant through the API (as an admin would,
 * so each gets its job scheduler), then puts it in its state: synced once
 * (healthy, or failing for the tenant's reason), a selected group deleted
 * after a good first sync, or never synced at all.
 */
export async function setUpDemoOrgs(input: DemoOrgsInput): Promise<void> {
  await Promise.all(
    input.demos.map(async (demo) => {
      const orgId = `demo-${demo.key}`;
      const c = demo.credentials;
      await call(input, 'PUT', `/orgs/${orgId}/integration`, {
        tenantId: c.tenantId,
        clientId: c.clientId,
        clientSecret: c.clientSecret,
        clientSecretExpiresAt: c.secretExpiresAt,
        groupIds: demo.demo.groupIds,
        schedule: { enabled: true, every: '6h' },
        notifications: { email: { enabled: true, recipients: [`admin@${c.domain}`] } },
      });
      const expected = EXPECTED[demo.demo.state];
      if (demo.demo.state === 'never_synced') {
        input.report(`${orgId}: never synced (press Sync Now)`);
        return;
      }
      let run = await syncAndWait(input, orgId);
      if (demo.demo.deletedGroupId !== undefined) {
        // A good first sync, then the group goes in Entra ID: the next run stops on it.
        input.sim.setFaults(c.tenantId, {
          deleteGroups: [{ groupId: demo.demo.deletedGroupId, afterRequests: 0 }],
        });
        run = await syncAndWait(input, orgId);
      }
      const ok = run.status === expected.status && (run.failure?.code ?? null) === expected.code;
      input.report(
        `${orgId}: ${run.status === 'succeeded' ? `healthy, ${run.stats.users ?? 0} users` : `failing (${run.failure?.code})`}${ok ? '' : ` — expected ${expected.code ?? expected.status}`}`,
      );
    }),
  );
}
