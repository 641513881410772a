import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RetryHandlerOptions } from '@microsoft/microsoft-graph-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RequestLogEntry,
  type Simulator,
  type SimulatorCounters,
  startSimulator,
} from '../src/index.js';
import {
  caught,
  credential,
  entraFailure,
  GRAPH_SCOPE,
  type GraphClientError,
  graphClient,
  trust,
} from './helpers.js';

const TENANT_ID = '7c1e4b2a-3d5f-4a6e-9b8c-1d2e3f4a5b6c';
const DOMAIN = 'controltest.onmicrosoft.com';
const APP_ID = '2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e';
const SECRET = 'control-test-secret';
const GROUP = '4a5b6c7d-8e9f-4a0b-8c1d-2e3f4a5b6c7d';

const fixture = {
  kind: 'fixture',
  tenantId: TENANT_ID,
  displayName: 'Control Test',
  domains: [DOMAIN],
  users: [
    {
      id: 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d',
      displayName: 'Ada One',
      userPrincipalName: `ada@${DOMAIN}`,
    },
    {
      id: 'b1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d',
      displayName: 'Bo Two',
      userPrincipalName: `bo@${DOMAIN}`,
      accountEnabled: false,
    },
  ],
  groups: [
    {
      id: GROUP,
      displayName: 'Team',
      members: ['a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d', 'b1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d'],
    },
  ],
  applications: [
    {
      appId: APP_ID,
      roles: ['User.Read.All', 'GroupMember.Read.All'],
      secrets: [
        {
          keyId: '5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f',
          value: SECRET,
          expiresAt: '2099-12-31T00:00:00Z',
        },
      ],
    },
  ],
};

let sim: Simulator;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'entra-sim-'));
  sim = await startSimulator({ caPath: join(dir, 'nested', 'ca.pem') });
  trust(sim);
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

