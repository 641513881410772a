import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSearch, searchTokens } from '../src/group-search.js';
import { type Simulator, startSimulator, type TenantInput } from '../src/index.js';
import {
  caught,
  credential,
  GRAPH_SCOPE,
  type GraphClientError,
  graphClient,
  trust,
} from './helpers.js';

const tenantId = randomUUID();
const appId = randomUUID();
const noGroupsApp = randomUUID();
const secret = `Gs8~${randomUUID()}`;
const names = [
  'Engineering',
  'Platform Team',
  'Sales & Marketing',
  'The "Quoted" Group',
  'Back\\Slash Admins',
  'helloWorld-2024',
  'HELLOworld',
  'Finance',
];
const groups = names.map((displayName, i) => ({
  id: randomUUID(),
  displayName,
  description: i === 7 ? 'Money people' : null,
  members: [],
  memberGroups: [],
}));
const tenant: TenantInput = {
  kind: 'fixture',
  tenantId,
  displayName: 'Search',
  domains: ['search.onmicrosoft.com'],
  users: [],
  groups,
  applications: [
    {
      appId,
      roles: ['GroupMember.Read.All'],
      secrets: [{ keyId: randomUUID(), value: secret, expiresAt: '2099-01-01T00:00:00Z' }],
    },
    {
      appId: noGroupsApp,
      roles: ['User.Read.All'],
      secrets: [{ keyId: randomUUID(), value: secret, expiresAt: '2099-01-01T00:00:00Z' }],
    },
  ],
};

let sim: Simulator;
let token: string;

beforeAll(async () => {
  sim = await startSimulator({ tenants: [tenant] });
  trust(sim);
  token = (await credential(sim, tenantId, appId, secret).getToken(GRAPH_SCOPE)).token;
});
afterAll(() => sim.close());

/** `$search="displayName:<term>"`, escaped as Microsoft documents it and URL-encoded. */
const searchPath = (term: string, extra = '') =>
  `/groups?$search=${encodeURIComponent(`"displayName:${term.replace(/["\\]/g, '\\$&')}"`)}&$select=id,displayName${extra}`;

async function search(term: string, extra = ''): Promise<string[]> {
  const body = await graphClient(sim, token)
    .api(searchPath(term, extra))
    .header('ConsistencyLevel', 'eventual')
    .get();
  return (body.value as { displayName: string }[]).map((g) => g.displayName).sort();
}

describe('tokenizing as Graph does', () => {
  it('splits at spaces, symbols, digits and lower-to-upper case changes', () => {
    expect(searchTokens('helloWorld-2024')).toEqual(
      expect.arrayContaining(['hello', 'world', '2024', 'helloworld2024']),
    );
    expect(searchTokens('HELLOworld')).toEqual(['helloworld']);
    expect(searchTokens('HelloWORld')).toEqual(expect.arrayContaining(['hello', 'world']));
  });

  it('reads quoted clauses with escapes, joined by AND / OR', () => {
    expect(parseSearch('"displayName:a \\"b\\" \\\\c"')).toEqual({
      ok: true,
      expression: { clauses: [{ property: 'displayName', text: 'a "b" \\c' }], operators: [] },
    });
    expect(parseSearch('"displayName:a" OR "description:b"')).toMatchObject({
      ok: true,
      expression: { operators: ['OR'] },
    });
    expect(parseSearch('displayName:a')).toEqual({ ok: false, reason: 'syntax' });
    expect(parseSearch('("displayName:a")')).toEqual({ ok: false, reason: 'parentheses' });
  });
});

describe('GET /groups?$search', () => {
  it('finds groups whose name has words starting with every searched word, in any order and case', async () => {
    expect(await search('eng')).toEqual(['Engineering']);
    expect(await search('team platform')).toEqual(['Platform Team']);
    expect(await search('MARK')).toEqual(['Sales & Marketing']);
    expect(await search('world')).toEqual(['helloWorld-2024']);
    expect(await search('helloworld')).toEqual(['HELLOworld', 'helloWorld-2024']);
    expect(await search('nothing-like-it')).toEqual([]);
  });

  it('takes quotes, backslashes and & in the term, escaped and URL-encoded', async () => {
    expect(await search('"Quoted"')).toEqual(['The "Quoted" Group']);
    expect(await search('back\\slash')).toEqual(['Back\\Slash Admins']);
    expect(await search('sales & marketing')).toEqual(['Sales & Marketing']);
  });

  it('searches the description and combines clauses', async () => {
    const body = await graphClient(sim, token)
      .api(`/groups?$search=${encodeURIComponent('"description:money" OR "displayName:platform"')}`)
      .header('ConsistencyLevel', 'eventual')
      .get();
    expect((body.value as { displayName: string }[]).map((g) => g.displayName).sort()).toEqual([
      'Finance',
      'Platform Team',
    ]);
  });

  it('pages with $top, the nextLink keeping the search', async () => {
    const client = graphClient(sim, token);
    const first = await client
      .api(`/groups?$search=${encodeURIComponent('"displayName:hello"')}&$top=1&$count=true`)
      .header('ConsistencyLevel', 'eventual')
      .get();
    expect(first['@odata.count']).toBe(2);
    expect(first.value).toHaveLength(1);
    expect(first['@odata.nextLink']).toContain('$search=');
    const second = await client
      .api(first['@odata.nextLink'])
      .header('ConsistencyLevel', 'eventual')
      .get();
    expect(second.value).toHaveLength(1);
    expect(second['@odata.nextLink']).toBeUndefined();
  });

  it('lists every group without $search, leaving out deleted ones', async () => {
    sim.setFaults(tenantId, { deleteGroups: [{ groupId: groups[0]!.id, afterRequests: 0 }] });
    try {
      const body = await graphClient(sim, token).api('/groups?$select=id,displayName').get();
      expect(body.value).toHaveLength(names.length - 1);
      expect(await search('eng')).toEqual([]);
    } finally {
      sim.clearFaults(tenantId);
    }
  });

  it("answers Graph's 400 without ConsistencyLevel: eventual", async () => {
    const err = (await caught(
      graphClient(sim, token).api(searchPath('eng')).get(),
    )) as GraphClientError;
    expect(err.statusCode).toBe(400);
    expect(err.code).toBe('Request_UnsupportedQuery');
    expect(err.message).toBe(
      "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
    );
  });

  it('answers 403 to an app without a group-reading permission, 400 to an unknown property', async () => {
    const other = (await credential(sim, tenantId, noGroupsApp, secret).getToken(GRAPH_SCOPE))
      .token;
    const forbidden = (await caught(
      graphClient(sim, other).api(searchPath('eng')).header('ConsistencyLevel', 'eventual').get(),
    )) as GraphClientError;
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.code).toBe('Authorization_RequestDenied');
    const unknown = (await caught(
      graphClient(sim, token)
        .api(`/groups?$search=${encodeURIComponent('"colour:blue"')}`)
        .header('ConsistencyLevel', 'eventual')
        .get(),
    )) as GraphClientError;
    expect(unknown.statusCode).toBe(400);
  });

  it('still refuses $search where it is not simulated', async () => {
    const err = (await caught(
      graphClient(sim, token)
        .api(`/groups/${groups[0]!.id}/members?$search=${encodeURIComponent('"displayName:a"')}`)
        .header('ConsistencyLevel', 'eventual')
        .get(),
    )) as GraphClientError;
    expect(err.statusCode).toBe(400);
    expect(err.message).toMatch(/does not implement/);
  });
});
