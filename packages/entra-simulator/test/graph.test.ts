import { PageIterator } from '@microsoft/microsoft-graph-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  demoTenants,
  type Simulator,
  seededGroupId,
  seededUser,
  startSimulator,
  type TenantInput,
} from '../src/index.js';
import {
  caught,
  credential,
  GRAPH_SCOPE,
  type GraphClientError,
  graphClient,
  trust,
} from './helpers.js';

const SEED = 'graph-test';
const DOMAIN = 'graphtest.onmicrosoft.com';
const APP_ID = '3d0b8f52-5a7e-4c1b-9f3e-2b6a1c9d8e70';
const SECRET = 'graph-test-secret';
const LIMITED_APP = '9a1c2b3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d';
const USERS_ONLY_APP = '5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b';

const spec = {
  kind: 'seeded',
  seed: SEED,
  displayName: 'Graph Test',
  domains: [DOMAIN],
  userCount: 5000,
  disabledShare: 0.1,
  groups: [
    {
      key: 'root',
      displayName: 'Root',
      userRanges: [{ start: 0, count: 1000 }],
      memberGroups: ['a', 'b'],
    },
    { key: 'a', displayName: 'A', userRanges: [{ start: 800, count: 1200 }], memberGroups: ['c'] },
    {
      key: 'b',
      displayName: 'B',
      userRanges: [
        { start: 3000, count: 500 },
        { start: 1900, count: 200 },
      ],
      memberGroups: ['c'],
    },
    // c nests root again: a cycle the transitive walk must cut.
    {
      key: 'c',
      displayName: 'C',
      userRanges: [{ start: 4000, count: 100 }],
      memberGroups: ['root'],
    },
    { key: 'outside', displayName: 'Outside', userRanges: [{ start: 4500, count: 500 }] },
  ],
  applications: [
    {
      appId: APP_ID,
      roles: ['User.Read.All', 'GroupMember.Read.All'],
      secrets: [
        {
          keyId: '0f9e8d7c-6b5a-4f3e-9d2c-1b0a9f8e7d6c',
          value: SECRET,
          expiresAt: '2099-01-01T00:00:00Z',
        },
      ],
    },
    { appId: LIMITED_APP, roles: ['GroupMember.Read.All'] },
    { appId: USERS_ONLY_APP, roles: ['User.Read.All'] },
  ],
} satisfies TenantInput & { kind: 'seeded' };

/** Expected transitive user indexes of Root, enumerated from the spec by hand. */
function expectedRootIndexes(): number[] {
  const set = new Set<number>();
  const add = (start: number, count: number) => {
    for (let i = start; i < start + count; i++) set.add(i);
  };
  add(0, 1000); // root
  add(800, 1200); // a
  add(3000, 500); // b
  add(1900, 200); // b
  add(4000, 100); // c
  return [...set].sort((x, y) => x - y);
}

const rootId = seededGroupId(SEED, 'root');
const userOf = (i: number) => seededUser(SEED, i, DOMAIN, spec.disabledShare);
const northwind = demoTenants().find((d) => d.key === 'northwind')!;
let sim: Simulator;
let token: string;

beforeAll(async () => {
  sim = await startSimulator({ tenants: [spec, northwind.tenant] });
  trust(sim);
  token = (await credential(sim, DOMAIN, APP_ID, SECRET).getToken(GRAPH_SCOPE)).token;
});
afterAll(() => sim.close());

const SELECT = 'id,displayName,mail,userPrincipalName,accountEnabled';

