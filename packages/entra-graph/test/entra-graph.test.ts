import { randomUUID } from 'node:crypto';
import { type Simulator, startSimulator, trustSimulatorCa } from '@pinnacle/entra-simulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  acquireGraphToken,
  decodeAccessTokenClaims,
  EntraTokenError,
  GraphReader,
  GraphRequestError,
  isMicrosoftAuthority,
} from '../src/index.js';

let sim: Simulator;
const tenantId = randomUUID();
const clientId = randomUUID();
const secret = `Eg8~${randomUUID()}`;
const seed = `eg-${randomUUID()}`;
const domain = `${seed}.onmicrosoft.com`;
let allGroup: string;

beforeAll(async () => {
  sim = await startSimulator();
  trustSimulatorCa(sim.caCertPem);
  sim.addTenant({
    kind: 'seeded',
    seed,
    tenantId,
    displayName: 'Graph reader',
    domains: [domain],
    userCount: 2500,
    disabledShare: 0.1,
    applications: [
      {
        appId: clientId,
        roles: ['User.Read.All', 'GroupMember.Read.All'],
        secrets: [
          { keyId: randomUUID(), value: secret, expiresAt: new Date(Date.now() + 86_400_000) },
        ],
      },
    ],
    groups: [
      { key: 'all', displayName: 'All', userRanges: [{ start: 0, count: 2500 }], memberGroups: [] },
    ],
  });
  allGroup = (await import('@pinnacle/entra-simulator')).seededGroupId(seed, 'all');
});
afterAll(() => sim.close());

const request = (overrides: Partial<Parameters<typeof acquireGraphToken>[0]> = {}) => ({
  authorityHost: sim.authorityHost,
  tenantId,
  clientId,
  clientSecret: secret,
  ...overrides,
});

describe('acquireGraphToken', () => {
  it('gets a token through ClientSecretCredential and reads its roles', async () => {
    const token = await acquireGraphToken(request());
    expect(token.claims.roles.sort()).toEqual(['GroupMember.Read.All', 'User.Read.All']);
    expect(token.claims.tid).toBe(tenantId);
    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now());
  });

  it.each([
    ['a wrong secret', { clientSecret: 'not~the-right-secret' }, 401, 7000215],
    ['an unknown application', { clientId: randomUUID() }, 400, 700016],
    ['an unknown tenant', { tenantId: randomUUID() }, 400, 90002],
  ])(
    'reports %s with Entra status and error code, not text',
    async (_name, overrides, status, code) => {
      const error = await acquireGraphToken(request(overrides)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EntraTokenError);
      expect((error as EntraTokenError).response).toMatchObject({ status, errorCodes: [code] });
      expect((error as EntraTokenError).message).not.toContain(secret);
    },
  );

  it('reports an unreachable authority as a network failure', async () => {
    const error = await acquireGraphToken(
      request({ authorityHost: 'https://127.0.0.1:1', timeoutMs: 5000 }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EntraTokenError);
    expect((error as EntraTokenError).response).toBeNull();
    expect((error as EntraTokenError).network).not.toBeNull();
  });

  it('knows Microsoft authorities from others', () => {
    expect(isMicrosoftAuthority('https://login.microsoftonline.com')).toBe(true);
    expect(isMicrosoftAuthority(sim.authorityHost)).toBe(false);
    expect(decodeAccessTokenClaims('garbage').roles).toEqual([]);
  });
});

describe('GraphReader', () => {
  async function reader(options: { maxRetries?: number } = {}) {
    const { token } = await acquireGraphToken(request());
    return new GraphReader({
      baseUrl: sim.graphBaseUrl,
      accessToken: token,
      sleep: async () => {},
      ...options,
    });
  }

  it('pages a group to the end at $top=999, every user once', async () => {
    const graph = await reader();
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
    // Graph was asked as DESIGN says: the cast, $select, $top, $count and ConsistencyLevel.
    const first = sim
      .requests()
      .find((r) => r.path.includes(`/groups/${allGroup}/transitiveMembers/microsoft.graph.user`));
    expect(first?.path).toMatch(/\$top=999/);
    expect(first?.path).toMatch(/\$count=true/);
  });

  it('reads a group, and reports a missing one as 404 Request_ResourceNotFound', async () => {
    const graph = await reader();
    expect((await graph.getGroup(allGroup)).displayName).toBe('All');
    const error = await graph.getGroup(randomUUID()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphRequestError);
    expect(error).toMatchObject({
      status: 404,
      graphCode: 'Request_ResourceNotFound',
      transient: false,
    });
  });

  it('retries 429 honouring Retry-After and counts the throttled requests', async () => {
    const graph = await reader();
    sim.setFaults(tenantId, { throttle: { count: 2, retryAfterSeconds: 3 } });
    try {
      expect((await graph.getGroup(allGroup)).id).toBe(allGroup);
      expect(graph.stats).toEqual({ requests: 3, throttled: 2 });
    } finally {
      sim.clearFaults(tenantId);
    }
  });

  it('gives up on persistent 503s after its retries, as a transient error', async () => {
    const graph = await reader({ maxRetries: 2 });
    sim.setFaults(tenantId, { unavailable: { every: 1, retryAfterSeconds: 0 } });
    try {
      const error = await graph.getGroup(allGroup).catch((e: unknown) => e);
      expect(error).toMatchObject({ status: 503, transient: true });
      expect(graph.stats.requests).toBe(3);
    } finally {
      sim.clearFaults(tenantId);
    }
  });

  it('survives a connection reset mid-page by retrying the page', async () => {
    const graph = await reader();
    sim.setFaults(tenantId, { resetConnection: { count: 1, afterBytes: 200 } });
    try {
      let users = 0;
      for await (const page of graph.groupUserPages(allGroup)) users += page.length;
      expect(users).toBe(2500);
    } finally {
      sim.clearFaults(tenantId);
    }
  });

  it('times out a slow call and reports it as transient', async () => {
    const { token } = await acquireGraphToken(request());
    const graph = new GraphReader({
      baseUrl: sim.graphBaseUrl,
      accessToken: token,
      timeoutMs: 1000,
      maxRetries: 0,
    });
    sim.setFaults(tenantId, { latencyMs: 3000 });
    try {
      const error = await graph.getGroup(allGroup).catch((e: unknown) => e);
      expect(error).toMatchObject({ status: 0, transient: true });
      expect((error as Error).message).toMatch(/timed out/);
    } finally {
      sim.clearFaults(tenantId);
    }
  });
});
