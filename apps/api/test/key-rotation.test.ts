/**
 * Rotating SECRET_ENCRYPTION_KEY end to end: the API in front, the real
 * worker behind it, the Entra/Graph simulator over HTTPS, one Redis, and the
 * real `pnpm secrets:reencrypt` entry as a child process. A sync before the
 * rotation, syncs while both keys are configured, the command, and syncs
 * once the old key is gone.
 */
import { createCipheriv, randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Simulator } from '@pinnacle/entra-simulator';
import { createLogger } from '@pinnacle/logging';
import { keyIdOf, orgKeys, storedIntegrationSchema } from '@pinnacle/redis-store';
import { spawnNodeProcess } from '@pinnacle/testing';
import { type RedisFixture, test } from '@pinnacle/testing/fixtures';
import { startWorkerRole, type WorkerRole } from '@pinnacle/worker';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { signToken, startTestApi, syncViaApi, type TestApi } from './helpers.js';

const command = fileURLToPath(new URL('../src/commands/reencrypt-secrets.ts', import.meta.url));
const OLD_KEY = randomBytes(32).toString('base64');
const NEW_KEY = randomBytes(32).toString('base64');
/** A key no process is ever given: what a lost key looks like. */
const LOST_KEY = randomBytes(32).toString('base64');
const idOf = (key: string) => keyIdOf(Buffer.from(key, 'base64'));
const DAY = 86_400_000;

let r: RedisFixture;
let sim: Simulator;
let token: string;
let api: TestApi | undefined;
let worker: WorkerRole | undefined;
const logs: string[] = [];

interface Tenant {
  tenantId: string;
  clientId: string;
  secret: string;
  groupId: string;
}

