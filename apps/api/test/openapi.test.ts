import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeApi } from '../src/index.js';
import { test } from './fixtures.js';
import type { TestApi } from './helpers.js';

let api: TestApi;

test.beforeAll(async ({ api: started }) => {
  api = started;
});

const jsonSchema = z.record(z.string(), z.unknown());
const operationSchema = z.object({
  operationId: z.string().min(1),
  summary: z.string().min(1),
  security: z.array(z.record(z.string(), z.array(z.string()))),
  parameters: z
    .array(
      z.object({
        name: z.string(),
        in: z.enum(['path', 'query']),
        required: z.boolean(),
        schema: jsonSchema,
      }),
    )
    .optional(),
  requestBody: z
    .object({
      required: z.boolean(),
      content: z.object({ 'application/json': z.object({ schema: jsonSchema }) }),
    })
    .optional(),
  responses: z.record(
    z.string().regex(/^\d{3}$/),
    z.object({
      description: z.string(),
      content: z.record(z.string(), z.object({ schema: jsonSchema })).optional(),
    }),
  ),
});
const documentSchema = z.object({
  openapi: z.literal('3.1.0'),
  info: z.object({ title: z.string(), version: z.string() }),
  components: z.object({
    securitySchemes: z.object({
      bearerAuth: z.object({
        type: z.literal('http'),
        scheme: z.literal('bearer'),
        bearerFormat: z.literal('JWT'),
      }),
    }),
  }),
  paths: z.record(
    z.string(),
    z.partialRecord(z.enum(['get', 'put', 'post', 'delete']), operationSchema),
  ),
});

/** DESIGN.md's routes: what the document must describe. */
const expected: {
  method: 'get' | 'put' | 'post' | 'delete';
  path: string;
  success: string;
  query?: string[];
  /** Default application/json. */
  contentType?: string;
  /** The success answers with no body (204). */
  empty?: boolean;
}[] = [
  { method: 'get', path: '/api/v1/orgs/{orgId}/integration', success: '200' },
  { method: 'put', path: '/api/v1/orgs/{orgId}/integration', success: '201' },
  { method: 'delete', path: '/api/v1/orgs/{orgId}/integration', success: '204', empty: true },
  { method: 'put', path: '/api/v1/orgs/{orgId}/integration/client-secret', success: '200' },
  { method: 'post', path: '/api/v1/orgs/{orgId}/integration/certificates', success: '201' },
  { method: 'get', path: '/api/v1/orgs/{orgId}/integration/certificates', success: '200' },
  {
    method: 'get',
    path: '/api/v1/orgs/{orgId}/integration/certificates/{id}/certificate.cer',
    success: '200',
    contentType: 'application/pkix-cert',
  },
  { method: 'delete', path: '/api/v1/orgs/{orgId}/integration/certificates/{id}', success: '200' },
  { method: 'post', path: '/api/v1/orgs/{orgId}/syncs', success: '202' },
  { method: 'get', path: '/api/v1/orgs/{orgId}/syncs', success: '200', query: ['limit', 'cursor'] },
  { method: 'get', path: '/api/v1/orgs/{orgId}/syncs/{runId}', success: '200' },
  {
    method: 'get',
    path: '/api/v1/orgs/{orgId}/syncs/{runId}/changes',
    success: '200',
    query: ['limit', 'cursor', 'change'],
  },
  { method: 'get', path: '/api/v1/orgs/{orgId}/sync-overview', success: '200' },
  {
    method: 'get',
    path: '/api/v1/orgs/{orgId}/notifications',
    success: '200',
    query: ['limit', 'cursor', 'unread'],
  },
  { method: 'post', path: '/api/v1/orgs/{orgId}/notifications/{id}/read', success: '200' },
  { method: 'post', path: '/api/v1/orgs/{orgId}/notifications/read-all', success: '200' },
  { method: 'get', path: '/api/v1/orgs', success: '200', query: ['limit', 'cursor'] },
  { method: 'post', path: '/api/v1/orgs/{orgId}/integration/test', success: '200' },
  {
    method: 'get',
    path: '/api/v1/orgs/{orgId}/entra/groups',
    success: '200',
    query: ['search'],
  },
  {
    method: 'get',
    path: '/api/v1/orgs/{orgId}/directory/users',
    success: '200',
    query: ['limit', 'cursor'],
  },
];

