import { dataPrefix, orgKeys } from '@pinnacle/redis-store';
import type { RedisFixture } from '@pinnacle/testing/fixtures';
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTokenVerifier } from '../src/auth.js';
import { subjectKey } from '../src/limits.js';
import { test } from './fixtures.js';
import {
  AUTH_SECRET,
  type RequestOptions,
  settingsBody,
  signToken,
  startTestApi,
  type TestApi,
  unsignedToken,
} from './helpers.js';

let r: RedisFixture;
let api: TestApi;
const tokensUsed: string[] = [];

async function token(options: Parameters<typeof signToken>[0] = {}): Promise<string> {
  const t = await signToken(options);
  tokensUsed.push(t);
  return t;
}

test.beforeAll(async ({ redis, api: started }) => {
  r = redis;
  api = started;
});

const openApiSchema = z.object({
  paths: z.record(z.string(), z.record(z.string(), z.unknown())),
});

/** Every /api/v1 operation, from the app's own OpenAPI document, with a valid body for writes. */
async function everyRoute(
  orgId: string,
): Promise<{ method: string; path: string; options: RequestOptions }[]> {
  const doc = openApiSchema.parse((await api.request('GET', '/openapi.json')).json);
  const bodies: Record<string, unknown> = {
    'PUT /api/v1/orgs/{orgId}/integration': settingsBody(),
    'PUT /api/v1/orgs/{orgId}/integration/client-secret': {
      clientSecret: 'rotated-secret-value-123',
      expiresAt: '2031-01-01T00:00:00Z',
    },
    'POST /api/v1/orgs/{orgId}/syncs': {},
  };
  const queries: Record<string, string> = {
    'GET /api/v1/orgs/{orgId}/entra/groups': '?search=staff',
  };
  const out: { method: string; path: string; options: RequestOptions }[] = [];
  for (const [template, operations] of Object.entries(doc.paths)) {
    if (!template.startsWith('/api/v1/')) continue;
    for (const method of Object.keys(operations)) {
      const upper = method.toUpperCase();
      const path = template
        .replace('{orgId}', orgId)
        .replace('{runId}', 'run-1')
        .replace(
          '{id}',
          template.includes('/certificates/')
            ? '5e5e5e5e-0000-4000-8000-000000000005'
            : 'notification-1',
        );
      const body = bodies[`${upper} ${template}`];
      const query = queries[`${upper} ${template}`] ?? '';
      out.push({
        method: upper,
        path: `${path}${query}`,
        options: body === undefined ? {} : { body },
      });
    }
  }
  return out;
}

