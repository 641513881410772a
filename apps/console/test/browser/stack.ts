/**
 * The real stack the console runs against in the browser tests: the api
 * role (serving the console's build), the worker and notifier roles, the
 * Entra ID / Graph simulator over HTTPS and an SMTP capture, on one Redis.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ApiRole, startApiRole } from '@pinnacle/api';
import { loadEnv } from '@pinnacle/config';
import type { Simulator } from '@pinnacle/entra-simulator';
import { createLogger } from '@pinnacle/logging';
import { type NotifierRole, startNotifierRole } from '@pinnacle/notifier';
import { getFreePort, type SmtpSink, waitFor } from '@pinnacle/testing';
import type { RedisFixture, SimulatorFixture } from '@pinnacle/testing/fixtures';
import { startWorkerRole, type WorkerRole } from '@pinnacle/worker';
import { SignJWT } from 'jose';

export const CONSOLE_DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
const AUTH_SECRET = `console-test-${randomBytes(16).toString('hex')}`;
const DAY = 86_400_000;

export interface DemoTenant {
  tenantId: string;
  clientId: string;
  /** Expired in Entra too: what the failing org still has stored. */
  oldSecret: string;
  /** Valid for 180 days: what the admin rotates to. */
  newSecret: string;
  groups: { all: string; engineering: string };
  users: number;
  userIds: string[];
}

export interface Stack {
  url: string;
  redis: RedisFixture;
  sim: SimulatorFixture;
  smtp: SmtpSink;
  api: ApiRole;
  tenant: DemoTenant;
  /** A bearer token signed with the api's key (`expiresIn` seconds; negative: expired). */
  token(org: string, options?: { expiresIn?: number; secret?: string }): Promise<string>;
  /** An /api/v1 call with a `*` token. */
  call(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }>;
  /** Queues a sync and waits until it has finished. */
  syncAndWait(orgId: string): Promise<{ status: string; failure: { code: string } | null }>;
  close(): Promise<void>;
}

/**
 * A tenant of 1,500 users (every 50th disabled) in two groups, Engineering
 * (300) nested in All staff, and an app with an expired and a valid secret.
 * `allStaffDirect` shrinks All staff's own members (a reorganisation).
 */
export function addTenant(
  sim: Simulator,
  options: { domain: string; base?: DemoTenant; allStaffDirect?: number } = { domain: 'acme' },
): DemoTenant {
  const base = options.base;
  const tenantId = base?.tenantId ?? randomUUID();
  const clientId = base?.clientId ?? randomUUID();
  const domain = `${options.domain}.onmicrosoft.com`;
  const users = Array.from({ length: 1_500 }, (_, i) => ({
    id: base?.userIds[i] ?? randomUUID(),
    displayName: `Person ${i}`,
    userPrincipalName: `person${i}@${domain}`,
    mail: `person${i}@${domain}`,
    accountEnabled: i % 50 !== 0,
    givenName: null,
    surname: null,
  }));
  const tenant: DemoTenant = {
    tenantId,
    clientId,
    oldSecret: base?.oldSecret ?? `Old8Q~${randomBytes(18).toString('base64url')}`,
    newSecret: base?.newSecret ?? `New8Q~${randomBytes(18).toString('base64url')}`,
    groups: base?.groups ?? { all: randomUUID(), engineering: randomUUID() },
    users: users.length,
    userIds: users.map((u) => u.id),
  };
  const allStaff = users.slice(300, 300 + (options.allStaffDirect ?? 1_200));
  sim.addTenant({
    kind: 'fixture',
    tenantId,
    displayName: options.domain,
    domains: [domain],
    applications: [
      {
        appId: clientId,
        displayName: 'Pinnacle Entra Sync',
        roles: ['User.Read.All', 'GroupMember.Read.All'],
        secrets: [
          {
            keyId: randomUUID(),
            value: tenant.oldSecret,
            expiresAt: new Date(Date.now() - 3 * DAY),
          },
          {
            keyId: randomUUID(),
            value: tenant.newSecret,
            expiresAt: new Date(Date.now() + 180 * DAY),
          },
        ],
      },
    ],
    users,
    groups: [
      {
        id: tenant.groups.engineering,
        displayName: 'Engineering',
        description: null,
        members: users.slice(0, 300).map((u) => u.id),
        memberGroups: [],
      },
      {
        id: tenant.groups.all,
        displayName: 'All staff',
        description: null,
        members: allStaff.map((u) => u.id),
        // Nested: Engineering's members are All staff's too.
        memberGroups: [tenant.groups.engineering],
      },
    ],
  });
  return tenant;
}