describe('GET /openapi.json', () => {
  it('describes every route, with bearer security, from the same schemas', async () => {
    const res = await api.request('GET', '/openapi.json');
    expect(res.status).toBe(200);
    const doc = documentSchema.parse(res.json);

    const documented = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/api/v1/'))
      .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method} ${path}`))
      .sort();
    expect(documented).toEqual(expected.map((e) => `${e.method} ${e.path}`).sort());

    for (const route of expected) {
      const op = doc.paths[route.path]?.[route.method];
      if (!op) throw new Error(`${route.method} ${route.path} is missing`);
      expect(op.security).toEqual([{ bearerAuth: [] }]);
      expect(Object.keys(op.responses)).toEqual(
        expect.arrayContaining([route.success, '400', '401', '403', '503']),
      );
      const content = op.responses[route.success]?.content;
      if (route.empty) expect(content).toBeUndefined();
      else expect(content?.[route.contentType ?? 'application/json']?.schema).toBeDefined();
      const pathParams = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const params = op.parameters ?? [];
      expect(params.filter((p) => p.in === 'path').map((p) => p.name)).toEqual(pathParams);
      expect(params.filter((p) => p.in === 'path').every((p) => p.required)).toBe(true);
      expect(
        params
          .filter((p) => p.in === 'query')
          .map((p) => p.name)
          .sort(),
      ).toEqual([...(route.query ?? [])].sort());
      expect(op.requestBody !== undefined).toBe(route.method !== 'get');
    }
    const ids = Object.values(doc.paths).flatMap((ops) =>
      Object.values(ops).map((op) => op.operationId),
    );
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("describes every route's 429 with Retry-After and DESIGN's body naming the limit; Sync Now's names its budget", async () => {
    const raw = (await api.request('GET', '/openapi.json')).json as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    const tooMany = z.object({
      description: z.string(),
      headers: z.object({
        'Retry-After': z.object({ schema: z.object({ type: z.literal('integer') }) }),
      }),
      content: z.object({
        'application/json': z.object({
          schema: z.object({
            required: z.array(z.string()),
            properties: z.object({
              error: z.object({ const: z.literal('rate_limited') }),
              message: z.object({ type: z.literal('string') }),
              retryAfterSeconds: z.object({ type: z.literal('integer') }),
              limit: z.object({ enum: z.array(z.string()) }),
            }),
          }),
        }),
      }),
    });
    for (const route of expected) {
      const op = raw.paths[route.path]?.[route.method];
      const spec = tooMany.parse(op?.responses['429']);
      expect(spec.content['application/json'].schema.required.sort()).toEqual(
        ['error', 'limit', 'message', 'retryAfterSeconds'].sort(),
      );
      expect(spec.description).toContain('API_RATE_LIMIT_PER_MINUTE');
    }
    const syncNow = tooMany.parse(raw.paths['/api/v1/orgs/{orgId}/syncs']?.post?.responses['429']);
    expect(syncNow.description).toContain('SYNC_NOW_BUDGET');
    expect(syncNow.content['application/json'].schema.properties.limit.enum).toEqual([
      'request_rate',
      'sync_now_budget',
    ]);
  });

  it('describes request bodies by what they accept and responses by what they return', async () => {
    const doc = documentSchema.parse((await api.request('GET', '/openapi.json')).json);
    const put = doc.paths['/api/v1/orgs/{orgId}/integration']?.put;
    const body = put?.requestBody?.content['application/json'].schema;
    expect(body).toMatchObject({ type: 'object', additionalProperties: false });
    const properties = (body?.properties ?? {}) as Record<string, unknown>;
    expect(Object.keys(properties)).toEqual(
      expect.arrayContaining([
        'tenantId',
        'clientId',
        'clientSecret',
        'clientSecretExpiresAt',
        'groupIds',
        'schedule',
        'notifications',
      ]),
    );
    // Input view: defaulted fields are optional.
    expect(body?.required ?? []).not.toContain('groupIds');

    const view = put?.responses['200']?.content?.['application/json']?.schema;
    const viewProps = (view?.properties ?? {}) as Record<
      string,
      { properties?: Record<string, unknown> }
    >;
    expect(Object.keys(viewProps.clientSecret?.properties ?? {}).sort()).toEqual([
      'configured',
      'expiresAt',
      'hint',
    ]);
    expect(JSON.stringify(view)).not.toContain('sealed');

    const run =
      doc.paths['/api/v1/orgs/{orgId}/syncs/{runId}']?.get?.responses['200']?.content?.[
        'application/json'
      ]?.schema;
    expect(Object.keys((run?.properties ?? {}) as object)).toEqual(
      expect.arrayContaining([
        'id',
        'orgId',
        'trigger',
        'status',
        'stage',
        'failure',
        'warnings',
        'stats',
        'groups',
      ]),
    );
    type Props = { properties?: Record<string, unknown>; required?: string[] };
    const stats = (run?.properties as Record<string, Props> | undefined)?.stats;
    expect(stats?.required).toContain('tokenRequests');

    const overview =
      doc.paths['/api/v1/orgs/{orgId}/sync-overview']?.get?.responses['200']?.content?.[
        'application/json'
      ]?.schema;
    const groups = (overview?.properties as Record<string, { items?: Props }> | undefined)?.groups;
    expect(Object.keys(groups?.items?.properties ?? {}).sort()).toEqual([
      'displayName',
      'id',
      'lastSeenAt',
      'missing',
    ]);
    expect(Object.keys((overview?.properties ?? {}) as object)).toEqual(
      expect.arrayContaining(['authMethod', 'certificate', 'clientSecret']),
    );

    // A certificate: public parts only; the download is DER, described as binary.
    const certificate =
      doc.paths['/api/v1/orgs/{orgId}/integration/certificates']?.post?.responses['201']?.content?.[
        'application/json'
      ]?.schema;
    expect(Object.keys((certificate?.properties ?? {}) as object).sort()).toEqual([
      'activatedAt',
      'certificatePem',
      'createdAt',
      'id',
      'notAfter',
      'notBefore',
      'retiredAt',
      'status',
      'subject',
      'thumbprint',
      'thumbprintSha256',
    ]);
    expect(JSON.stringify(certificate)).not.toMatch(/private/i);
    expect(
      doc.paths['/api/v1/orgs/{orgId}/integration/certificates/{id}/certificate.cer']?.get
        ?.responses['200']?.content,
    ).toEqual({ 'application/pkix-cert': { schema: { type: 'string', format: 'binary' } } });
    expect(Object.keys(properties)).toContain('authMethod');
  });

  it('includes the probes and needs no token', async () => {
    const doc = documentSchema.parse(
      (await api.request('GET', '/openapi.json', { token: null })).json,
    );
    for (const path of ['/healthz', '/readyz', '/openapi.json']) {
      expect(doc.paths[path]?.get?.security, path).toEqual([]);
    }
    // Unrelated noise in the request changes nothing.
    const res = await api.request('GET', `/openapi.json?x=${randomBytes(2).toString('hex')}`);
    expect(res.status).toBe(200);
  });

  it('describes the fleet view behind the ops credentials (HTTP Basic)', async () => {
    const raw = (await api.request('GET', '/openapi.json')).json as {
      components: { securitySchemes: Record<string, unknown> };
    };
    expect(raw.components.securitySchemes.opsBasicAuth).toEqual({ type: 'http', scheme: 'basic' });
    const doc = documentSchema.parse(raw);
    const fleet = doc.paths['/ops/orgs']?.get;
    expect(fleet?.security).toEqual([{ opsBasicAuth: [] }]);
    expect((fleet?.parameters ?? []).map((p) => p.name).sort()).toEqual([
      'code',
      'cursor',
      'limit',
      'status',
    ]);
    expect(Object.keys(fleet?.responses ?? {})).toEqual(
      expect.arrayContaining(['200', '400', '401', '429', '503']),
    );
  });

  it('is the document describeApi() gives without a running app (the console is typed from it)', async () => {
    const served = (await api.request('GET', '/openapi.json')).json;
    expect(describeApi()).toEqual(served);
  });
});
