import { RetryHandlerOptions } from '@microsoft/microsoft-graph-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { demoTenants, type Simulator, SimulatorError, startSimulator } from '../src/index.js';
import {
  caught,
  credential,
  decodeJwt,
  entraFailure,
  GRAPH_SCOPE,
  type GraphClientError,
  graphClient,
  trust,
} from './helpers.js';

const contoso = demoTenants().find((d) => d.key === 'contoso')!;
const c = contoso.credentials;
const allStaff = contoso.groups.find((g) => g.displayName === 'All Staff')!.id;
const engineering = contoso.groups.find((g) => g.displayName === 'Engineering')!.id;
const noRetry = () => [new RetryHandlerOptions(0, 0)];
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

const getGroup = (retries = false) => {
  const req = graphClient(sim, token).api(`/groups/${allStaff}`).select('id');
  return (retries ? req : req.middlewareOptions(noRetry())).get();
};

describe('throttling and server errors', () => {
  it('429 with Retry-After for the next N requests, then recovers', async () => {
    sim.setFaults(c.domain, { throttle: { count: 2, retryAfterSeconds: 7 } });
    for (let i = 0; i < 2; i++) {
      const err = (await caught(getGroup())) as GraphClientError;
      expect(err.statusCode).toBe(429);
      expect(err.code).toBe('TooManyRequests');
      expect(err.headers?.get('retry-after')).toBe('7');
    }
    expect((await getGroup()).id).toBe(allStaff);
    expect(sim.faults(c.domain).requestsSinceSet).toBe(3);
  });

  it('429 on every Kth request', async () => {
    sim.setFaults(c.tenantId, { throttle: { every: 3, retryAfterSeconds: 1 } });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      try {
        await getGroup();
        statuses.push(200);
      } catch (err) {
        statuses.push((err as GraphClientError).statusCode);
      }
    }
    expect(statuses).toEqual([200, 200, 429, 200, 200, 429, 200]);
  });

  it('the Graph client honours Retry-After and gets through', async () => {
    sim.setFaults(c.domain, { throttle: { count: 1, retryAfterSeconds: 1 } });
    const before = sim.requests().at(-1)?.seq ?? 0;
    expect((await getGroup(true)).id).toBe(allStaff);
    const tail = sim.requests({ afterSeq: before });
    expect(tail.map((r) => [r.status, r.fault])).toEqual([
      [429, 'throttle'],
      [200, null],
    ]);
  });

  it('503 with Retry-After', async () => {
    sim.setFaults(c.domain, { unavailable: { count: 1, retryAfterSeconds: 3 } });
    const err = (await caught(getGroup())) as GraphClientError;
    expect(err.statusCode).toBe(503);
    expect(err.code).toBe('serviceNotAvailable');
    expect(err.headers?.get('retry-after')).toBe('3');
    expect((await getGroup()).id).toBe(allStaff);
  });

  it('500', async () => {
    sim.setFaults(c.domain, { serverError: { count: 1 } });
    const err = (await caught(getGroup())) as GraphClientError;
    expect(err.statusCode).toBe(500);
    expect(err.code).toBe('generalException');
    const counters = sim.counters();
    expect(counters.serverErrors).toBeGreaterThanOrEqual(1);
  });

  it('added latency still answers correctly', async () => {
    sim.setFaults(c.domain, { latencyMs: 30 });
    expect((await getGroup()).id).toBe(allStaff);
  });
});

describe('dropped connections', () => {
  it('resets the connection part-way through a page; the next request works', async () => {
    sim.setFaults(c.domain, { resetConnection: { count: 1 } });
    const resetsBefore = sim.counters().connectionResets;
    const err = await caught(
      graphClient(sim, token)
        .api(`/groups/${allStaff}/transitiveMembers/microsoft.graph.user`)
        .middlewareOptions(noRetry())
        .get(),
    );
    // The headers said 200; the body never completed. The Graph client reports
    // undici's "terminated" as a GraphError with the 200 status and code TypeError.
    expect(err).toMatchObject({ statusCode: 200, code: 'TypeError', message: 'terminated' });
    expect(sim.counters().connectionResets).toBe(resetsBefore + 1);
    expect(sim.requests().at(-1)).toMatchObject({ status: 200, fault: 'reset' });
    const page = await graphClient(sim, token)
      .api(`/groups/${allStaff}/transitiveMembers/microsoft.graph.user`)
      .get();
    expect(page.value.length).toBeGreaterThan(0);
  });
});

