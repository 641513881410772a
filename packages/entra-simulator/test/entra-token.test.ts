import { createPublicKey, verify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoTenants, type Simulator, startSimulator } from '../src/index.js';
import { caught, credential, decodeJwt, entraFailure, GRAPH_SCOPE, trust } from './helpers.js';

const demos = demoTenants();
const contoso = demos.find((d) => d.key === 'contoso')!;
const fabrikam = demos.find((d) => d.key === 'fabrikam')!;
const northwind = demos.find((d) => d.key === 'northwind')!;
let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ tenants: [contoso.tenant, fabrikam.tenant, northwind.tenant] });
  trust(sim);
});
afterAll(() => sim.close());

describe('token endpoint through ClientSecretCredential', () => {
  // An unknown tenant fails at the token endpoint here, as against Microsoft's
  // own hosts; the metadata-discovery path is tested below.
  beforeAll(() => sim.updateSettings({ unknownTenantFailsAt: 'token_endpoint' }));
  afterAll(() => sim.reset());

  it('issues a signed Graph token carrying the granted application permissions', async () => {
    const c = contoso.credentials;
    const token = await credential(sim, c.tenantId, c.clientId, c.clientSecret).getToken(
      GRAPH_SCOPE,
    );
    const claims = decodeJwt(token.token);
    expect(claims).toMatchObject({
      aud: 'https://graph.microsoft.com',
      iss: `https://sts.windows.net/${c.tenantId}/`,
      tid: c.tenantId,
      appid: c.clientId,
      idtyp: 'app',
      ver: '1.0',
      roles: ['User.Read.All', 'GroupMember.Read.All'],
    });
    const { iat, nbf, exp } = claims as { iat: number; nbf: number; exp: number };
    const nowS = Date.now() / 1000;
    expect(nbf).toBeLessThanOrEqual(nowS);
    expect(iat).toBeLessThanOrEqual(nowS);
    expect(exp).toBeGreaterThan(nowS + 3000);
    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now());

    // The signature verifies against the key the tenant's discovery document publishes.
    const oidc = (await (
      await fetch(`${sim.url}/${c.tenantId}/v2.0/.well-known/openid-configuration`)
    ).json()) as {
      jwks_uri: string;
      token_endpoint: string;
    };
    expect(oidc.token_endpoint).toBe(`${sim.url}/${c.tenantId}/oauth2/v2.0/token`);
    const jwks = (await (await fetch(oidc.jwks_uri)).json()) as {
      keys: { kid: string; n: string; e: string }[];
    };
    const [h, p, s] = token.token.split('.') as [string, string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as {
      kid: string;
      alg: string;
    };
    expect(header.alg).toBe('RS256');
    const jwk = jwks.keys.find((k) => k.kid === header.kid)!;
    const key = createPublicKey({ key: { kty: 'RSA', n: jwk.n, e: jwk.e }, format: 'jwk' });
    expect(verify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'))).toBe(true);
  });

  it('accepts the tenant by any verified domain as well as by ID', async () => {
    const c = contoso.credentials;
    for (const tenant of ['contoso.onmicrosoft.com', 'CONTOSO.example']) {
      const token = await credential(sim, tenant, c.clientId, c.clientSecret).getToken(GRAPH_SCOPE);
      expect(decodeJwt(token.token).tid).toBe(c.tenantId);
    }
  });

  it('leaves out the roles claim when no permission was consented', async () => {
    const c = northwind.credentials;
    const token = await credential(sim, c.tenantId, c.clientId, c.clientSecret).getToken(
      GRAPH_SCOPE,
    );
    expect(decodeJwt(token.token)).not.toHaveProperty('roles');
  });

  const failures: [
    string,
    () => { tenant: string; clientId: string; secret: string },
    { error: string; code: number; status: number },
  ][] = [
    [
      'an expired secret: AADSTS7000222',
      () => ({
        tenant: fabrikam.credentials.tenantId,
        clientId: fabrikam.credentials.clientId,
        secret: fabrikam.credentials.clientSecret,
      }),
      { error: 'invalid_client', code: 7000222, status: 401 },
    ],
    [
      'a wrong secret: AADSTS7000215',
      () => ({
        tenant: contoso.credentials.tenantId,
        clientId: contoso.credentials.clientId,
        secret: 'not-the-secret',
      }),
      { error: 'invalid_client', code: 7000215, status: 401 },
    ],
    [
      "the secret's ID pasted instead of its value: AADSTS7000215",
      () => ({
        tenant: contoso.credentials.tenantId,
        clientId: contoso.credentials.clientId,
        secret: contoso.credentials.secretKeyId,
      }),
      { error: 'invalid_client', code: 7000215, status: 401 },
    ],
    [
      'an unknown application: AADSTS700016',
      () => ({
        tenant: contoso.credentials.tenantId,
        clientId: fabrikam.credentials.clientId,
        secret: contoso.credentials.clientSecret,
      }),
      { error: 'unauthorized_client', code: 700016, status: 400 },
    ],
    [
      'an unknown tenant ID: AADSTS90002',
      () => ({
        tenant: '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
        clientId: contoso.credentials.clientId,
        secret: contoso.credentials.clientSecret,
      }),
      { error: 'invalid_request', code: 90002, status: 400 },
    ],
    [
      'an unknown tenant domain: AADSTS90002',
      () => ({
        tenant: 'nobody.onmicrosoft.com',
        clientId: contoso.credentials.clientId,
        secret: contoso.credentials.clientSecret,
      }),
      { error: 'invalid_request', code: 90002, status: 400 },
    ],
    [
      'a malformed tenant: AADSTS900023',
      () => ({
        tenant: 'contoso',
        clientId: contoso.credentials.clientId,
        secret: contoso.credentials.clientSecret,
      }),
      { error: 'invalid_request', code: 900023, status: 400 },
    ],
    [
      'a truncated tenant GUID: AADSTS900023',
      () => ({
        tenant: contoso.credentials.tenantId.slice(0, -1),
        clientId: contoso.credentials.clientId,
        secret: contoso.credentials.clientSecret,
      }),
      { error: 'invalid_request', code: 900023, status: 400 },
    ],
  ];

  for (const [name, input, expected] of failures) {
    it(`fails for ${name}, readable from the thrown error`, async () => {
      const { tenant, clientId, secret } = input();
      const err = await caught(credential(sim, tenant, clientId, secret).getToken(GRAPH_SCOPE));
      expect(entraFailure(err)).toEqual(expected);
      expect((err as Error).message).toContain(`AADSTS${expected.code}:`);
      const logged = sim.requests({ kind: 'token' }).at(-1)!;
      expect(logged).toMatchObject({
        method: 'POST',
        status: expected.status,
        aadsts: expected.code,
      });
    });
  }
});

describe('an unknown tenant at OpenID metadata discovery (the default for a custom authority)', () => {
  const unknown = '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
  const discoveryUrl = (tenant: string) =>
    `${sim.url}/${tenant}/v2.0/.well-known/openid-configuration`;

  it.each([
    ['an unknown tenant ID', unknown, 90002],
    ['an unknown tenant domain', 'nobody.onmicrosoft.com', 90002],
    ['a malformed tenant', 'contoso', 900023],
  ])(
    "%s: Entra's 400 invalid_tenant there, which MSAL reports without any AADSTS code",
    async (_name, tenant, code) => {
      const before = sim.requests().at(-1)?.seq ?? 0;
      const c = contoso.credentials;
      const err = await caught(
        credential(sim, tenant, c.clientId, c.clientSecret).getToken(GRAPH_SCOPE),
      );
      // What the service must not rely on: no Entra answer reaches the thrown error.
      expect((err as Error).message).toMatch(/endpoints_resolution_error/);
      expect((err as Error).message).not.toMatch(/AADSTS/);
      expect(entraFailure(err).code).toBeNaN();
      const tail = sim.requests({ afterSeq: before });
      expect(tail.map((r) => [r.kind, r.method, r.status, r.aadsts])).toEqual([
        ['discovery', 'GET', 400, code],
      ]);
    },
  );

  it("answers in Entra's JSON error shape, error invalid_tenant", async () => {
    const res = await fetch(discoveryUrl(unknown), { headers: { 'client-request-id': 'd-1' } });
    expect(res.status).toBe(400);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      error: 'invalid_tenant',
      error_codes: [90002],
      correlation_id: 'd-1',
    });
    expect(body.error_description).toMatch(
      new RegExp(`^AADSTS90002: Tenant '${unknown}' not found\\.`),
    );
  });

  it("serves a known tenant's document, and the multi-tenant aliases", async () => {
    for (const tenant of [contoso.credentials.tenantId, contoso.credentials.domain, 'common']) {
      const res = await fetch(discoveryUrl(tenant));
      expect(res.status).toBe(200);
      expect(((await res.json()) as { token_endpoint: string }).token_endpoint).toBe(
        `${sim.url}/${tenant}/oauth2/v2.0/token`,
      );
    }
  });

  it('switches to the token-endpoint path and back, over the control API too', async () => {
    const patch = (body: unknown) =>
      fetch(`${sim.url}/_sim/settings`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    try {
      const switched = await patch({ unknownTenantFailsAt: 'token_endpoint' });
      expect(switched.status).toBe(200);
      expect(await switched.json()).toMatchObject({ unknownTenantFailsAt: 'token_endpoint' });
      expect((await fetch(discoveryUrl(unknown))).status).toBe(200);
      const c = contoso.credentials;
      const err = await caught(
        credential(sim, unknown, c.clientId, c.clientSecret).getToken(GRAPH_SCOPE),
      );
      expect(entraFailure(err)).toEqual({ error: 'invalid_request', code: 90002, status: 400 });
      const bad = await patch({ unknownTenantFailsAt: 'somewhere' });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ error: 'invalid_settings' });
    } finally {
      expect((await patch({ unknownTenantFailsAt: 'metadata_discovery' })).status).toBe(200);
    }
    expect((await fetch(discoveryUrl(unknown))).status).toBe(400);
  });
});

