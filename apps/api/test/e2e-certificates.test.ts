/**
 * Certificates end to end: made through the API, uploaded to the simulated
 * app registration as the admin would (the downloaded .cer), the org switched
 * to certificates, synced by the real worker through @azure/identity's
 * ClientCertificateCredential; an unregistered one, a rotation; and the
 * private keys nowhere they should not be.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { type CertificateView, certificateViewSchema, type Run } from '@pinnacle/domain';
import type { Simulator } from '@pinnacle/entra-simulator';
import { createLogger } from '@pinnacle/logging';
import { type NotificationJob, notificationJobId, queues } from '@pinnacle/queue-contracts';
import { createStores } from '@pinnacle/redis-store';
import { type RedisFixture, test } from '@pinnacle/testing/fixtures';
import { startWorkerRole, type WorkerRole } from '@pinnacle/worker';
import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { ENCRYPTION_KEY, signToken, startTestApi, syncViaApi, type TestApi } from './helpers.js';

let r: RedisFixture;
let sim: Simulator;
let api: TestApi;
let worker: WorkerRole;
let token: string;
const workerLogs: string[] = [];
/** Every private key the service made in this test, read back from Redis (sealed) to scan for. */
const privateKeys: string[] = [];
const OPS = { authorization: `Basic ${Buffer.from('ops:e2e-ops-password').toString('base64')}` };
const DAY = 86_400_000;

interface Tenant {
  tenantId: string;
  clientId: string;
  secret: string;
  group: string;
}

function addTenant(): Tenant {
  const tenantId = randomUUID();
  const clientId = randomUUID();
  const secret = `E2c~${randomUUID()}`;
  const group = randomUUID();
  const domain = `cert${tenantId.slice(0, 8)}.onmicrosoft.com`;
  const users = Array.from({ length: 12 }, (_, i) => ({
    id: randomUUID(),
    displayName: `User ${i}`,
    userPrincipalName: `user${i}@${domain}`,
    mail: `user${i}@${domain}`,
    accountEnabled: true,
    givenName: null,
    surname: null,
  }));
  sim.addTenant({
    kind: 'fixture',
    tenantId,
    displayName: 'Certificates E2E',
    domains: [domain],
    applications: [
      {
        appId: clientId,
        roles: ['User.Read.All', 'GroupMember.Read.All'],
        secrets: [
          { keyId: randomUUID(), value: secret, expiresAt: new Date(Date.now() + 90 * DAY) },
        ],
      },
    ],
    users,
    groups: [
      {
        id: group,
        displayName: 'Everyone',
        description: null,
        members: users.map((u) => u.id),
        memberGroups: [],
      },
    ],
  });
  return { tenantId, clientId, secret, group };
}

const orgId = () => `e2c-${randomUUID().slice(0, 8)}`;

async function call(method: string, path: string, body?: unknown) {
  return api.request(method, `/api/v1${path}`, { token, ...(body === undefined ? {} : { body }) });
}

async function save(org: string, t: Tenant, extra: Record<string, unknown> = {}) {
  const res = await call('PUT', `/orgs/${org}/integration`, {
    tenantId: t.tenantId,
    clientId: t.clientId,
    groupIds: [t.group],
    ...extra,
  });
  expect([200, 201]).toContain(res.status);
  return res.json as { authMethod: string };
}

async function createCertificate(org: string): Promise<CertificateView> {
  const res = await call('POST', `/orgs/${org}/integration/certificates`, { validityDays: 180 });
  expect(res.status).toBe(201);
  const cert = certificateViewSchema.parse(res.json);
  // Read back what was sealed, only to prove below it never shows up anywhere.
  const key = await createStores(r.redis, r.prefix, ENCRYPTION_KEY).certificates.revealPrivateKey(
    org,
    cert.id,
  );
  privateKeys.push(key ?? '');
  return cert;
}

/** As the admin does: download the .cer and upload it to the app registration. */
async function uploadToAppRegistration(org: string, t: Tenant, cert: CertificateView) {
  const res = await fetch(
    `${api.url}/api/v1/orgs/${org}/integration/certificates/${cert.id}/certificate.cer`,
    { headers: { authorization: `Bearer ${token}` } },
  );
  expect(res.headers.get('content-type')).toBe('application/pkix-cert');
  const der = Buffer.from(await res.arrayBuffer());
  const uploaded = await fetch(
    `${sim.url}/_sim/tenants/${t.tenantId}/applications/${t.clientId}/certificates`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ certificatePem: der.toString('base64') }),
    },
  );
  expect(uploaded.status).toBe(201);
  expect(((await uploaded.json()) as { thumbprint: string }).thumbprint).toBe(cert.thumbprint);
}