describe('bearer authentication', () => {
  it('answers 401 with WWW-Authenticate: Bearer without a token', async () => {
    const res = await api.request('GET', '/api/v1/orgs/org-a/integration');
    expect(res.status).toBe(401);
    expect(res.json).toEqual({ error: 'unauthorized' });
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('refuses other schemes and malformed headers', async () => {
    for (const authorization of [
      'Basic YWRtaW46cGFzcw==',
      'Bearer',
      'Bearer not-a-jwt',
      `Token ${await token()}`,
    ]) {
      const res = await api.request('GET', '/api/v1/orgs/org-a/integration', {
        headers: { authorization },
      });
      expect(res.status, authorization.slice(0, 10)).toBe(401);
      expect(res.json).toEqual({ error: 'unauthorized' });
    }
  });

  const refused: [string, () => Promise<string>][] = [
    ['a bad signature', () => token({ secret: 'another-secret-of-sufficient-length-000' })],
    ['an expired token', () => token({ expiresIn: -120 })],
    [
      'alg none',
      async () =>
        unsignedToken({
          sub: 'x',
          org: '*',
          role: 'admin',
          exp: Math.floor(Date.now() / 1000) + 600,
        }),
    ],
    ['HS512 (only HS256 is accepted)', () => token({ alg: 'HS512' })],
    ['a wrong role', () => token({ role: 'viewer' })],
    ['no exp', () => token({ omit: ['exp'] })],
    ['no sub', () => token({ omit: ['sub'] })],
    ['no org', () => token({ omit: ['org'] })],
    ['a malformed org', () => token({ org: 'a:b' })],
    [
      'an RS256 token',
      async () => {
        const { privateKey } = await generateKeyPair('RS256');
        return new SignJWT({ sub: 'x', org: '*', role: 'admin' })
          .setProtectedHeader({ alg: 'RS256' })
          .setExpirationTime('10m')
          .sign(privateKey);
      },
    ],
  ];
  for (const [name, make] of refused) {
    it(`answers 401 for ${name}`, async () => {
      const t = await make();
      tokensUsed.push(t);
      const res = await api.request('GET', '/api/v1/orgs/org-a/sync-overview', { token: t });
      expect(res.status).toBe(401);
      expect(res.json).toEqual({ error: 'unauthorized' });
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    });
  }

  it("answers 403 on every route for another org's token, and stores nothing", async () => {
    const other = await token({ org: 'org-b' });
    const keysBefore = (await r.keys()).sort();
    const routes = await everyRoute('org-a');
    expect(routes.length).toBe(20);
    for (const { method, path, options } of routes) {
      const res = await api.request(method, path, { ...options, token: other });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.json).toEqual({ error: 'forbidden' });
    }
    // Even a malformed org ID is refused as forbidden: the token's org is checked first.
    const hostile = await api.request('GET', '/api/v1/orgs/a%3Ab/integration', { token: other });
    expect(hostile.status).toBe(403);
    // Only the token's own request counter (under its own org): every request counts, refused ones too.
    const counter = orgKeys(dataPrefix(r.prefix), 'org-b').requestRate(subjectKey('admin@portal'));
    expect((await r.keys()).sort()).toEqual([...keysBefore, counter].sort());
    expect(await r.redis.get(counter)).toBe(String(routes.length + 1));
  });

  it('lets a "*" token and a token of the same org through on every route', async () => {
    for (const t of [await token({ org: '*' }), await token({ org: 'org-c' })]) {
      for (const { method, path, options } of await everyRoute('org-c')) {
        // The list of every org is the "*" token's alone (below).
        if (path === '/api/v1/orgs') continue;
        const res = await api.request(method, path, { ...options, token: t });
        expect([401, 403], `${method} ${path}`).not.toContain(res.status);
        // Entra ID is out of reach in this test (a closed port): the group search says so, 502.
        const ceiling = path.includes('/entra/groups') ? 503 : 500;
        expect(res.status, `${method} ${path}: ${res.text}`).toBeLessThan(ceiling);
      }
    }
  });

  it('lists the orgs only for a "*" token', async () => {
    const all = await api.request('GET', '/api/v1/orgs', { token: await token({ org: '*' }) });
    expect(all.status).toBe(200);
    for (const org of ['org-c', 'org-a']) {
      const res = await api.request('GET', '/api/v1/orgs', { token: await token({ org }) });
      expect(res.status, org).toBe(403);
      expect(res.json).toEqual({ error: 'forbidden' });
    }
    expect((await api.request('GET', '/api/v1/orgs')).status).toBe(401);
  });

  it("keys the request rate by a hash of the sub under the token's own org: a hostile sub reaches no other key", async () => {
    const hostileSub = `x}:{o:org-victim}:request-rate:\r\n${'y'.repeat(200)}`;
    const t = await token({ sub: hostileSub, org: 'org-h' });
    const keysBefore = new Set(await r.keys());
    const res = await api.request('GET', '/api/v1/orgs/org-h/notifications', { token: t });
    expect(res.status).toBe(200);
    const added = (await r.keys()).filter((k) => !keysBefore.has(k));
    expect(added).toEqual([
      orgKeys(dataPrefix(r.prefix), 'org-h').requestRate(subjectKey(hostileSub)),
    ]);
    expect(added[0]).toMatch(/:\{o:org-h\}:request-rate:[A-Za-z0-9_-]{22}$/);
    expect((await r.keys()).some((k) => k.includes('org-victim'))).toBe(false);
  });

  it('never writes a token to the log', () => {
    expect(api.logs.length).toBeGreaterThan(0);
    const log = api.logs.join('\n');
    expect(tokensUsed.length).toBeGreaterThan(10);
    for (const t of tokensUsed) {
      expect(log).not.toContain(t);
      // Nor its signature part alone.
      const signature = t.split('.')[2];
      if (signature) expect(log).not.toContain(signature);
    }
    expect(log).not.toMatch(/authorization/i);
  });
});

const HOUR = 3600;

describe('a token verified once', () => {
  it('is taken again without verifying its signature, until it expires', async () => {
    let now = new Date();
    const verifier = createTokenVerifier(AUTH_SECRET, () => now);
    const t = await signToken({ expiresIn: 60 });
    const first = await verifier.verify(`Bearer ${t}`);
    expect(first).toMatchObject({ ok: true, claims: { sub: 'admin@portal', org: '*' } });
    expect(await verifier.verify(`Bearer ${t}`)).toEqual(first);
    // The same claims under another signature are not the token that was verified.
    const [header, payload] = t.split('.');
    expect(await verifier.verify(`Bearer ${header}.${payload}.${'A'.repeat(43)}`)).toEqual({
      ok: false,
      reason: 'invalid',
    });
    now = new Date(now.getTime() + 120_000);
    expect(await verifier.verify(`Bearer ${t}`)).toEqual({ ok: false, reason: 'expired' });
    expect(await verifier.verify(`Bearer ${t}`)).toEqual({ ok: false, reason: 'expired' });
  });
});

describe('token lifetime (API_AUTH_MAX_TOKEN_LIFETIME, default 24 h)', () => {
  const path = '/api/v1/orgs/org-a/sync-overview';
  const lifetimeRefusal = z.object({
    error: z.literal('unauthorized'),
    message: z.string().regex(/lives longer than this service accepts/),
  });

  const accepted: [string, Parameters<typeof signToken>[0]][] = [
    ['an hour-long token', { expiresIn: HOUR }],
    ['a token of exactly 24 h', { expiresIn: 24 * HOUR }],
    ['a token without iat, expiring within 24 h', { expiresIn: 23 * HOUR, omit: ['iat'] }],
    ['a token issued 23 h ago for 24 h', { issuedAt: -23 * HOUR, expiresIn: HOUR }],
  ];
  for (const [name, options] of accepted) {
    it(`accepts ${name}`, async () => {
      const res = await api.request('GET', path, { token: await token(options) });
      expect(res.status, res.text).toBe(200);
    });
  }

  const refused: [string, Parameters<typeof signToken>[0]][] = [
    ['a token expiring in 25 h', { expiresIn: 25 * HOUR }],
    ['a token expiring in a year, without iat', { expiresIn: 365 * 24 * HOUR, omit: ['iat'] }],
    [
      'a token issued 2 days ago, still valid for an hour',
      { issuedAt: -48 * HOUR, expiresIn: HOUR },
    ],
  ];
  for (const [name, options] of refused) {
    it(`refuses ${name}, saying why and never echoing the token`, async () => {
      const t = await token(options);
      const res = await api.request('GET', path, { token: t });
      expect(res.status).toBe(401);
      lifetimeRefusal.parse(res.json);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(res.text).not.toContain(t);
      expect(res.text).not.toContain(t.split('.')[1]);
    });
  }

  it('follows the configured bound', async () => {
    const strict = await startTestApi(r, { env: { API_AUTH_MAX_TOKEN_LIFETIME: 600 } });
    try {
      const ok = await strict.request('GET', path, { token: await token({ expiresIn: 300 }) });
      expect(ok.status).toBe(200);
      const long = await strict.request('GET', path, { token: await token({ expiresIn: 1200 }) });
      expect(long.status).toBe(401);
      expect(long.json).toMatchObject({ message: expect.stringContaining('600 seconds') });
      expect(strict.logs.join('\n')).toContain('"reason":"lifetime"');
    } finally {
      await strict.close();
    }
  });
});

describe('issuer and audience (API_AUTH_ISSUER, API_AUTH_AUDIENCE)', () => {
  const ISSUER = 'https://portal.pinnacle.example';
  const AUDIENCE = 'pinnacle-entra-sync';
  const path = '/api/v1/orgs/org-a/sync-overview';
  let strict: TestApi;

  beforeAll(async () => {
    strict = await startTestApi(r, {
      env: { API_AUTH_ISSUER: ISSUER, API_AUTH_AUDIENCE: AUDIENCE },
    });
  });
  afterAll(async () => {
    await strict?.close();
  });

  it('accepts a token carrying both (the audience may be one of several)', async () => {
    for (const audience of [AUDIENCE, ['another-service', AUDIENCE]]) {
      const t = await token({ issuer: ISSUER, audience });
      expect((await strict.request('GET', path, { token: t })).status).toBe(200);
    }
  });

  const refused: [string, Parameters<typeof signToken>[0], RegExp][] = [
    ['no issuer', { audience: AUDIENCE }, /issuer/],
    ['another issuer', { issuer: 'https://evil.example', audience: AUDIENCE }, /issuer/],
    ['no audience', { issuer: ISSUER }, /not meant for this service/],
    ['another audience', { issuer: ISSUER, audience: 'other' }, /not meant for this service/],
  ];
  for (const [name, options, message] of refused) {
    it(`refuses ${name} with a 401 that says which claim, without echoing it`, async () => {
      const t = await token(options);
      const res = await strict.request('GET', path, { token: t });
      expect(res.status).toBe(401);
      expect(res.json).toMatchObject({
        error: 'unauthorized',
        message: expect.stringMatching(message),
      });
      expect(res.text).not.toContain('evil.example');
      expect(res.text).not.toContain(t);
    });
  }

  it('are not required when unset (the default)', async () => {
    const t = await token({ issuer: 'https://anyone.example', audience: 'anything' });
    expect((await api.request('GET', path, { token: t })).status).toBe(200);
    expect((await api.request('GET', path, { token: await token() })).status).toBe(200);
  });

  it('still never logs a token', () => {
    const log = strict.logs.join('\n');
    expect(log).toContain('"reason":"issuer"');
    expect(log).toContain('"reason":"audience"');
    for (const t of tokensUsed) {
      expect(log).not.toContain(t);
      const signature = t.split('.')[2];
      if (signature) expect(log).not.toContain(signature);
    }
  });
});