describe('token endpoint on the wire', () => {
  it("answers errors in Entra's JSON shape", async () => {
    const c = contoso.credentials;
    const res = await fetch(`${sim.url}/${c.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'client-request-id': 'abc-123',
      },
      body: new URLSearchParams({
        client_id: c.clientId,
        client_secret: 'wrong',
        scope: GRAPH_SCOPE,
        grant_type: 'client_credentials',
      }),
    });
    expect(res.status).toBe(401);
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(
      [
        'correlation_id',
        'error',
        'error_codes',
        'error_description',
        'error_uri',
        'timestamp',
        'trace_id',
      ].sort(),
    );
    expect(body.error).toBe('invalid_client');
    expect(body.error_codes).toEqual([7000215]);
    expect(body.correlation_id).toBe('abc-123');
    expect(body.error_description).toMatch(/^AADSTS7000215: Invalid client secret provided\./);
    expect(body.error_description).toContain(`Trace ID: ${body.trace_id}`);
    expect(body.timestamp).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z$/);
  });

  it('returns Bearer, expires_in, ext_expires_in and the token on success', async () => {
    const c = contoso.credentials;
    const res = await fetch(`${sim.url}/${c.domain}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: c.clientId,
        client_secret: c.clientSecret,
        scope: GRAPH_SCOPE,
        grant_type: 'client_credentials',
      }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual([
      'access_token',
      'expires_in',
      'ext_expires_in',
      'token_type',
    ]);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599 });
  });

  it('rejects scopes without /.default for client credentials', async () => {
    const c = contoso.credentials;
    const res = await fetch(`${sim.url}/${c.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: c.clientId,
        client_secret: c.clientSecret,
        scope: 'https://graph.microsoft.com/User.Read.All',
        grant_type: 'client_credentials',
      }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_scope', error_codes: [1002012] });
  });

  it('answers instance discovery in MSAL’s expected shape', async () => {
    const res = await fetch(
      `${sim.url}/common/discovery/instance?api-version=1.1&authorization_endpoint=${encodeURIComponent(`${sim.url}/contoso.onmicrosoft.com/oauth2/v2.0/authorize`)}`,
    );
    const host = new URL(sim.url).host;
    expect(await res.json()).toEqual({
      tenant_discovery_endpoint: `${sim.url}/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    });
  });
});