const syncNow = (org: string) => syncViaApi(api, token, org);

async function certificates(org: string): Promise<CertificateView[]> {
  return (
    (await call('GET', `/orgs/${org}/integration/certificates`)).json as {
      items: CertificateView[];
    }
  ).items;
}

test.beforeAll(async ({ redis, simulator }) => {
  r = redis;
  sim = simulator;
  api = await startTestApi(r, {
    env: {
      SYNC_ATTEMPTS: 2,
      SYNC_BACKOFF_MS: 50,
      OPS_USER: 'ops',
      OPS_PASSWORD: 'e2e-ops-password',
      // Test connection and the group search reach Entra from the api.
      ENTRA_AUTHORITY_HOST: sim.authorityHost,
      GRAPH_BASE_URL: sim.graphBaseUrl,
    },
  });
  worker = startWorkerRole(
    {
      ...r.env,
      SECRET_ENCRYPTION_KEY: ENCRYPTION_KEY,
      ENTRA_AUTHORITY_HOST: sim.authorityHost,
      GRAPH_BASE_URL: sim.graphBaseUrl,
      SYNC_CONCURRENCY: 2,
      SYNC_GROUP_CONCURRENCY: 2,
      SYNC_ATTEMPTS: 2,
      SYNC_BACKOFF_MS: 50,
      SYNC_LOCK_DURATION_MS: 30_000,
      SYNC_STALLED_INTERVAL_MS: 5_000,
      GRAPH_TIMEOUT_MS: 10_000,
    },
    createLogger({
      name: 'worker',
      level: 'debug',
      destination: new Writable({
        write(chunk, _enc, done) {
          workerLogs.push(String(chunk));
          done();
        },
      }),
    }),
  );
  token = await signToken({ org: '*' });
});

afterAll(async () => {
  await worker?.close();
  await api?.close();
});

