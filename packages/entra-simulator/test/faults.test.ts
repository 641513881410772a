import { RetryHandlerOptions } from '@microsoft/microsoft-graph-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { jitteredLatency } from '../src/faults.js';
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

  it('any other status, with a Graph error code or as a gateway page without one', async () => {
    sim.setFaults(c.domain, {
      graphError: { count: 1, status: 504, code: 'GatewayTimeout', retryAfterSeconds: 4 },
    });
    const err = (await caught(getGroup())) as GraphClientError;
    expect(err.statusCode).toBe(504);
    expect(err.code).toBe('GatewayTimeout');
    expect(err.headers?.get('retry-after')).toBe('4');
    expect((await getGroup()).id).toBe(allStaff);

    sim.setFaults(c.domain, { graphError: { count: 1, status: 404 } });
    const res = await fetch(`${sim.url}/v1.0/groups/${allStaff}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(await res.text()).toMatch(/<html>/);
    expect(sim.requests().at(-1)).toMatchObject({
      status: 404,
      fault: 'graphError',
      graphError: null,
    });
  });

  it('added latency still answers correctly', async () => {
    sim.setFaults(c.domain, { latencyMs: 30 });
    expect((await getGroup()).id).toBe(allStaff);
  });

  it('jitters latency from a seed: the same seed draws the same delays, by request number', () => {
    const draws = (seed: number) =>
      Array.from({ length: 200 }, (_, n) => jitteredLatency(100, 20, seed, 1, n + 1));
    const a = draws(7);
    expect(draws(7)).toEqual(a);
    expect(draws(8)).not.toEqual(a);
    expect(Math.min(...a)).toBeGreaterThanOrEqual(80);
    expect(Math.max(...a)).toBeLessThanOrEqual(120);
    // Spread over the whole range, not bunched at one end.
    expect(a.filter((ms) => ms < 100).length).toBeGreaterThan(60);
    expect(a.filter((ms) => ms > 100).length).toBeGreaterThan(60);
    expect(jitteredLatency(5, 20, 7, 1, 3)).toBeGreaterThanOrEqual(0);
    expect(jitteredLatency(100, 0, 7, 1, 3)).toBe(100);
  });

  it('delays Entra (discovery and token) by entraLatencyMs', async () => {
    sim.setFaults(c.domain, { entraLatencyMs: 150 });
    const t0 = performance.now();
    await credential(sim, c.tenantId, c.clientId, c.clientSecret).getToken(GRAPH_SCOPE);
    // A fresh credential: metadata discovery, then the token request; a lower
    // bound only (a delay can only add).
    expect(performance.now() - t0).toBeGreaterThanOrEqual(2 * 150 - 5);
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

describe('token lifetime, clock skew and invalidated tokens', () => {
  afterEach(() => sim.reset());
  const group = (t: string) =>
    graphClient(sim, t).api(`/groups/${allStaff}`).select('id').middlewareOptions(noRetry()).get();

  it('issues tokens for the lifetime the tenant sets, else the simulator default', async () => {
    expect(sim.tenantSettings(c.domain)).toEqual({ tokenLifetimeSeconds: null });
    const lifetime = async () => {
      const t = (
        await credential(sim, c.tenantId, c.clientId, c.clientSecret).getToken(GRAPH_SCOPE)
      ).token;
      const { exp, iat } = decodeJwt(t) as { exp: number; iat: number };
      // iat is backdated five minutes, as Entra does.
      return exp - iat - 300;
    };
    expect(await lifetime()).toBe(3599);
    expect(sim.updateTenantSettings(c.domain, { tokenLifetimeSeconds: 120 })).toEqual({
      tokenLifetimeSeconds: 120,
    });
    expect(await lifetime()).toBe(120);
    sim.updateSettings({ tokenLifetimeSeconds: 600 });
    expect(await lifetime()).toBe(120);
    sim.updateTenantSettings(c.domain, { tokenLifetimeSeconds: null });
    expect(await lifetime()).toBe(600);
    expect(() => sim.updateTenantSettings(c.domain, { tokenLifetimeSeconds: 0 })).toThrow(
      expect.objectContaining({ code: 'invalid_settings' }),
    );
  });

  it('accepts a token up to the clock skew past exp (300 s, as Graph), exactly to exp at skew 0', async () => {
    const lapsed = sim.mintAccessToken({
      tenant: c.domain,
      appId: c.clientId,
      expiresInSeconds: -60,
    });
    expect(sim.settings().clockSkewSeconds).toBe(300);
    expect((await group(lapsed)).id).toBe(allStaff);
    sim.updateSettings({ clockSkewSeconds: 0 });
    const err = (await caught(group(lapsed))) as GraphClientError;
    expect(err.statusCode).toBe(401);
    expect(err.code).toBe('InvalidAuthenticationToken');
    expect(err.message).toBe('Lifetime validation failed, the token is expired.');
    expect((await group(token)).id).toBe(allStaff);
  });

  it('invalidates every token issued so far; a credential then needs renewing', async () => {
    const cached = credential(sim, c.tenantId, c.clientId, c.clientSecret);
    const before = (await cached.getToken(GRAPH_SCOPE)).token;
    expect((await group(before)).id).toBe(allStaff);
    sim.invalidateTokens(c.domain);
    for (const old of [before, token]) {
      const err = (await caught(group(old))) as GraphClientError;
      expect(err.statusCode).toBe(401);
      expect(err.message).toBe('Lifetime validation failed, the token is expired.');
    }
    // The credential's cache still holds the old token (no forced refresh exists)...
    expect((await cached.getToken(GRAPH_SCOPE)).token).toBe(before);
    // ...while a new credential object gets a new one, which works.
    const fresh = (
      await credential(sim, c.tenantId, c.clientId, c.clientSecret).getToken(GRAPH_SCOPE)
    ).token;
    expect((await group(fresh)).id).toBe(allStaff);
    token = fresh;
  });

  it('invalidates tokens after N more Graph requests, as a fault', async () => {
    sim.setFaults(c.domain, { invalidateTokens: { afterRequests: 2 } });
    expect((await group(token)).id).toBe(allStaff);
    expect((await group(token)).id).toBe(allStaff);
    expect(((await caught(group(token))) as GraphClientError).statusCode).toBe(401);
    // Clearing faults does not bring old tokens back; new ones work.
    sim.clearFaults(c.domain);
    token = (await credential(sim, c.tenantId, c.clientId, c.clientSecret).getToken(GRAPH_SCOPE))
      .token;
    expect((await group(token)).id).toBe(allStaff);
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

  it('the application disabled in the tenant: AADSTS7000112, unauthorized_client', async () => {
    sim.setFaults(c.domain, { disableApp: { appId: c.clientId } });
    const err = await caught(
      credential(sim, c.tenantId, c.clientId, c.clientSecret).getToken(GRAPH_SCOPE),
    );
    expect(entraFailure(err)).toEqual({ error: 'unauthorized_client', code: 7000112, status: 400 });
    expect((err as Error).message).toContain(
      `AADSTS7000112: Application '${c.clientId}'(Pinnacle Entra Sync) is disabled.`,
    );
    // A wrong secret is still a wrong secret: the client authenticates first.
    const wrong = await caught(
      credential(sim, c.tenantId, c.clientId, 'not-the-secret').getToken(GRAPH_SCOPE),
    );
    expect(entraFailure(wrong).code).toBe(7000215);
  });

  it('blocked by Conditional Access for workload identities: AADSTS53003', async () => {
    sim.setFaults(c.domain, { blockByConditionalAccess: {} });
    const err = await caught(
      credential(sim, c.tenantId, c.clientId, c.clientSecret).getToken(GRAPH_SCOPE),
    );
    // MSAL reads invalid_grant as "interaction required" and keeps no status: the wire has it.
    expect(entraFailure(err)).toMatchObject({ error: 'invalid_grant', code: 53003 });
    const res = await fetch(`${sim.url}/${c.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: c.clientId,
        client_secret: c.clientSecret,
        scope: GRAPH_SCOPE,
        grant_type: 'client_credentials',
      }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      error: 'invalid_grant',
      error_codes: [53003],
      suberror: 'message_only',
    });
    expect(body.error_description).toMatch(
      /^AADSTS53003: Access has been blocked by Conditional Access policies\. The access policy does not allow token issuance\./,
    );
  });

  it('Entra temporarily unavailable: 503 AADSTS90033 with Retry-After at the token endpoint and discovery', async () => {
    sim.setFaults(c.domain, { entraUnavailable: { count: 1, retryAfterSeconds: 2 } });
    const request = () =>
      fetch(`${sim.url}/${c.domain}/oauth2/v2.0/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          client_id: c.clientId,
          client_secret: c.clientSecret,
          scope: GRAPH_SCOPE,
          grant_type: 'client_credentials',
        }),
      });
    const first = await request();
    expect(first.status).toBe(503);
    expect(first.headers.get('retry-after')).toBe('2');
    expect(await first.json()).toMatchObject({
      error: 'temporarily_unavailable',
      error_codes: [90033],
    });
    expect(sim.requests({ kind: 'token' }).at(-1)).toMatchObject({
      status: 503,
      fault: 'entraUnavailable',
      aadsts: 90033,
    });
    expect((await request()).status).toBe(200);
    // Metadata discovery of the tenant is Entra's too.
    sim.setFaults(c.domain, { entraUnavailable: { every: 1, retryAfterSeconds: 0 } });
    const discovery = await fetch(`${sim.url}/${c.tenantId}/v2.0/.well-known/openid-configuration`);
    expect(discovery.status).toBe(503);
    expect(await discovery.json()).toMatchObject({ error: 'temporarily_unavailable' });
    expect(sim.requests().at(-1)).toMatchObject({ kind: 'discovery', fault: 'entraUnavailable' });
  });

  it('any AADSTS answer at the token endpoint, as asked', async () => {
    sim.setFaults(c.domain, {
      tokenError: { count: 1, status: 400, error: 'invalid_resource', code: 500011 },
    });
    const err = await caught(
      credential(sim, c.tenantId, c.clientId, c.clientSecret).getToken(GRAPH_SCOPE),
    );
    expect(entraFailure(err)).toEqual({ error: 'invalid_resource', code: 500011, status: 400 });
    await expect(
      credential(sim, c.tenantId, c.clientId, c.clientSecret).getToken(GRAPH_SCOPE),
    ).resolves.toBeDefined();
    expect(() =>
      sim.setFaults(c.domain, { tokenError: { every: 1, code: 90055, error: 'Bad Error' } }),
    ).toThrow(expect.objectContaining({ code: 'invalid_fault_spec' }));
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
