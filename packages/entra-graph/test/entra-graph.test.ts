import { randomUUID } from 'node:crypto';
import { type Simulator, seededGroupId } from '@pinnacle/entra-simulator';
import { test } from '@pinnacle/testing/fixtures';
import { afterEach, describe, expect, it } from 'vitest';
import {
  decodeAccessTokenClaims,
  EntraTokenError,
  GraphReader,
  GraphRequestError,
  GraphTokenProvider,
  type GraphTokenSource,
  isMicrosoftAuthority,
  type TokenRequest,
} from '../src/index.js';

let sim: Simulator;
const tenantId = randomUUID();
const clientId = randomUUID();
const secret = `Eg8~${randomUUID()}`;
const seed = `eg-${randomUUID()}`;
const domain = `${seed}.onmicrosoft.com`;
const allGroup = seededGroupId(seed, 'all');
// A second tenant of 12,000 users: twelve pages at $top=999.
const bigTenantId = randomUUID();
const bigSeed = `eg-big-${randomUUID()}`;
const bigGroup = seededGroupId(bigSeed, 'all');
// A third of 25 groups: two JSON batches' worth of group checks.
const manyTenantId = randomUUID();
const manySeed = `eg-many-${randomUUID()}`;
const manyGroups = Array.from({ length: 25 }, (_, i) => seededGroupId(manySeed, `g${i}`));

test.beforeAll(async ({ simulator }) => {
  sim = simulator;
  const app = {
    appId: clientId,
    roles: ['User.Read.All', 'GroupMember.Read.All'],
    secrets: [{ keyId: randomUUID(), value: secret, expiresAt: new Date(Date.now() + 86_400_000) }],
  };
  sim.addTenant({
    kind: 'seeded',
    seed,
    tenantId,
    displayName: 'Graph reader',
    domains: [domain],
    userCount: 2500,
    disabledShare: 0.1,
    applications: [app],
    groups: [
      { key: 'all', displayName: 'All', userRanges: [{ start: 0, count: 2500 }], memberGroups: [] },
    ],
  });
  sim.addTenant({
    kind: 'seeded',
    seed: bigSeed,
    tenantId: bigTenantId,
    displayName: 'Graph reader, big',
    domains: [`${bigSeed}.onmicrosoft.com`],
    userCount: 12_000,
    applications: [app],
    groups: [
      {
        key: 'all',
        displayName: 'All',
        userRanges: [{ start: 0, count: 12_000 }],
        memberGroups: [],
      },
    ],
  });
  sim.addTenant({
    kind: 'seeded',
    seed: manySeed,
    tenantId: manyTenantId,
    displayName: 'Graph reader, many groups',
    domains: [`${manySeed}.onmicrosoft.com`],
    userCount: 250,
    applications: [app],
    groups: manyGroups.map((_, i) => ({
      key: `g${i}`,
      displayName: `Group ${i}`,
      userRanges: [{ start: i * 10, count: 10 }],
      memberGroups: [],
    })),
  });
});
afterEach(() => sim.reset());

const request = (overrides: Partial<TokenRequest> = {}): TokenRequest => ({
  authorityHost: sim.authorityHost,
  tenantId,
  clientId,
  clientSecret: secret,
  ...overrides,
});

const tokenRequestsTo = (tenant: string) =>
  sim.requests({ kind: 'token' }).filter((r) => r.path.startsWith(`/${tenant}/`)).length;

async function tokenError(provider: GraphTokenProvider): Promise<EntraTokenError> {
  const error = await provider.getToken().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(EntraTokenError);
  return error as EntraTokenError;
}

