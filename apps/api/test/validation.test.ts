import { createStores, dataPrefix, orgKeys } from '@pinnacle/redis-store';
import type { RedisFixture } from '@pinnacle/testing/fixtures';
import { beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { test } from './fixtures.js';
import { ENCRYPTION_KEY, settingsBody, signToken, type TestApi } from './helpers.js';

let r: RedisFixture;
let api: TestApi;
let token: string;
let keysBefore: string[];

const validationError = z.object({
  error: z.literal('validation_failed'),
  issues: z.array(z.object({ path: z.string(), message: z.string() })).min(1),
});

test.beforeAll(async ({ redis, api: started }) => {
  r = redis;
  api = started;
  token = await signToken({ org: '*' });
  // A stored integration, so the rotation route's 400s are not masked by a 404.
  const seeded = await api.request('PUT', '/api/v1/orgs/org-v/integration', {
    token,
    body: settingsBody(),
  });
  expect(seeded.status).toBe(201);
});
beforeEach(async () => {
  keysBefore = (await r.keys()).sort();
});

async function expectNothingStored(): Promise<void> {
  expect((await r.keys()).sort()).toEqual(keysBefore);
  const stored = await api.request('GET', '/api/v1/orgs/org-v/integration', { token });
  expect(stored.status).toBe(200);
}

async function expectStillServing(): Promise<void> {
  expect((await api.request('GET', '/healthz')).status).toBe(200);
  expect((await api.request('GET', '/api/v1/orgs/org-v/syncs', { token })).status).toBe(200);
}

function pathsOf(json: unknown): string[] {
  return validationError.parse(json).issues.map((i) => i.path);
}

const writeRoutes = [
  { method: 'PUT', path: '/api/v1/orgs/org-v/integration' },
  { method: 'PUT', path: '/api/v1/orgs/org-v/integration/client-secret' },
  { method: 'POST', path: '/api/v1/orgs/org-v/syncs' },
  { method: 'POST', path: '/api/v1/orgs/org-v/notifications/n-1/read' },
  { method: 'POST', path: '/api/v1/orgs/org-v/notifications/read-all' },
  { method: 'POST', path: '/api/v1/orgs/org-v/integration/test' },
  { method: 'POST', path: '/api/v1/orgs/org-v/integration/certificates' },
  {
    method: 'DELETE',
    path: '/api/v1/orgs/org-v/integration/certificates/5e5e5e5e-0000-4000-8000-000000000005',
  },
  { method: 'DELETE', path: '/api/v1/orgs/org-v/integration' },
] as const;

describe('bad input to every write route', () => {
  for (const route of writeRoutes) {
    describe(`${route.method} ${route.path}`, () => {
      it('answers 400 invalid_json to malformed JSON', async () => {
        for (const rawBody of ['{"tenantId":', '{bad json}', '"just a string"', 'nul']) {
          const res = await api.request(route.method, route.path, { token, rawBody });
          expect(res.status, rawBody).toBe(400);
          expect(res.json).toEqual({ error: 'invalid_json' });
        }
        await expectNothingStored();
      });

      it('answers 400 naming an unknown field', async () => {
        const res = await api.request(route.method, route.path, {
          token,
          body: { surprise: 'x', 'we.ird key': 1 },
        });
        expect(res.status).toBe(400);
        expect(pathsOf(res.json)).toEqual(expect.arrayContaining(['surprise', '["we.ird key"]']));
        await expectNothingStored();
      });

      it('answers 400 to a body that is not an object', async () => {
        const res = await api.request(route.method, route.path, { token, body: [1, 2] });
        expect(res.status).toBe(400);
        validationError.parse(res.json);
        await expectNothingStored();
      });

      it('answers 413 to a body over 64 kB', async () => {
        const rawBody = JSON.stringify({ padding: 'x'.repeat(70 * 1024) });
        const res = await api.request(route.method, route.path, { token, rawBody });
        expect(res.status).toBe(413);
        expect(res.json).toEqual({ error: 'payload_too_large' });
        await expectNothingStored();
        await expectStillServing();
      });

      it('answers 415 to a body that is not JSON', async () => {
        for (const contentType of ['text/plain', 'application/x-www-form-urlencoded']) {
          const res = await api.request(route.method, route.path, {
            token,
            rawBody: '{}',
            contentType,
          });
          expect(res.status, contentType).toBe(415);
          expect(res.json).toEqual({ error: 'unsupported_media_type' });
        }
        await expectNothingStored();
      });

      it('answers 400 naming the path ID for hostile IDs', async () => {
        const hostile = [
          '..%2Fx',
          'a%3Ab',
          'x'.repeat(200),
          '%C3%A9t%C3%A9',
          '%F0%9F%98%80',
          'a%20b',
          '%00',
          'a%7Bb%7D',
        ];
        for (const id of hostile) {
          const orgPath = route.path.replace('org-v', id);
          const res = await api.request(route.method, orgPath, { token, body: {} });
          expect(res.status, id).toBe(400);
          expect(pathsOf(res.json), id).toContain('orgId');
          expect(res.text).not.toContain(decodeURIComponent(id));
          for (const pathId of ['n-1', '5e5e5e5e-0000-4000-8000-000000000005']) {
            if (!route.path.includes(pathId)) continue;
            const idPath = route.path.replace(pathId, id);
            const byId = await api.request(route.method, idPath, { token, body: {} });
            expect(byId.status, id).toBe(400);
            expect(pathsOf(byId.json), id).toEqual(['id']);
          }
        }
        await expectNothingStored();
        await expectStillServing();
      });
    });
  }
});

describe('field validation', () => {
  it('names each bad settings field and never echoes a value', async () => {
    const hostileSecret = 'bad secret\u200b with <script>';
    const res = await api.request('PUT', '/api/v1/orgs/org-v/integration', {
      token,
      body: settingsBody({
        tenantId: '../../etc/passwd',
        clientId: 'not-a-guid',
        clientSecret: hostileSecret,
        groupIds: 'abc',
        schedule: { enabled: 'yes', every: '1m' },
        notifications: { email: { enabled: true, recipients: ['a@b.com\r\nBcc: x@y.z'] } },
      }),
    });
    expect(res.status).toBe(400);
    expect(pathsOf(res.json)).toEqual(
      expect.arrayContaining([
        'tenantId',
        'clientId',
        'clientSecret',
        'groupIds',
        'schedule.enabled',
        'schedule.every',
        'notifications.email.recipients[0]',
      ]),
    );
    for (const value of ['../../etc/passwd', 'not-a-guid', 'bad secret', '<script>', 'Bcc']) {
      expect(res.text).not.toContain(value);
    }
    expect(api.logs.join('\n')).not.toContain('bad secret');
    await expectNothingStored();
  });

  it('requires clientSecretExpiresAt with a new secret', async () => {
    const res = await api.request('PUT', '/api/v1/orgs/org-v/integration', {
      token,
      body: settingsBody({ clientSecretExpiresAt: undefined }),
    });
    expect(res.status).toBe(400);
    expect(pathsOf(res.json)).toEqual(['clientSecretExpiresAt']);
    await expectNothingStored();
  });

  it('names the rotation fields', async () => {
    const res = await api.request('PUT', '/api/v1/orgs/org-v/integration/client-secret', {
      token,
      body: { clientSecret: 42, expiresAt: 'tomorrow' },
    });
    expect(res.status).toBe(400);
    expect(pathsOf(res.json).sort()).toEqual(['clientSecret', 'expiresAt']);
    await expectNothingStored();
  });

  it('names a wrongly typed Sync Now option', async () => {
    const res = await api.request('POST', '/api/v1/orgs/org-v/syncs', {
      token,
      body: { allowMassRemoval: 'true' },
    });
    expect(res.status).toBe(400);
    expect(pathsOf(res.json)).toEqual(['allowMassRemoval']);
    await expectNothingStored();
  });

  it("a refused Sync Now (400, 415, 413) spends none of the org's budget of new runs", async () => {
    for (let i = 0; i < 15; i++) {
      const res = await api.request('POST', '/api/v1/orgs/org-v/syncs', {
        token,
        body: { allowMassRemoval: i },
      });
      expect(res.status).toBe(400);
    }
    const budget = orgKeys(dataPrefix(r.prefix), 'org-v').syncNowBudget;
    expect(await r.redis.exists(budget)).toBe(0);
    await expectNothingStored();
    // And the org can still press: the first press makes a run.
    const press = await api.request('POST', '/api/v1/orgs/org-v/syncs', { token });
    expect(press.status).toBe(202);
    expect(await r.redis.get(budget)).toBe('1');
  });

  it('names bad query parameters', async () => {
    const cases: [string, string][] = [
      ['/api/v1/orgs/org-v/syncs?limit=0', 'limit'],
      ['/api/v1/orgs/org-v/syncs?limit=abc', 'limit'],
      ['/api/v1/orgs/org-v/syncs?limit=1e2', 'limit'],
      ['/api/v1/orgs/org-v/syncs?limit=201', 'limit'],
      ['/api/v1/orgs/org-v/syncs?limit=1&limit=2', 'limit'],
      ['/api/v1/orgs/org-v/syncs?cursor=%2F%2F', 'cursor'],
      ['/api/v1/orgs/org-v/syncs?sort=asc', 'sort'],
      ['/api/v1/orgs/org-v/notifications?unread=maybe', 'unread'],
      ['/api/v1/orgs/org-v/directory/users?cursor=not*a*cursor', 'cursor'],
      ['/api/v1/orgs/org-v/syncs/run-1/changes?change=moved', 'change'],
      ['/api/v1/orgs/org-v/syncs/run-1/changes?change=added&change=removed', 'change'],
      ['/api/v1/orgs/org-v/syncs/run-1/changes?cursor=not*a*cursor', 'cursor'],
      ['/api/v1/orgs/org-v/syncs/run-1/changes?limit=201', 'limit'],
      ['/api/v1/orgs/org-v/syncs/run-1/changes?user=x', 'user'],
      ['/api/v1/orgs/org-v/integration?x=1', 'x'],
      ['/api/v1/orgs?limit=0', 'limit'],
      ['/api/v1/orgs?cursor=%2F%2F', 'cursor'],
      // A well-formed cursor whose content is no org ID: not one the API issued.
      [`/api/v1/orgs?cursor=${Buffer.from('a:b').toString('base64url')}`, 'cursor'],
      ['/api/v1/orgs?org=x', 'org'],
      ['/api/v1/orgs/org-v/entra/groups', 'search'],
      ['/api/v1/orgs/org-v/entra/groups?search=', 'search'],
      ['/api/v1/orgs/org-v/entra/groups?search=%20%20', 'search'],
      [`/api/v1/orgs/org-v/entra/groups?search=${'a'.repeat(121)}`, 'search'],
      ['/api/v1/orgs/org-v/entra/groups?search=a&search=b', 'search'],
      ['/api/v1/orgs/org-v/entra/groups?search=a&top=5', 'top'],
    ];
    for (const [url, field] of cases) {
      const res = await api.request('GET', url, { token });
      expect(res.status, url).toBe(400);
      expect(pathsOf(res.json), url).toEqual([field]);
    }
  });

  it('names a tampered, forged or foreign directory cursor', async () => {
    // A committed snapshot of two users, so there is a real cursor to tamper with.
    const stores = createStores(r.redis, r.prefix, ENCRYPTION_KEY);
    const users = ['a', 'b'].map((n) => ({
      id: `00000000-0000-4000-8000-00000000000${n === 'a' ? 1 : 2}`,
      displayName: n,
      mail: null,
      userPrincipalName: `${n}@contoso.com`,
      accountEnabled: true,
    }));
    await stores.snapshots.resetStaging('org-v', 'run-v');
    await stores.snapshots.stagePage('org-v', 'run-v', 'g', users);
    const built = await stores.snapshots.buildVersion('org-v', 'run-v', {
      includeDisabledUsers: true,
    });
    await stores.snapshots.promote('org-v', 'run-v', built.baseVersion, {});
    // And a run still staging, whose copy no cursor may reach.
    await stores.snapshots.resetStaging('org-v', 'run-staging');
    await stores.snapshots.stagePage('org-v', 'run-staging', 'g', users);

    const first = await api.request('GET', '/api/v1/orgs/org-v/directory/users?limit=1', { token });
    const cursor = z.object({ nextCursor: z.string() }).parse(first.json).nextCursor;
    const raw = Buffer.from(cursor, 'base64url');
    const flipped = Buffer.from(raw);
    flipped[0] = (flipped[0] as number) ^ 0x01;
    const macFlipped = Buffer.from(raw);
    macFlipped[raw.length - 1] = (macFlipped[raw.length - 1] as number) ^ 0x01;
    const b64 = (value: string) => Buffer.from(value).toString('base64url');
    const hostile = [
      flipped.toString('base64url'),
      macFlipped.toString('base64url'),
      raw.subarray(0, raw.length - 16).toString('base64url'),
      b64(JSON.stringify({ v: 'run-staging', a: '' })),
      Buffer.concat([
        Buffer.from(JSON.stringify({ v: 'run-staging', a: '' })),
        raw.subarray(-16),
      ]).toString('base64url'),
    ];
    const other = await signToken({ org: 'org-w' });
    for (const bad of hostile) {
      const res = await api.request('GET', `/api/v1/orgs/org-v/directory/users?cursor=${bad}`, {
        token,
      });
      expect(res.status, bad).toBe(400);
      expect(pathsOf(res.json)).toEqual(['cursor']);
      expect(res.text).not.toContain('secret');
    }
    // org-v's genuine cursor, presented for another org (with that org's token).
    const foreign = await api.request(
      'GET',
      `/api/v1/orgs/org-w/directory/users?cursor=${cursor}`,
      {
        token: other,
      },
    );
    expect(foreign.status).toBe(400);
    expect(pathsOf(foreign.json)).toEqual(['cursor']);
    // The untouched cursor reads on.
    const next = await api.request('GET', `/api/v1/orgs/org-v/directory/users?cursor=${cursor}`, {
      token,
    });
    expect(next.status).toBe(200);
  });

  it('names an unknown query parameter of a write route', async () => {
    const res = await api.request('POST', '/api/v1/orgs/org-v/notifications/read-all?all=1', {
      token,
    });
    expect(res.status).toBe(400);
    expect(pathsOf(res.json)).toEqual(['all']);
  });

  it('names a hostile run ID', async () => {
    for (const id of ['..%2Fx', 'a%3Ab', 'r'.repeat(65), '%E2%80%AE']) {
      for (const path of [
        `/api/v1/orgs/org-v/syncs/${id}`,
        `/api/v1/orgs/org-v/syncs/${id}/changes`,
      ]) {
        const res = await api.request('GET', path, { token });
        expect(res.status, path).toBe(400);
        expect(pathsOf(res.json)).toEqual(['runId']);
      }
    }
  });

  it('answers 400 to a path that does not URL-decode, and keeps serving', async () => {
    const res = await api.request('GET', '/api/v1/orgs/%E0%A4%A/integration', { token });
    expect(res.status).toBe(400);
    await expectStillServing();
  });

  it('answers unknown routes with a JSON 404', async () => {
    for (const [method, url] of [
      ['GET', '/nope'],
      ['GET', '/api/v1/orgs/org-v/unknown'],
      ['DELETE', '/api/v1/orgs/org-v/syncs'],
      ['DELETE', '/api/v1/orgs/org-v/integration/client-secret'],
    ] as const) {
      const res = await api.request(method, url, { token });
      expect(res.status, url).toBe(404);
      expect(res.json).toEqual({ error: 'not_found' });
    }
    const noAuth = await api.request('GET', '/nope');
    expect(noAuth.status).toBe(404);
  });

  it('names a hostile certificate ID on every certificate route, storing nothing', async () => {
    const base = '/api/v1/orgs/org-v/integration/certificates';
    for (const id of ['..%2F..%2Fx', 'a%3Ab', 'not-a-guid', '%00', 'x'.repeat(100)]) {
      for (const [method, path] of [
        ['GET', `${base}/${id}/certificate.cer`],
        ['DELETE', `${base}/${id}`],
      ] as const) {
        const res = await api.request(method, path, { token });
        expect(res.status, `${method} ${id}`).toBe(400);
        expect(pathsOf(res.json)).toEqual(['id']);
        expect(res.text).not.toContain(decodeURIComponent(id));
      }
    }
    for (const path of [base, `${base}/5e5e5e5e-0000-4000-8000-000000000005/certificate.cer`]) {
      const res = await api.request('GET', `${path}?format=pem`, { token });
      expect(res.status, path).toBe(400);
      expect(pathsOf(res.json)).toEqual(['format']);
    }
    const body = await api.request('POST', base, { token, body: { validityDays: 1e9 } });
    expect(pathsOf(body.json)).toEqual(['validityDays']);
    await expectNothingStored();
    await expectStillServing();
  });

  it('does not say which framework it runs on', async () => {
    const res = await api.request('GET', '/healthz');
    expect(res.headers.get('x-powered-by')).toBeNull();
  });
});