describe('directory changes', () => {
  it('a group deleted between two pages: the next page is 404', async () => {
    sim.setFaults(c.domain, { deleteGroups: [{ groupId: allStaff, afterRequests: 1 }] });
    const client = graphClient(sim, token);
    const first = await client
      .api(`/groups/${allStaff}/transitiveMembers/microsoft.graph.user`)
      .top(5)
      .get();
    expect(first['@odata.nextLink']).toBeDefined();
    const err = (await caught(
      client.api(first['@odata.nextLink']).middlewareOptions(noRetry()).get(),
    )) as GraphClientError;
    expect(err.statusCode).toBe(404);
    expect(err.code).toBe('Request_ResourceNotFound');
  });

  it('a group deleted immediately is gone, nested members vanish, and clearing faults restores it', async () => {
    sim.setFaults(c.domain, { deleteGroups: [{ groupId: engineering }] });
    expect(
      (
        (await caught(
          graphClient(sim, token).api(`/groups/${engineering}`).get(),
        )) as GraphClientError
      ).statusCode,
    ).toBe(404);
    const withoutEngineering = await graphClient(sim, token)
      .api(`/groups/${allStaff}/transitiveMembers/microsoft.graph.user`)
      .select('id')
      .get();
    sim.clearFaults(c.domain);
    expect(
      (await graphClient(sim, token).api(`/groups/${engineering}`).select('id').get()).id,
    ).toBe(engineering);
    const withEngineering = await graphClient(sim, token)
      .api(`/groups/${allStaff}/transitiveMembers/microsoft.graph.user`)
      .select('id')
      .get();
    expect(withEngineering.value.length).toBeGreaterThan(withoutEngineering.value.length);
  });
});

describe('credential and consent changes', () => {
  it('a secret that expires now: AADSTS7000222 on the next token request', async () => {
    sim.setFaults(c.domain, { expireSecrets: {} });
    const err = await caught(
      credential(sim, c.tenantId, c.clientId, c.clientSecret).getToken(GRAPH_SCOPE),
    );
    expect(entraFailure(err)).toMatchObject({ error: 'invalid_client', code: 7000222 });
    sim.clearFaults(c.domain);
    await expect(
      credential(sim, c.tenantId, c.clientId, c.clientSecret).getToken(GRAPH_SCOPE),
    ).resolves.toBeDefined();
  });

  it('consent revoked: new tokens carry no roles and Graph answers 403; tokens already issued keep theirs', async () => {
    sim.setFaults(c.domain, { revokeConsent: {} });
    const fresh = (
      await credential(sim, c.tenantId, c.clientId, c.clientSecret).getToken(GRAPH_SCOPE)
    ).token;
    expect(decodeJwt(fresh)).not.toHaveProperty('roles');
    const err = (await caught(
      graphClient(sim, fresh).api(`/groups/${allStaff}`).get(),
    )) as GraphClientError;
    expect(err.statusCode).toBe(403);
    expect(err.code).toBe('Authorization_RequestDenied');
    expect((await getGroup()).id).toBe(allStaff);
  });

  it('roles replaced: new tokens carry exactly the new set', async () => {
    const roles = ['User.Read.All', 'GroupMember.Read.All', 'Directory.Read.All'];
    sim.setFaults(c.domain, { replaceRoles: { roles } });
    const fresh = (
      await credential(sim, c.tenantId, c.clientId, c.clientSecret).getToken(GRAPH_SCOPE)
    ).token;
    expect(decodeJwt(fresh).roles).toEqual(roles);
  });

  it('rejects invalid fault specs and unknown tenants with coded errors', () => {
    const bad = (() => {
      try {
        sim.setFaults(c.domain, { throttle: { count: 1, every: 2 } });
      } catch (e) {
        return e;
      }
    })();
    expect(bad).toBeInstanceOf(SimulatorError);
    expect((bad as SimulatorError).code).toBe('invalid_fault_spec');
    expect(() => sim.setFaults('nobody.example', {})).toThrow(
      expect.objectContaining({ code: 'tenant_not_found' }),
    );
  });
});
