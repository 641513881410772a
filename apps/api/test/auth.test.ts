import { type TestRedis, useTestRedis } from '@pinnacle/testing';
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type RequestOptions,
  settingsBody,
  signToken,
  startTestApi,
  type TestApi,
  unsignedToken,
} from './helpers.js';

let r: TestRedis;
let api: TestApi;
const tokensUsed: string[] = [];

async function token(options: Parameters<typeof signToken>[0] = {}): Promise<string> {
  const t = await signToken(options);
  tokensUsed.push(t);
  return t;
}

beforeAll(async () => {
  r = await useTestRedis('api-auth');
  api = await startTestApi(r);
});
afterAll(async () => {
  await api?.close();
  await r?.cleanup();
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
  const out: { method: string; path: string; options: RequestOptions }[] = [];
  for (const [template, operations] of Object.entries(doc.paths)) {
    if (!template.startsWith('/api/v1/')) continue;
    for (const method of Object.keys(operations)) {
      const upper = method.toUpperCase();
      const path = template
        .replace('{orgId}', orgId)
        .replace('{runId}', 'run-1')
        .replace('{id}', 'notification-1');
      const body = bodies[`${upper} ${template}`];
      out.push({ method: upper, path, options: body === undefined ? {} : { body } });
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
    expect(routes.length).toBe(10);
    for (const { method, path, options } of routes) {
      const res = await api.request(method, path, { ...options, token: other });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.json).toEqual({ error: 'forbidden' });
    }
    // Even a malformed org ID is refused as forbidden: the token's org is checked first.
    const hostile = await api.request('GET', '/api/v1/orgs/a%3Ab/integration', { token: other });
    expect(hostile.status).toBe(403);
    expect((await r.keys()).sort()).toEqual(keysBefore);
  });

  it('lets a "*" token and a token of the same org through on every route', async () => {
    for (const t of [await token({ org: '*' }), await token({ org: 'org-c' })]) {
      for (const { method, path, options } of await everyRoute('org-c')) {
        const res = await api.request(method, path, { ...options, token: t });
        expect([401, 403], `${method} ${path}`).not.toContain(res.status);
        expect(res.status, `${method} ${path}: ${res.text}`).toBeLessThan(500);
      }
    }
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
