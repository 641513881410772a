import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { demoTenants, type Simulator, startSimulator } from '../src/index.js';
import { credential, GRAPH_SCOPE, trust } from './helpers.js';

const contoso = demoTenants().find((d) => d.key === 'contoso')!;
const c = contoso.credentials;
const allStaff = contoso.groups.find((g) => g.displayName === 'All Staff')!.id;
const engineering = contoso.groups.find((g) => g.displayName === 'Engineering')!.id;
const unknownGroup = '0b6f2a5e-9b8e-4d55-8a61-3c1d2e4f5a6b';
let sim: Simulator;
let token: string;

beforeAll(async () => {
  sim = await startSimulator({ tenants: [contoso.tenant] });
  trust(sim);
  token = (await credential(sim, c.tenantId, c.clientId, c.clientSecret).getToken(GRAPH_SCOPE))
    .token;
});
afterEach(() => sim.clearFaults());
afterAll(() => sim.close());

interface BatchAnswer {
  id: string;
  status: number;
  headers: Record<string, string>;
  body: { id?: string; displayName?: string; error?: { code: string } };
}

async function batch(body: unknown, authorization = `Bearer ${token}`) {
  const res = await fetch(`${sim.graphBaseUrl}/v1.0/$batch`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const json = (await res.json()) as { responses?: BatchAnswer[]; error?: { code: string } };
  const byId = new Map((json.responses ?? []).map((r) => [r.id, r]));
  return { status: res.status, json, byId };
}

const getGroup = (id: string, groupId: string) => ({
  id,
  method: 'GET',
  url: `/groups/${groupId}?$select=id,displayName`,
});

describe('POST /v1.0/$batch', () => {
  it('answers each request inside by its id, with its own status', async () => {
    const before = sim.counters();
    const { status, json, byId } = await batch({
      requests: [
        getGroup('1', allStaff),
        // Relative without the leading slash works too.
        { id: '2', method: 'GET', url: `groups/${engineering}?$select=id,displayName` },
        getGroup('3', unknownGroup),
        getGroup('4', 'not-a-guid'),
      ],
    });
    expect(status).toBe(200);
    expect(json.responses).toHaveLength(4);
    expect(byId.get('1')).toMatchObject({
      status: 200,
      body: { id: allStaff, displayName: 'All Staff' },
    });
    expect(byId.get('1')?.headers['Content-Type']).toMatch(/^application\/json/);
    expect(byId.get('2')).toMatchObject({ status: 200, body: { id: engineering } });
    expect(byId.get('3')).toMatchObject({
      status: 404,
      body: { error: { code: 'Request_ResourceNotFound' } },
    });
    expect(byId.get('4')).toMatchObject({
      status: 400,
      body: { error: { code: 'Request_BadRequest' } },
    });

    // One HTTP request; the four inside logged on their own, with the batch's seq.
    const after = sim.counters();
    expect(after.graphRequests - before.graphRequests).toBe(1);
    expect(after.batchedRequests - before.batchedRequests).toBe(4);
    const entries = sim.requests({ tenantId: c.tenantId }).slice(-5);
    const outer = entries.find((e) => e.kind === 'graph-batch');
    expect(outer).toMatchObject({ method: 'POST', path: '/v1.0/$batch', status: 200 });
    const inner = entries.filter((e) => e.batchSeq === outer?.seq);
    expect(inner.map((e) => e.method)).toEqual(['GET', 'GET', 'GET', 'GET']);
    expect(inner.map((e) => e.path).sort()).toContain(
      `/v1.0/groups/${allStaff}?$select=id,displayName`,
    );
  });

  it('applies faults per request inside: a throttled one is a 429 with its own Retry-After', async () => {
    sim.setFaults(c.domain, { throttle: { count: 2, retryAfterSeconds: 3 } });
    const { status, json } = await batch({
      requests: [getGroup('a', allStaff), getGroup('b', engineering), getGroup('c', allStaff)],
    });
    expect(status).toBe(200);
    const statuses = (json.responses ?? []).map((r) => r.status).sort();
    expect(statuses).toEqual([200, 429, 429]);
    for (const r of json.responses ?? []) {
      if (r.status !== 429) continue;
      expect(r.headers['Retry-After']).toBe('3');
      expect(r.body.error?.code).toBe('TooManyRequests');
    }
    expect(sim.faults(c.domain).requestsSinceSet).toBe(3);
    expect(sim.requests({ tenantId: c.tenantId }).filter((e) => e.status === 429)).toHaveLength(2);
  });

  it('refuses a write inside (405) and counts it as a write attempt', async () => {
    const writes = sim.writeAttempts();
    const { status, byId } = await batch({
      requests: [
        getGroup('1', allStaff),
        {
          id: '2',
          method: 'PATCH',
          url: `/groups/${allStaff}`,
          headers: { 'Content-Type': 'application/json' },
          body: { displayName: 'Renamed' },
        },
      ],
    });
    expect(status).toBe(200);
    expect(byId.get('1')?.status).toBe(200);
    expect(byId.get('2')?.status).toBe(405);
    expect(sim.writeAttempts()).toBe(writes + 1);
    expect(sim.requests({ kind: 'graph-write' }).at(-1)).toMatchObject({
      method: 'PATCH',
      path: `/v1.0/groups/${allStaff}`,
    });
  });

  it('refuses a batch it cannot take as a whole with 400, and an unauthenticated one with 401', async () => {
    const many = Array.from({ length: 21 }, (_, i) => getGroup(String(i), allStaff));
    expect(await batch({ requests: many })).toMatchObject({
      status: 400,
      json: { error: { code: 'BadRequest' } },
    });
    expect(
      (await batch({ requests: [getGroup('1', allStaff), getGroup('1', engineering)] })).status,
    ).toBe(400);
    expect((await batch('{"requests": [')).status).toBe(400);
    expect((await batch({ requests: [] })).status).toBe(400);
    expect(
      (await batch({ requests: [{ ...getGroup('1', allStaff), url: 'https://evil/x' }] })).status,
    ).toBe(400);
    expect((await batch({ requests: [getGroup('1', allStaff)] }, 'Bearer nope')).status).toBe(401);
  });
});