/**
 * The roles over the file's Redis, simulator and SMTP fixtures, which
 * outlive them: `close()` stops the roles, the fixtures clean up after the
 * file. `env`: more variables for every role (e.g. a small SYNC_NOW_BUDGET).
 */
export async function startStack(
  fixtures: { redis: RedisFixture; simulator: SimulatorFixture; smtp: SmtpSink },
  env: Record<string, string> = {},
): Promise<Stack> {
  if (!existsSync(join(CONSOLE_DIST, 'index.html'))) {
    throw new Error(
      `The console is not built (${CONSOLE_DIST}): run pnpm --filter @pinnacle/console build (turbo's test task does).`,
    );
  }
  const { redis, simulator: sim, smtp } = fixtures;
  const tenant = addTenant(sim, { domain: 'acme' });
  const port = await getFreePort();
  const url = `http://127.0.0.1:${port}`;
  const roleEnv = loadEnv(
    {
      NODE_ENV: 'test',
      ...redis.processEnv,
      PORT: String(port),
      API_AUTH_SECRET: AUTH_SECRET,
      OPS_USER: 'ops',
      OPS_PASSWORD: 'console-test-ops-password',
      SECRET_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      ENTRA_AUTHORITY_HOST: sim.authorityHost,
      GRAPH_BASE_URL: sim.graphBaseUrl,
      SMTP_URL: smtp.url,
      MAIL_FROM: 'Pinnacle Series <no-reply@pinnacle.example>',
      // Emails link to the console where no portal exists.
      PORTAL_BASE_URL: `${url}/console`,
      SYNC_ATTEMPTS: '2',
      SYNC_BACKOFF_MS: '200',
      WORKER_HEALTH_PORT: '0',
      NOTIFIER_HEALTH_PORT: '0',
      ...env,
    },
    'all',
  );
  const logger = createLogger({ name: 'console-test', level: 'error' });
  const worker: WorkerRole = startWorkerRole(roleEnv, logger);
  const notifier: NotifierRole = await startNotifierRole(roleEnv, logger);
  const api = await startApiRole(roleEnv, logger, { host: '127.0.0.1', consoleDir: CONSOLE_DIST });

  const token = (org: string, options: { expiresIn?: number; secret?: string } = {}) =>
    new SignJWT({ sub: 'admin@acme.example', org, role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + (options.expiresIn ?? 3600))
      .sign(new TextEncoder().encode(options.secret ?? AUTH_SECRET));
  const portal = await token('*');
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${portal}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as unknown) : null };
  };
  const syncAndWait = async (orgId: string) => {
    const accepted = await call('POST', `/orgs/${orgId}/syncs`, {});
    if (accepted.status !== 202) throw new Error(`Sync Now answered ${accepted.status}`);
    const { runId } = accepted.json as { runId: string };
    return waitFor(
      async () => {
        const { json } = await call('GET', `/orgs/${orgId}/syncs/${runId}`);
        const run = json as { status: string; failure: { code: string } | null };
        return run.status === 'succeeded' || run.status === 'failed' ? run : null;
      },
      { timeoutMs: 60_000, intervalMs: 100, description: `run ${runId} of ${orgId}` },
    );
  };

  return {
    url,
    redis,
    sim,
    smtp,
    api,
    tenant,
    token,
    call,
    syncAndWait,
    async close() {
      await api.close();
      await worker.close();
      await notifier.close();
    },
  };
}