describe('GraphTokenProvider', () => {
  it('gets a token through ClientSecretCredential, then answers from its cache', async () => {
    const provider = new GraphTokenProvider(request());
    const token = await provider.getToken();
    expect(token.claims.roles.sort()).toEqual(['GroupMember.Read.All', 'User.Read.All']);
    expect(token.claims.tid).toBe(tenantId);
    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now());
    expect((await provider.getToken()).token).toBe(token.token);
    // Concurrent callers share one acquisition.
    const again = await Promise.all([provider.getToken(), provider.getToken()]);
    expect(again.map((t) => t.token)).toEqual([token.token, token.token]);
    // Only the request that reached the token endpoint counts.
    expect(provider.stats).toEqual({ tokenRequests: 1, refreshes: 0 });
    expect(tokenRequestsTo(tenantId)).toBe(1);
  });

  it('refresh() builds a fresh credential and gets a new token, once for concurrent callers', async () => {
    const provider = new GraphTokenProvider(request());
    const first = (await provider.getToken()).token;
    await Promise.all([provider.refresh(first), provider.refresh(first), provider.refresh(first)]);
    const second = (await provider.getToken()).token;
    expect(second).not.toBe(first);
    expect(provider.stats).toEqual({ tokenRequests: 2, refreshes: 1 });
    // A caller still holding the first token does not cause another refresh.
    await provider.refresh(first);
    expect((await provider.getToken()).token).toBe(second);
    expect(provider.stats).toEqual({ tokenRequests: 2, refreshes: 1 });
    expect(tokenRequestsTo(tenantId)).toBe(2);
  });

  it.each([
    ['a wrong secret', { clientSecret: 'not~the-right-secret' }, 401, 'invalid_client', 7000215],
    ['an unknown application', { clientId: randomUUID() }, 400, 'unauthorized_client', 700016],
  ])(
    'reports %s with the token endpoint status and error code, not text',
    async (_name, overrides, status, error, code) => {
      const e = await tokenError(new GraphTokenProvider(request(overrides)));
      expect(e.response).toMatchObject({ endpoint: 'token', status, error, errorCodes: [code] });
      expect(e.response?.correlationId).toMatch(/^[0-9a-f-]{36}$/);
      expect(e.message).not.toContain(secret);
    },
  );

  it.each([
    ['disableApp', 400, 'unauthorized_client', 7000112],
    ['blockByConditionalAccess', 400, 'invalid_grant', 53003],
  ] as const)('reports the %s fault as Entra answers it', async (fault, status, error, code) => {
    sim.setFaults(tenantId, { [fault]: {} });
    const e = await tokenError(new GraphTokenProvider(request()));
    expect(e.response).toMatchObject({ endpoint: 'token', status, error, errorCodes: [code] });
  });

  describe('an unknown tenant', () => {
    it("at metadata discovery: Entra's 400 invalid_tenant, read from the wire", async () => {
      const unknown = randomUUID();
      const provider = new GraphTokenProvider(request({ tenantId: unknown }));
      const e = await tokenError(provider);
      expect(e.response).toMatchObject({
        endpoint: 'metadata_discovery',
        status: 400,
        error: 'invalid_tenant',
        errorCodes: [90002],
      });
      expect(e.network).toBeNull();
      // It never got as far as a token request.
      expect(provider.stats.tokenRequests).toBe(0);
    });

    it('at the token endpoint, as against Microsoft hosts', async () => {
      sim.updateSettings({ unknownTenantFailsAt: 'token_endpoint' });
      const provider = new GraphTokenProvider(request({ tenantId: 'nobody.onmicrosoft.com' }));
      const e = await tokenError(provider);
      expect(e.response).toMatchObject({
        endpoint: 'token',
        status: 400,
        error: 'invalid_request',
        errorCodes: [90002],
      });
      expect(provider.stats.tokenRequests).toBe(1);
    });
  });

  it('reports a metadata discovery answered 503 with its status, not as Entra refusing', async () => {
    sim.setFaults(tenantId, { entraUnavailable: { every: 1, retryAfterSeconds: 0 } });
    const e = await tokenError(new GraphTokenProvider(request()));
    expect(e.response).toMatchObject({
      endpoint: 'metadata_discovery',
      status: 503,
      error: 'temporarily_unavailable',
      errorCodes: [90033],
      retryAfterSeconds: 0,
    });
  });

  it('reports an unreachable authority as a network failure', async () => {
    const e = await tokenError(
      new GraphTokenProvider(request({ authorityHost: 'https://127.0.0.1:1', timeoutMs: 5000 })),
    );
    expect(e.response).toBeNull();
    expect(e.network).not.toBeNull();
  });

  it('knows Microsoft authorities from others', () => {
    expect(isMicrosoftAuthority('https://login.microsoftonline.com')).toBe(true);
    expect(isMicrosoftAuthority(sim.authorityHost)).toBe(false);
    expect(decodeAccessTokenClaims('garbage').roles).toEqual([]);
  });
});