describe('Graph groups and members', () => {
  it('reads a group with $select', async () => {
    const group = await graphClient(sim, token)
      .api(`/groups/${rootId}`)
      .select('id,displayName')
      .get();
    expect(group).toEqual({
      '@odata.context': `${sim.graphBaseUrl}/v1.0/$metadata#groups(id,displayName)/$entity`,
      id: rootId,
      displayName: 'Root',
    });
  });

  it('pages transitive user members across nesting, overlap and a cycle: every user exactly once', async () => {
    const client = graphClient(sim, token);
    const first = await client
      .api(`/groups/${rootId}/transitiveMembers/microsoft.graph.user`)
      .header('ConsistencyLevel', 'eventual')
      .select(SELECT)
      .top(999)
      .query({ $count: 'true' })
      .get();
    const expected = expectedRootIndexes();
    expect(first['@odata.count']).toBe(expected.length);
    expect(first['@odata.context']).toBe(`${sim.graphBaseUrl}/v1.0/$metadata#users(${SELECT})`);
    expect(first['@odata.nextLink']).toMatch(
      new RegExp(`^${sim.graphBaseUrl}/v1\\.0/groups/${rootId}/`),
    );

    const seen: Record<string, unknown>[] = [];
    let pages = 1;
    const iterator = new PageIterator(client, first, (u: Record<string, unknown>) => {
      seen.push(u);
      return true;
    });
    const requestsBefore = sim.counters().graphRequests;
    await iterator.iterate();
    pages += sim.counters().graphRequests - requestsBefore;

    expect(pages).toBe(Math.ceil(expected.length / 999));
    const ids = seen.map((u) => u.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual(expected.map((i) => userOf(i).id).sort());
    const byId = new Map(expected.map((i) => [userOf(i).id, userOf(i)]));
    for (const u of seen) {
      const want = byId.get(u.id as string)!;
      expect(u).toEqual({
        id: want.id,
        displayName: want.displayName,
        mail: want.mail,
        userPrincipalName: want.userPrincipalName,
        accountEnabled: want.accountEnabled,
      });
    }
    expect(seen.some((u) => u.accountEnabled === false)).toBe(true);
  });

  it('lists nested groups too when there is no cast, typed with @odata.type', async () => {
    const client = graphClient(sim, token);
    const items: Record<string, unknown>[] = [];
    const first = await client
      .api(`/groups/${rootId}/transitiveMembers`)
      .select('id,displayName')
      .top(999)
      .get();
    expect(first['@odata.context']).toBe(
      `${sim.graphBaseUrl}/v1.0/$metadata#directoryObjects(id,displayName)`,
    );
    await new PageIterator(client, first, (x: Record<string, unknown>) => {
      items.push(x);
      return true;
    }).iterate();
    const groups = items.filter((x) => x['@odata.type'] === '#microsoft.graph.group');
    expect(groups.map((g) => g.displayName).sort()).toEqual(['A', 'B', 'C']);
    expect(items.filter((x) => x['@odata.type'] === '#microsoft.graph.user')).toHaveLength(
      expectedRootIndexes().length,
    );
  });

  it('lists direct members only under /members', async () => {
    const client = graphClient(sim, token);
    const items: Record<string, unknown>[] = [];
    const first = await client.api(`/groups/${rootId}/members`).select('id').top(999).get();
    await new PageIterator(client, first, (x: Record<string, unknown>) => {
      items.push(x);
      return true;
    }).iterate();
    expect(
      items.filter((x) => x['@odata.type'] === '#microsoft.graph.group').map((x) => x.id),
    ).toEqual([seededGroupId(SEED, 'a'), seededGroupId(SEED, 'b')]);
    expect(items.filter((x) => x['@odata.type'] === '#microsoft.graph.user')).toHaveLength(1000);
  });

  it('serves the cast without ConsistencyLevel but leaves out @odata.count, as Graph does', async () => {
    const page = await graphClient(sim, token)
      .api(`/groups/${rootId}/transitiveMembers/microsoft.graph.user`)
      .select('id')
      .query({ $count: 'true' })
      .get();
    expect(page).not.toHaveProperty('@odata.count');
    expect(page.value).toHaveLength(100);
  });

  it('returns the default user properties without $select (accountEnabled is not one of them)', async () => {
    const page = await graphClient(sim, token)
      .api(`/groups/${rootId}/members/microsoft.graph.user`)
      .top(1)
      .get();
    expect(Object.keys(page.value[0]).sort()).toEqual(
      [
        'businessPhones',
        'displayName',
        'givenName',
        'id',
        'jobTitle',
        'mail',
        'mobilePhone',
        'officeLocation',
        'preferredLanguage',
        'surname',
        'userPrincipalName',
      ].sort(),
    );
  });

  it('pages /users', async () => {
    const client = graphClient(sim, token);
    const ids: string[] = [];
    const first = await client.api('/users').select('id').top(999).get();
    await new PageIterator(client, first, (u: { id: string }) => {
      ids.push(u.id);
      return true;
    }).iterate();
    expect(ids).toHaveLength(5000);
    expect(ids[4999]).toBe(userOf(4999).id);
  });
});

describe('$top', () => {
  for (const top of [0, 1000]) {
    it(`rejects $top=${top} with Graph's 400`, async () => {
      const err = (await caught(
        graphClient(sim, token)
          .api(`/groups/${rootId}/transitiveMembers/microsoft.graph.user`)
          .top(top)
          .get(),
      )) as GraphClientError;
      expect(err.statusCode).toBe(400);
      expect(err.code).toBe('Request_UnsupportedQuery');
      expect(err.message).toBe(
        `Invalid page size specified: '${top}'. Must be between 1 and 999 inclusive.`,
      );
    });
  }
  it('accepts 1 and 999 and defaults to 100', async () => {
    const api = () =>
      graphClient(sim, token)
        .api(`/groups/${rootId}/transitiveMembers/microsoft.graph.user`)
        .select('id');
    expect((await api().top(1).get()).value).toHaveLength(1);
    expect((await api().top(999).get()).value).toHaveLength(999);
    expect((await api().get()).value).toHaveLength(100);
  });
});

describe('Graph errors', () => {
  it('401 InvalidAuthenticationToken for a missing token, with request-id headers and innerError', async () => {
    const res = await fetch(`${sim.graphBaseUrl}/v1.0/groups/${rootId}`, {
      headers: { 'client-request-id': 'cr-1' },
    });
    expect(res.status).toBe(401);
    const body = (await res.json()) as {
      error: { code: string; message: string; innerError: Record<string, string> };
    };
    expect(body.error.code).toBe('InvalidAuthenticationToken');
    expect(body.error.message).toBe('Access token is empty.');
    expect(body.error.innerError['client-request-id']).toBe('cr-1');
    expect(body.error.innerError['request-id']).toBe(res.headers.get('request-id'));
    expect(body.error.innerError.date).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);
    expect(res.headers.get('client-request-id')).toBe('cr-1');
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm=""/);
  });

  it('401 for a token with a bad signature', async () => {
    const [h, p] = token.split('.');
    const forged = `${h}.${p}.${Buffer.from('not a signature').toString('base64url')}`;
    const err = (await caught(
      graphClient(sim, forged).api(`/groups/${rootId}`).get(),
    )) as GraphClientError;
    expect(err.statusCode).toBe(401);
    expect(err.code).toBe('InvalidAuthenticationToken');
    expect(err.message).toBe('Access token validation failure.');
  });

  it('401 for a token signed by another simulator', async () => {
    const other = await startSimulator({ tenants: [spec] });
    try {
      const foreign = other.mintAccessToken({ tenant: DOMAIN, appId: APP_ID });
      const err = (await caught(
        graphClient(sim, foreign).api(`/groups/${rootId}`).get(),
      )) as GraphClientError;
      expect(err.statusCode).toBe(401);
      expect(err.message).toBe('Access token validation failure.');
    } finally {
      await other.close();
    }
  });

  it('401 for an expired token', async () => {
    const expired = sim.mintAccessToken({ tenant: DOMAIN, appId: APP_ID, expiresInSeconds: -900 });
    const err = (await caught(
      graphClient(sim, expired).api(`/groups/${rootId}`).get(),
    )) as GraphClientError;
    expect(err.statusCode).toBe(401);
    expect(err.message).toBe('Lifetime validation failed, the token is expired.');
  });

  it('403 Authorization_RequestDenied when the token carries no permission', async () => {
    const c = northwind.credentials;
    const noRoles = (
      await credential(sim, c.tenantId, c.clientId, c.clientSecret).getToken(GRAPH_SCOPE)
    ).token;
    const err = (await caught(
      graphClient(sim, noRoles)
        .api(`/groups/${northwind.groups[0]!.id}/transitiveMembers/microsoft.graph.user`)
        .get(),
    )) as GraphClientError;
    expect(err.statusCode).toBe(403);
    expect(err.code).toBe('Authorization_RequestDenied');
    expect(err.message).toBe('Insufficient privileges to complete the operation.');
  });

  it('403 on /users without a user-reading permission, and on groups without a group-reading one', async () => {
    const groupsOnly = sim.mintAccessToken({ tenant: DOMAIN, appId: LIMITED_APP });
    expect(
      ((await caught(graphClient(sim, groupsOnly).api('/users').get())) as GraphClientError)
        .statusCode,
    ).toBe(403);
    const usersOnly = sim.mintAccessToken({ tenant: DOMAIN, appId: USERS_ONLY_APP });
    expect(
      (
        (await caught(
          graphClient(sim, usersOnly).api(`/groups/${rootId}`).get(),
        )) as GraphClientError
      ).statusCode,
    ).toBe(403);
  });

  it('returns members with limited information when the app cannot read users', async () => {
    const groupsOnly = sim.mintAccessToken({ tenant: DOMAIN, appId: LIMITED_APP });
    const page = await graphClient(sim, groupsOnly)
      .api(`/groups/${rootId}/transitiveMembers/microsoft.graph.user`)
      .select('id,displayName,accountEnabled')
      .top(2)
      .get();
    expect(page.value[0]).toEqual({
      '@odata.type': '#microsoft.graph.user',
      id: userOf(0).id,
      displayName: null,
      accountEnabled: null,
    });
  });

  it('404 Request_ResourceNotFound for an unknown group', async () => {
    const missing = '0b6e2a3c-1d4f-4e5a-9b6c-7d8e9f0a1b2c';
    const err = (await caught(
      graphClient(sim, token).api(`/groups/${missing}`).get(),
    )) as GraphClientError;
    expect(err.statusCode).toBe(404);
    expect(err.code).toBe('Request_ResourceNotFound');
    expect(err.message).toBe(
      `Resource '${missing}' does not exist or one of its queried reference-property objects are not present.`,
    );
  });

  it('400 Request_BadRequest for a malformed group ID', async () => {
    const err = (await caught(
      graphClient(sim, token)
        .api('/groups/not-a-guid/transitiveMembers/microsoft.graph.user')
        .get(),
    )) as GraphClientError;
    expect(err.statusCode).toBe(400);
    expect(err.code).toBe('Request_BadRequest');
    expect(err.message).toBe("Invalid object identifier 'not-a-guid'.");
  });

  it('400 for an unknown property in $select', async () => {
    const err = (await caught(
      graphClient(sim, token)
        .api(`/groups/${rootId}/transitiveMembers/microsoft.graph.user`)
        .select('id,shoeSize')
        .get(),
    )) as GraphClientError;
    expect(err.statusCode).toBe(400);
    expect(err.message).toBe(
      "Could not find a property named 'shoeSize' on type 'microsoft.graph.user'.",
    );
  });

  it('405 for every write, each one counted', async () => {
    const client = graphClient(sim, token);
    const before = sim.writeAttempts();
    const attempts = [
      () => client.api(`/groups/${rootId}/members/$ref`).post({ '@odata.id': 'x' }),
      () => client.api(`/groups/${rootId}`).patch({ displayName: 'Renamed' }),
      () => client.api(`/groups/${rootId}`).delete(),
      () => client.api('/users').put({}),
    ];
    for (const attempt of attempts) {
      const err = (await caught(attempt())) as GraphClientError;
      expect(err.statusCode).toBe(405);
    }
    expect(sim.writeAttempts()).toBe(before + 4);
    const writes = sim.requests({ kind: 'graph-write' });
    expect(writes.slice(-4).map((w) => w.method)).toEqual(['POST', 'PATCH', 'DELETE', 'PUT']);
    // The group is untouched.
    expect((await client.api(`/groups/${rootId}`).select('displayName').get()).displayName).toBe(
      'Root',
    );
  });
});