async function control(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${sim.url}/_sim${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

describe('control API', () => {
  it('reports health', async () => {
    expect(await control('GET', '/health')).toEqual({
      status: 200,
      json: { status: 'ok', url: sim.url },
    });
  });

  it('adds a tenant, rejects a duplicate and an invalid one', async () => {
    const added = await control('POST', '/tenants', fixture);
    expect(added.status).toBe(201);
    expect(added.json).toMatchObject({
      tenantId: TENANT_ID,
      domains: [DOMAIN],
      userCount: 2,
      kind: 'fixture',
    });
    expect((await control('POST', '/tenants', fixture)).status).toBe(409);
    const invalid = await control('POST', '/tenants', {
      ...fixture,
      tenantId: 'nope',
      domains: [],
    });
    expect(invalid.status).toBe(400);
    expect(invalid.json).toMatchObject({ error: 'invalid_tenant_input' });
    const paths = (invalid.json as { issues: { path: string }[] }).issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['tenantId', 'domains']));
    const listed = (await control('GET', '/tenants')).json as { tenants: { tenantId: string }[] };
    expect(listed.tenants.map((t) => t.tenantId)).toContain(TENANT_ID);
  });

  it('switches faults over HTTP and the Graph client sees them', async () => {
    const token = (await credential(sim, DOMAIN, APP_ID, SECRET).getToken(GRAPH_SCOPE)).token;
    const set = await control('PUT', `/tenants/${DOMAIN}/faults`, {
      throttle: { count: 1, retryAfterSeconds: 2 },
    });
    expect(set).toMatchObject({
      status: 200,
      json: { faults: { throttle: { count: 1, retryAfterSeconds: 2 } }, requestsSinceSet: 0 },
    });
    const err = (await caught(
      graphClient(sim, token)
        .api(`/groups/${GROUP}`)
        .middlewareOptions([new RetryHandlerOptions(0, 0)])
        .get(),
    )) as GraphClientError;
    expect(err.statusCode).toBe(429);
    expect(err.headers?.get('retry-after')).toBe('2');
    expect((await control('GET', `/tenants/${TENANT_ID}/faults`)).json).toMatchObject({
      requestsSinceSet: 1,
    });

    expect(
      (await control('PUT', `/tenants/${DOMAIN}/faults`, { deleteGroups: [{ groupId: GROUP }] }))
        .status,
    ).toBe(200);
    expect(
      ((await caught(graphClient(sim, token).api(`/groups/${GROUP}`).get())) as GraphClientError)
        .statusCode,
    ).toBe(404);
    expect((await control('DELETE', `/tenants/${DOMAIN}/faults`)).status).toBe(204);
    expect((await graphClient(sim, token).api(`/groups/${GROUP}`).select('id').get()).id).toBe(
      GROUP,
    );

    const bad = await control('PUT', `/tenants/${DOMAIN}/faults`, {
      throttle: { retryAfterSeconds: -1 },
    });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ error: 'invalid_fault_spec' });
    expect((await control('PUT', '/tenants/nobody.example/faults', {})).status).toBe(404);
  });

  it('reads the request log and counters; clearing the log keeps the counters', async () => {
    const log = (await control('GET', `/requests?tenant=${TENANT_ID}&kind=graph`)).json as {
      entries: RequestLogEntry[];
    };
    const throttled = log.entries.find((e) => e.fault === 'throttle')!;
    expect(throttled).toMatchObject({
      method: 'GET',
      status: 429,
      tenantId: TENANT_ID,
      appId: APP_ID,
      graphError: 'TooManyRequests',
    });
    expect(throttled.path).toBe(`/v1.0/groups/${GROUP}`);
    expect(log.entries.every((e) => e.kind === 'graph')).toBe(true);
    const limited = (await control('GET', '/requests?limit=2')).json as {
      entries: RequestLogEntry[];
    };
    expect(limited.entries).toHaveLength(2);

    const before = (await control('GET', '/counters')).json as SimulatorCounters;
    expect(before.throttled).toBe(1);
    expect(before.tokensIssued).toBe(1);
    expect((await control('DELETE', '/requests')).status).toBe(204);
    expect(((await control('GET', '/requests')).json as { entries: unknown[] }).entries).toEqual(
      [],
    );
    expect((await control('GET', '/counters')).json).toEqual(before);
  });

  it('keeps only the newest entries when the log is full', async () => {
    const small = await startSimulator({ requestLogSize: 3 });
    trust(small);
    try {
      for (let i = 0; i < 5; i++) await fetch(`${small.url}/v1.0/groups/${GROUP}?i=${i}`);
      expect(small.requests().map((r) => r.path)).toEqual(
        [2, 3, 4].map((i) => `/v1.0/groups/${GROUP}?i=${i}`),
      );
      expect(small.requests().map((r) => r.seq)).toEqual([3, 4, 5]);
      expect(small.counters().graphRequests).toBe(5);
    } finally {
      await small.close();
    }
  });

  it("reads and changes settings, a tenant's token lifetime, and invalidates its tokens", async () => {
    expect((await control('GET', '/settings')).json).toEqual({
      clockSkewSeconds: 300,
      tokenLifetimeSeconds: 3599,
      unknownTenantFailsAt: 'metadata_discovery',
      entraClockOffsetSeconds: 0,
      clientAssertionReplay: 'accept',
    });
    const skew = await control('PATCH', '/settings', { clockSkewSeconds: 0 });
    expect(skew).toMatchObject({ status: 200, json: { clockSkewSeconds: 0 } });
    expect(
      (await control('PATCH', '/settings', { clockSkewSeconds: -1, bogus: true })).json,
    ).toMatchObject({ error: 'invalid_settings' });
    expect((await control('GET', `/tenants/${DOMAIN}/settings`)).json).toEqual({
      tokenLifetimeSeconds: null,
    });
    expect(
      await control('PATCH', `/tenants/${DOMAIN}/settings`, { tokenLifetimeSeconds: 90 }),
    ).toEqual({ status: 200, json: { tokenLifetimeSeconds: 90 } });
    expect((await control('GET', '/tenants')).json).toMatchObject({
      tenants: expect.arrayContaining([
        expect.objectContaining({ tenantId: TENANT_ID, tokenLifetimeSeconds: 90 }),
      ]),
    });
    const token = (await credential(sim, DOMAIN, APP_ID, SECRET).getToken(GRAPH_SCOPE)).token;
    const read = () =>
      graphClient(sim, token)
        .api(`/groups/${GROUP}`)
        .select('id')
        .middlewareOptions([new RetryHandlerOptions(0, 0)])
        .get();
    expect((await read()).id).toBe(GROUP);
    expect((await control('POST', `/tenants/${DOMAIN}/invalidate-tokens`)).status).toBe(204);
    expect(((await caught(read())) as GraphClientError).statusCode).toBe(401);
    expect((await control('POST', '/tenants/nobody.example/invalidate-tokens')).status).toBe(404);
    // Reset puts the settings back as the simulator started.
    expect((await control('POST', '/reset')).status).toBe(204);
    expect((await control('GET', '/settings')).json).toMatchObject({ clockSkewSeconds: 300 });
    expect((await control('GET', `/tenants/${DOMAIN}/settings`)).json).toEqual({
      tokenLifetimeSeconds: null,
    });
  });

  it('removes a tenant: it is then unknown, at discovery or at the token endpoint', async () => {
    expect((await control('DELETE', `/tenants/${TENANT_ID}`)).status).toBe(204);
    expect((await control('DELETE', `/tenants/${TENANT_ID}`)).status).toBe(404);
    const discovery = await fetch(`${sim.url}/${DOMAIN}/v2.0/.well-known/openid-configuration`);
    expect(discovery.status).toBe(400);
    expect(await discovery.json()).toMatchObject({ error_codes: [90002] });
    await control('PATCH', '/settings', { unknownTenantFailsAt: 'token_endpoint' });
    try {
      const err = await caught(credential(sim, DOMAIN, APP_ID, SECRET).getToken(GRAPH_SCOPE));
      expect(entraFailure(err).code).toBe(90002);
    } finally {
      await control('PATCH', '/settings', { unknownTenantFailsAt: 'metadata_discovery' });
    }
  });

  it('reset clears faults and the log', async () => {
    await control('POST', '/tenants', fixture);
    await control('PUT', `/tenants/${DOMAIN}/faults`, { latencyMs: 5 });
    expect((await control('POST', '/reset')).status).toBe(204);
    expect((await control('GET', `/tenants/${DOMAIN}/faults`)).json).toMatchObject({ faults: {} });
    expect(
      ((await control('GET', '/requests')).json as { entries: unknown[] }).entries,
    ).toHaveLength(0);
  });
});

describe('CA file for other processes', () => {
  it('writes the CA where asked; a child process trusts it through NODE_EXTRA_CA_CERTS', async () => {
    expect(sim.caPath).toBe(join(dir, 'nested', 'ca.pem'));
    expect(readFileSync(sim.caPath!, 'utf8')).toBe(sim.caCertPem);
    const script = `fetch(${JSON.stringify(`${sim.url}/_sim/health`)}).then((r) => r.json()).then((j) => console.log(j.status))`;
    const run = (env: NodeJS.ProcessEnv) =>
      promisify(execFile)(process.execPath, ['-e', script], { env });
    const { NODE_EXTRA_CA_CERTS: _, ...base } = process.env;
    const { stdout } = await run({ ...base, NODE_EXTRA_CA_CERTS: sim.caPath! });
    expect(stdout.trim()).toBe('ok');
    await expect(run(base)).rejects.toThrow();
  });
});