describe('GraphReader', () => {
  function reader(options: { maxRetries?: number; tenant?: string; timeoutMs?: number } = {}) {
    const tokens = new GraphTokenProvider(request({ tenantId: options.tenant ?? tenantId }));
    const graph = new GraphReader({
      baseUrl: sim.graphBaseUrl,
      tokens,
      sleep: async () => {},
      ...(options.maxRetries !== undefined ? { maxRetries: options.maxRetries } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    });
    return { graph, tokens };
  }

  const memberRequests = (group: string, afterSeq: number) =>
    sim
      .requests({ kind: 'graph', afterSeq })
      .filter((r) => r.path.includes(`/groups/${group}/transitiveMembers/`));

  it('pages a group to the end at $top=999, every user once, with one token from the cache', async () => {
    const { graph, tokens } = reader();
    const ids = new Set<string>();
    let pages = 0;
    for await (const page of graph.groupUserPages(allGroup)) {
      pages++;
      for (const u of page) ids.add(u.id);
      expect(page.every((u) => typeof u.accountEnabled === 'boolean')).toBe(true);
    }
    expect(pages).toBe(3);
    expect(ids.size).toBe(2500);
    expect(graph.stats).toEqual({ requests: 3, throttled: 0 });
    // The token is taken for every request, from the credential's cache.
    expect(tokens.stats).toEqual({ tokenRequests: 1, refreshes: 0 });
    // Graph was asked as DESIGN says: the cast, $select, $top, $count and ConsistencyLevel.
    const first = memberRequests(allGroup, 0)[0];
    expect(first?.path).toMatch(/\$top=999/);
    expect(first?.path).toMatch(/\$count=true/);
  });

  it("gives the group's member count (@odata.count) with its first page only", async () => {
    const { graph } = reader();
    const pages: { users: number; count: number | null }[] = [];
    for await (const page of graph.groupMemberPages(allGroup)) {
      pages.push({ users: page.users.length, count: page.count });
    }
    expect(pages).toEqual([
      { users: 999, count: 2500 },
      { users: 999, count: null },
      { users: 502, count: null },
    ]);
  });

  it('tokens invalidated mid-fetch: one fresh token, the same page again, the group not restarted', async () => {
    const { graph, tokens } = reader();
    const before = sim.requests().at(-1)?.seq ?? 0;
    const ids = new Set<string>();
    let pages = 0;
    for await (const page of graph.groupUserPages(allGroup)) {
      pages++;
      for (const u of page) ids.add(u.id);
      // Every token the tenant was given so far stops working after the first page.
      if (pages === 1) sim.invalidateTokens(tenantId);
    }
    expect(pages).toBe(3);
    expect(ids.size).toBe(2500);
    const seen = memberRequests(allGroup, before).map((r) => [r.status, r.path]);
    expect(seen.map(([status]) => status)).toEqual([200, 401, 200, 200]);
    // The refused page was asked again as it was; the first page only once.
    expect(seen[2]![1]).toBe(seen[1]![1]);
    expect(seen[1]![1]).toMatch(/\$skiptoken=/);
    expect(seen.filter(([, path]) => !String(path).includes('$skiptoken='))).toHaveLength(1);
    expect(tokens.stats).toEqual({ tokenRequests: 2, refreshes: 1 });
    expect(graph.stats.requests).toBe(4);
  });

  it('a second 401 after a fresh token is reported as it was before', async () => {
    // A token source whose tokens Graph never accepts (expired before they are handed out).
    let refreshes = 0;
    const expired: GraphTokenSource = {
      getToken: async () => ({
        token: sim.mintAccessToken({ tenant: tenantId, appId: clientId, expiresInSeconds: -3600 }),
      }),
      refresh: async () => {
        refreshes++;
      },
    };
    const graph = new GraphReader({ baseUrl: sim.graphBaseUrl, tokens: expired });
    const error = await graph.getGroup(allGroup).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphRequestError);
    expect(error).toMatchObject({ status: 401, graphCode: 'InvalidAuthenticationToken' });
    expect(refreshes).toBe(1);
    expect(graph.stats.requests).toBe(2);
  });

  it('a fetch of 12 pages spanning three token lifetimes completes whole (clock skew 0)', async () => {
    const lifetimeSeconds = 1;
    sim.updateSettings({ clockSkewSeconds: 0 });
    sim.updateTenantSettings(bigTenantId, { tokenLifetimeSeconds: lifetimeSeconds });
    // Each page takes 300 ms: twelve of them outlast three token lifetimes.
    sim.setFaults(bigTenantId, { latencyMs: 300 });

    // The old way, one token for the whole fetch, fails once the token has expired.
    const once = await new GraphTokenProvider(request({ tenantId: bigTenantId })).getToken();
    const fixed = new GraphReader({ baseUrl: sim.graphBaseUrl, accessToken: once.token });
    const failed = await (async () => {
      for await (const _page of fixed.groupUserPages(bigGroup)) {
        // paging until Graph refuses the token
      }
    })().catch((e: unknown) => e);
    expect(failed).toMatchObject({ status: 401, graphCode: 'InvalidAuthenticationToken' });

    const { graph, tokens } = reader({ tenant: bigTenantId });
    const ids = new Set<string>();
    let pages = 0;
    const started = Date.now();
    for await (const page of graph.groupUserPages(bigGroup)) {
      pages++;
      for (const u of page) ids.add(u.id);
    }
    const spannedSeconds = (Date.now() - started) / 1000;
    expect(pages).toBe(13);
    expect(ids.size).toBe(12_000);
    // The premise held: the fetch outlived three lifetimes (the latency alone makes it 3.9 s).
    expect(spannedSeconds).toBeGreaterThanOrEqual(3 * lifetimeSeconds);
    // Tokens this short are renewed for every request (MSAL renews within five minutes of expiry).
    expect(tokens.stats.tokenRequests).toBeGreaterThanOrEqual(3);
  });

  it('reads a group, and reports a missing one as 404 Request_ResourceNotFound', async () => {
    const { graph } = reader();
    expect((await graph.getGroup(allGroup)).displayName).toBe('All');
    const error = await graph.getGroup(randomUUID()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphRequestError);
    expect(error).toMatchObject({
      status: 404,
      graphCode: 'Request_ResourceNotFound',
      transient: false,
    });
  });

  it('searches groups by name with $search and ConsistencyLevel: eventual, escaping the term', async () => {
    const { graph } = reader();
    const after = sim.requests({ kind: 'graph' }).at(-1)?.seq ?? 0;
    expect(await graph.searchGroups('al')).toEqual([{ id: allGroup, displayName: 'All' }]);
    // A quote and a backslash are escaped inside the clause, not taken as its end.
    expect(await graph.searchGroups('a" OR "displayName:all')).toEqual([]);
    expect(await graph.searchGroups('back\\slash & co')).toEqual([]);
    const searches = sim.requests({ kind: 'graph', afterSeq: after });
    expect(searches).toHaveLength(3);
    expect(searches.every((r) => r.status === 200)).toBe(true);
  });

  describe('getGroups: JSON $batch requests of up to 20 group checks', () => {
    function batchReader(options: { maxRetries?: number } = {}) {
      const slept: number[] = [];
      const graph = new GraphReader({
        baseUrl: sim.graphBaseUrl,
        tokens: new GraphTokenProvider(request({ tenantId: manyTenantId })),
        sleep: async (ms) => {
          slept.push(ms);
        },
        ...options,
      });
      return { graph, slept };
    }
    const batches = (afterSeq: number) =>
      sim.requests({ tenantId: manyTenantId, afterSeq }).filter((r) => r.kind === 'graph-batch');
    const inside = (afterSeq: number) =>
      sim.requests({ tenantId: manyTenantId, afterSeq }).filter((r) => r.batchSeq !== null);

    it('checks 27 groups in two batches, answered in the order asked, a missing one as 404', async () => {
      const { graph } = batchReader();
      const missing = [randomUUID(), randomUUID()];
      const ids = [...manyGroups.slice(0, 12), missing[0]!, ...manyGroups.slice(12), missing[1]!];
      const seq = sim.requests().at(-1)?.seq ?? 0;
      const lookups = await graph.getGroups(ids);
      expect(lookups.map((l) => l.groupId)).toEqual(ids);
      expect(lookups.filter((l) => 'group' in l)).toHaveLength(25);
      expect(lookups[0]).toEqual({
        groupId: manyGroups[0],
        group: { id: manyGroups[0], displayName: 'Group 0' },
      });
      expect(lookups[12]).toMatchObject({
        groupId: missing[0],
        error: { status: 404, graphCode: 'Request_ResourceNotFound', transient: false },
      });
      expect(graph.stats).toEqual({ requests: 2, throttled: 0 });
      expect(batches(seq)).toHaveLength(2);
      expect(batches(seq).every((r) => r.method === 'POST')).toBe(true);
      expect(inside(seq)).toHaveLength(27);
      expect(inside(seq).every((r) => r.method === 'GET')).toBe(true);
    });

    it('sends the requests throttled inside a batch again, alone, after the longest Retry-After', async () => {
      const { graph, slept } = batchReader();
      sim.setFaults(manyTenantId, { throttle: { count: 3, retryAfterSeconds: 2 } });
      const seq = sim.requests().at(-1)?.seq ?? 0;
      const lookups = await graph.getGroups(manyGroups.slice(0, 5));
      expect(lookups.every((l) => 'group' in l)).toBe(true);
      expect(graph.stats).toEqual({ requests: 2, throttled: 3 });
      expect(slept).toEqual([2000]);
      const [first, second] = batches(seq);
      expect(inside(seq).filter((r) => r.batchSeq === first?.seq)).toHaveLength(5);
      // Only the three that were throttled, in a batch of their own.
      expect(inside(seq).filter((r) => r.batchSeq === second?.seq)).toHaveLength(3);
    });

    it('ends a request that stays unavailable inside its batches as a transient error', async () => {
      const { graph } = batchReader({ maxRetries: 2 });
      sim.setFaults(manyTenantId, { unavailable: { every: 1, retryAfterSeconds: 0 } });
      const [lookup] = await graph.getGroups([manyGroups[0]!]);
      expect(lookup).toMatchObject({ error: { status: 503, transient: true } });
      expect(graph.stats).toEqual({ requests: 3, throttled: 0 });
    });
  });

  it('retries 429 honouring Retry-After and counts the throttled requests', async () => {
    const { graph } = reader();
    sim.setFaults(tenantId, { throttle: { count: 2, retryAfterSeconds: 3 } });
    expect((await graph.getGroup(allGroup)).id).toBe(allGroup);
    expect(graph.stats).toEqual({ requests: 3, throttled: 2 });
  });

  it('gives up on persistent 503s after its retries, as a transient error', async () => {
    const { graph } = reader({ maxRetries: 2 });
    sim.setFaults(tenantId, { unavailable: { every: 1, retryAfterSeconds: 0 } });
    const error = await graph.getGroup(allGroup).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 503, transient: true });
    expect(graph.stats.requests).toBe(3);
  });

  it('survives a connection reset mid-page by retrying the page', async () => {
    const { graph } = reader();
    sim.setFaults(tenantId, { resetConnection: { count: 1, afterBytes: 200 } });
    let users = 0;
    for await (const page of graph.groupUserPages(allGroup)) users += page.length;
    expect(users).toBe(2500);
  });

  it('passes a token failure on as EntraTokenError, not as a Graph error', async () => {
    const { graph } = reader();
    sim.setFaults(tenantId, { disableApp: {} });
    const error = await graph.getGroup(allGroup).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EntraTokenError);
    expect((error as EntraTokenError).response?.errorCodes).toEqual([7000112]);
  });

  it('times out a slow call and reports it as transient', async () => {
    const { graph } = reader({ timeoutMs: 1000, maxRetries: 0 });
    sim.setFaults(tenantId, { latencyMs: 3000 });
    const error = await graph.getGroup(allGroup).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 0, transient: true });
    expect((error as Error).message).toMatch(/timed out/);
  });
});