describe('certificates end to end', () => {
  const t = () => tenant;
  let tenant: Tenant;
  const org = orgId();

  it('create, upload, switch the org to certificates, sync', async () => {
    tenant = addTenant();
    expect(
      (
        await save(org, t(), {
          clientSecret: t().secret,
          clientSecretExpiresAt: new Date(Date.now() + 60 * DAY).toISOString(),
        })
      ).authMethod,
    ).toBe('client_secret');
    expect((await syncNow(org)).status).toBe('succeeded');

    const cert = await createCertificate(org);
    await uploadToAppRegistration(org, t(), cert);
    // Switched: the stored secret is no longer needed (nor used).
    expect((await save(org, t(), { authMethod: 'certificate' })).authMethod).toBe('certificate');
    sim.clearRequests();
    const run = await syncNow(org);
    expect(run.status).toBe('succeeded');
    expect(run.stats).toMatchObject({ users: 12, tokenRequests: 1 });
    expect(sim.requests({ kind: 'token' }).map((q) => q.status)).toEqual([200]);

    const [active] = await certificates(org);
    expect(active).toMatchObject({ id: cert.id, status: 'active' });

    // Test connection and the group search use the certificate too.
    const tested = await call('POST', `/orgs/${org}/integration/test`, {});
    expect(tested.json).toMatchObject({ ok: true, groups: [{ id: t().group, missing: false }] });
    const found = await call('GET', `/orgs/${org}/entra/groups?search=Everyone`);
    expect(found.json).toEqual({ items: [{ id: t().group, displayName: 'Everyone' }] });
    const overview = (await call('GET', `/orgs/${org}/sync-overview`)).json as Record<
      string,
      unknown
    >;
    expect(overview).toMatchObject({
      status: 'healthy',
      authMethod: 'certificate',
      certificate: {
        id: cert.id,
        thumbprint: cert.thumbprint,
        status: 'active',
        daysLeft: 179,
        expired: false,
      },
    });
  });

  it('rotates without a failed run, and tells the admin the old certificate can go', async () => {
    const [old] = await certificates(org);
    const fresh = await createCertificate(org);
    // Not uploaded yet: Entra refuses it, the old one carries on.
    const meanwhile = await syncNow(org);
    expect(meanwhile.status).toBe('succeeded');
    expect((await certificates(org)).map((c) => [c.id, c.status])).toEqual([
      [fresh.id, 'pending'],
      [old!.id, 'active'],
    ]);

    await uploadToAppRegistration(org, t(), fresh);
    const switched = await syncNow(org);
    expect(switched.status).toBe('succeeded');
    expect((await certificates(org)).map((c) => [c.id, c.status])).toEqual([
      [fresh.id, 'active'],
      [old!.id, 'retired'],
    ]);
    const notifications = new Queue('notifications', { connection: r.connect(), prefix: r.prefix });
    try {
      const rotated: NotificationJob = {
        type: 'certificate_rotated',
        orgId: org,
        occurredAt: switched.finishedAt!,
        runId: switched.id,
        certificate: { id: fresh.id, thumbprint: fresh.thumbprint, notAfter: fresh.notAfter },
        retired: [{ id: old!.id, thumbprint: old!.thumbprint }],
      };
      const job = await notifications.getJob(notificationJobId(rotated));
      expect(job?.data).toMatchObject({
        type: 'certificate_rotated',
        runId: switched.id,
        certificate: { id: fresh.id, thumbprint: fresh.thumbprint },
        retired: [{ id: old!.id, thumbprint: old!.thumbprint }],
      });
    } finally {
      await notifications.close();
    }
    const runs = (await call('GET', `/orgs/${org}/syncs?limit=20`)).json as { items: Run[] };
    expect(runs.items.every((run) => run.status === 'succeeded')).toBe(true);

    // The retired certificate is still listed (and downloadable), but may no longer be retired twice.
    const again = await call('DELETE', `/orgs/${org}/integration/certificates/${old!.id}`);
    expect(again.json).toMatchObject({ status: 'retired' });
    // The active one is the last usable: kept.
    const refused = await call('DELETE', `/orgs/${org}/integration/certificates/${fresh.id}`);
    expect(refused.status).toBe(409);
  });

  it('an unregistered certificate fails certificate_not_registered, naming what to upload where', async () => {
    const other = addTenant();
    const org2 = orgId();
    await save(org2, other, { authMethod: 'certificate' });
    const cert = await createCertificate(org2);
    const run = await syncNow(org2);
    expect(run).toMatchObject({
      status: 'failed',
      attempts: 1,
      failure: {
        code: 'certificate_not_registered',
        details: { thumbprint: cert.thumbprint, errorCodes: [700027] },
      },
    });
    expect(run.failure?.remediation.join('\n')).toContain(
      `Download the certificate with thumbprint ${cert.thumbprint}`,
    );
    expect(run.failure?.remediation.join('\n')).toContain(other.clientId);
    // Test connection says the same before any sync would.
    const tested = await call('POST', `/orgs/${org2}/integration/test`, {});
    expect(tested.json).toMatchObject({
      ok: false,
      failure: { code: 'certificate_not_registered', details: { thumbprint: cert.thumbprint } },
    });
    const overview = (await call('GET', `/orgs/${org2}/sync-overview`)).json as Record<
      string,
      unknown
    >;
    expect(overview).toMatchObject({
      status: 'failing',
      openFailure: { code: 'certificate_not_registered' },
      certificate: { id: cert.id, status: 'pending' },
    });
  });

  it('no private key appears in a response, a log line, a job payload or Bull Board', async () => {
    expect(privateKeys).toHaveLength(3);
    const lines = privateKeys.flatMap((k) =>
      k.split('\n').filter((l) => l.length >= 16 && !l.startsWith('-----')),
    );
    expect(lines.length).toBeGreaterThan(60);

    const jobs: string[] = [];
    const board: string[] = [];
    for (const name of Object.values(queues).map((q) => q.name)) {
      const queue = new Queue(name, { connection: r.connect(), prefix: r.prefix });
      try {
        for (const job of await queue.getJobs([
          'completed',
          'failed',
          'waiting',
          'delayed',
          'active',
        ])) {
          jobs.push(
            JSON.stringify({
              data: job.data,
              value: job.returnvalue,
              reason: job.failedReason,
              stack: job.stacktrace,
            }),
          );
          const detail = await api.request('GET', `/admin/queues/api/queues/${name}/${job.id}`, {
            headers: OPS,
          });
          expect(detail.status).toBe(200);
          board.push(detail.text);
        }
      } finally {
        await queue.close();
      }
      for (const status of ['completed', 'failed', 'waiting', 'delayed']) {
        const page = await api.request(
          'GET',
          `/admin/queues/api/queues?activeQueue=${name}&status=${status}&page=1&jobsPerPage=100`,
          { headers: OPS },
        );
        expect(page.status).toBe(200);
        board.push(page.text);
      }
    }
    expect(jobs.length).toBeGreaterThan(5);
    const everything = [...api.bodies, ...api.logs, ...workerLogs, ...jobs, ...board].join('\n');
    // The scan reaches job payloads and Bull Board (the rotation's hand-off is there).
    expect(everything).toContain('certificate_rotated');
    expect(everything).not.toContain('PRIVATE KEY');
    for (const line of lines) expect(everything).not.toContain(line);
  });
});