function addTenant(users = 12): Tenant {
  const tenantId = randomUUID();
  const clientId = randomUUID();
  const secret = `Rot~${randomUUID()}`;
  const groupId = randomUUID();
  const domain = `rot${tenantId.slice(0, 8)}.onmicrosoft.com`;
  const members = Array.from({ length: users }, (_, i) => ({
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
    displayName: 'Rotation',
    domains: [domain],
    applications: [
      {
        appId: clientId,
        displayName: 'Pinnacle Entra Sync',
        roles: ['User.Read.All', 'GroupMember.Read.All'],
        secrets: [
          { keyId: randomUUID(), value: secret, expiresAt: new Date(Date.now() + 90 * DAY) },
        ],
      },
    ],
    users: members,
    groups: [
      {
        id: groupId,
        displayName: 'All',
        description: null,
        members: members.map((u) => u.id),
        memberGroups: [],
      },
    ],
  });
  return { tenantId, clientId, secret, groupId };
}

/** Starts the api and the worker on the given keys (the state of a deployment). */
async function deploy(keys: { current: string; previous?: string[] }): Promise<void> {
  await worker?.close();
  await api?.close();
  const previous = keys.previous?.length ? { SECRET_DECRYPTION_KEYS: keys.previous } : {};
  // As a deployment sets them: the same for every role.
  const retries = { SYNC_ATTEMPTS: 2, SYNC_BACKOFF_MS: 50 };
  api = await startTestApi(r, {
    env: { SECRET_ENCRYPTION_KEY: keys.current, ...previous, ...retries },
  });
  worker = startWorkerRole(
    {
      ...r.env,
      SECRET_ENCRYPTION_KEY: keys.current,
      ...previous,
      ENTRA_AUTHORITY_HOST: sim.authorityHost,
      GRAPH_BASE_URL: sim.graphBaseUrl,
      SYNC_CONCURRENCY: 4,
      SYNC_GROUP_CONCURRENCY: 2,
      ...retries,
      SYNC_LOCK_DURATION_MS: 30_000,
      SYNC_STALLED_INTERVAL_MS: 5_000,
      GRAPH_TIMEOUT_MS: 10_000,
    },
    createLogger({
      name: 'worker',
      level: 'info',
      destination: { write: (line: string) => void logs.push(line) },
    }),
  );
}

function http(): TestApi {
  if (!api) throw new Error('not deployed');
  return api;
}

async function configure(orgId: string, t: Tenant): Promise<void> {
  const res = await http().request('PUT', `/api/v1/orgs/${orgId}/integration`, {
    token,
    body: {
      tenantId: t.tenantId,
      clientId: t.clientId,
      clientSecret: t.secret,
      clientSecretExpiresAt: new Date(Date.now() + 90 * DAY).toISOString(),
      groupIds: [t.groupId],
      schedule: { enabled: false, every: '6h' },
    },
  });
  expect([200, 201]).toContain(res.status);
}

/**
 * An org on certificates: one made through the API (its key sealed with the
 * key current then) and uploaded to the simulated app as its .cer.
 */
async function configureWithCertificate(orgId: string, t: Tenant): Promise<void> {
  const res = await http().request('PUT', `/api/v1/orgs/${orgId}/integration`, {
    token,
    body: {
      tenantId: t.tenantId,
      clientId: t.clientId,
      groupIds: [t.groupId],
      authMethod: 'certificate',
    },
  });
  expect(res.status).toBe(201);
  const made = await http().request('POST', `/api/v1/orgs/${orgId}/integration/certificates`, {
    token,
  });
  expect(made.status).toBe(201);
  const { certificatePem } = z.object({ certificatePem: z.string() }).parse(made.json);
  sim.addCertificate(t.tenantId, t.clientId, { certificatePem });
}

const syncNow = (orgId: string) => syncViaApi(http(), token, orgId);

/** The sealed client secret of an org, straight from Redis. */
async function sealedOf(orgId: string): Promise<string> {
  const json = await r.redis.get(orgKeys(`${r.prefix}:data`, orgId).integration);
  const sealed = storedIntegrationSchema.parse(JSON.parse(json ?? 'null')).secret?.sealed;
  if (!sealed) throw new Error(`no secret stored for ${orgId}`);
  return sealed;
}

/** Replaces an org's sealed secret in Redis, as if written by another version or key. */
async function overwriteSealed(orgId: string, sealed: string): Promise<void> {
  const key = orgKeys(`${r.prefix}:data`, orgId).integration;
  const stored = storedIntegrationSchema.parse(JSON.parse((await r.redis.get(key)) ?? 'null'));
  await r.redis.set(key, JSON.stringify({ ...stored, secret: { ...stored.secret, sealed } }));
}

/** `v1.<iv>.<tag>.<ct>`: how every release before key IDs sealed a secret. */
function legacySeal(base64Key: string, plaintext: string, orgId: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(base64Key, 'base64'), iv);
  cipher.setAAD(Buffer.from(orgId, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', ...[iv, cipher.getAuthTag(), ct].map((p) => p.toString('base64url'))].join('.');
}

/** Runs `pnpm secrets:reencrypt`'s entry with the given keys; its exit code and JSON lines. */
async function reencrypt(keys: { current: string; previous?: string[] }) {
  const child = spawnNodeProcess(command, {
    env: {
      DEMO_MODE: undefined,
      NODE_ENV: 'production',
      ...r.processEnv,
      SECRET_ENCRYPTION_KEY: keys.current,
      SECRET_DECRYPTION_KEYS: keys.previous?.join(','),
      LOG_LEVEL: 'info',
    },
  });
  const exit = await child.exited;
  const lines = child.stdoutLines().map((l) => JSON.parse(l) as Record<string, unknown>);
  const summary = lines.find((l) => String(l.msg).startsWith('secrets re-encrypted'));
  return {
    code: exit.code,
    lines,
    summary,
    text: [...child.stdoutLines(), ...child.stderrLines()].join('\n'),
  };
}

const orgs = {
  before: 'org-rot-before',
  legacy: 'org-rot-legacy',
  during: 'org-rot-during',
  certificate: 'org-rot-certificate',
};
const tenants: Record<string, Tenant> = {};

test.beforeAll(async ({ redis, simulator }) => {
  r = redis;
  sim = simulator;
  token = await signToken({ org: '*' });
  for (const orgId of Object.values(orgs)) tenants[orgId] = addTenant();
});
afterAll(async () => {
  await worker?.close();
  await api?.close();
});

describe('rotating SECRET_ENCRYPTION_KEY', () => {
  it('syncs before the rotation, on the old key', async () => {
    await deploy({ current: OLD_KEY });
    await configure(orgs.before, tenants[orgs.before] as Tenant);
    await configure(orgs.legacy, tenants[orgs.legacy] as Tenant);
    // One secret as stored before key IDs existed (still under the old key).
    await overwriteSealed(
      orgs.legacy,
      legacySeal(OLD_KEY, (tenants[orgs.legacy] as Tenant).secret, orgs.legacy),
    );
    expect(await sealedOf(orgs.before)).toMatch(new RegExp(`^v2\\.${idOf(OLD_KEY)}\\.`));
    // And an org on certificates, its private key sealed with the old key.
    await configureWithCertificate(orgs.certificate, tenants[orgs.certificate] as Tenant);
    for (const orgId of [orgs.before, orgs.legacy, orgs.certificate]) {
      expect(await syncNow(orgId)).toMatchObject({ status: 'succeeded', stats: { users: 12 } });
    }
  });

  it('keeps syncing once the new key is current and the old one only decrypts', async () => {
    await deploy({ current: NEW_KEY, previous: [OLD_KEY] });
    // Old secrets and keys still open...
    for (const orgId of [orgs.before, orgs.legacy, orgs.certificate]) {
      expect((await syncNow(orgId)).status).toBe('succeeded');
    }
    // ...and whatever is saved now is sealed with the new key.
    await configure(orgs.during, tenants[orgs.during] as Tenant);
    expect(await sealedOf(orgs.during)).toMatch(new RegExp(`^v2\\.${idOf(NEW_KEY)}\\.`));
    expect((await syncNow(orgs.during)).status).toBe('succeeded');
  });

  it('re-encrypts every stored secret with the new key and reports the counts', async () => {
    const run = await reencrypt({ current: NEW_KEY, previous: [OLD_KEY] });
    expect(run.code, run.text).toBe(0);
    expect(run.summary).toMatchObject({
      currentKeyId: idOf(NEW_KEY),
      orgs: 4,
      reencrypted: 3,
      alreadyCurrent: 1,
      failed: 0,
      failedOrgIds: [],
      byKind: {
        'client-secret': { reencrypted: 2, alreadyCurrent: 1, failed: 0 },
        'certificate-key': { reencrypted: 1, alreadyCurrent: 0, failed: 0 },
      },
    });
    for (const orgId of [orgs.before, orgs.legacy, orgs.during]) {
      expect(await sealedOf(orgId)).toMatch(new RegExp(`^v2\\.${idOf(NEW_KEY)}\\.`));
    }
    const certificateKeys = await r.redis.hvals(
      orgKeys(`${r.prefix}:data`, orgs.certificate).certificateKeys,
    );
    expect(certificateKeys).toHaveLength(1);
    expect(certificateKeys[0]).toMatch(new RegExp(`^v2\\.${idOf(NEW_KEY)}\\.`));
    expect(run.text).not.toContain('PRIVATE KEY');
    // Neither a secret nor a key in its output.
    for (const value of [OLD_KEY, NEW_KEY, ...Object.values(tenants).map((t) => t.secret)]) {
      expect(run.text).not.toContain(value);
    }
    // Run again: nothing left to do.
    const again = await reencrypt({ current: NEW_KEY, previous: [OLD_KEY] });
    expect(again.summary).toMatchObject({ reencrypted: 0, alreadyCurrent: 4, failed: 0 });
  });

  it('keeps syncing with the old key gone', async () => {
    await deploy({ current: NEW_KEY });
    for (const orgId of Object.values(orgs)) {
      expect(await syncNow(orgId)).toMatchObject({ status: 'succeeded', stats: { users: 12 } });
    }
    const users = await http().request('GET', `/api/v1/orgs/${orgs.before}/directory/users`, {
      token,
    });
    expect((users.json as { items: unknown[] }).items).toHaveLength(12);
  });

  it('names an org whose secret no configured key decrypts; its sync fails internal_error', async () => {
    const t = addTenant();
    const orgId = 'org-rot-lost';
    await configure(orgId, t);
    await overwriteSealed(orgId, legacySeal(LOST_KEY, t.secret, orgId));
    const run = await reencrypt({ current: NEW_KEY });
    expect(run.code).toBe(2);
    expect(run.summary).toMatchObject({
      orgs: 5,
      reencrypted: 0,
      alreadyCurrent: 4,
      failed: 1,
      failedOrgIds: [orgId],
    });
    expect(run.lines).toContainEqual(
      expect.objectContaining({ orgId, kind: 'client-secret', reason: 'unauthenticated' }),
    );
    expect(run.text).not.toContain(t.secret);
    expect(run.text).not.toContain(LOST_KEY);
    const failed = await syncNow(orgId);
    expect(failed).toMatchObject({ status: 'failed', failure: { code: 'internal_error' } });
    // The other orgs are untouched by it.
    expect((await syncNow(orgs.before)).status).toBe('succeeded');
  });

  it('never logs a secret', () => {
    const all = [...logs, ...(api?.logs ?? [])].join('\n');
    for (const t of Object.values(tenants)) expect(all).not.toContain(t.secret);
  });
});
