import { createHash, randomUUID } from 'node:crypto';
import {
  ClientCertificateCredential,
  type ClientCertificateCredentialOptions,
} from '@azure/identity';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../src/index.js';
import {
  caught,
  certificateCredential,
  decodeJwt,
  entraFailure,
  GRAPH_SCOPE,
  selfSignedCertificate,
  signAssertion,
  type TestCertificate,
  trust,
} from './helpers.js';

const TENANT = randomUUID();
const DOMAIN = `assert${TENANT.slice(0, 8)}.onmicrosoft.com`;
const APP = randomUUID();
const OTHER_APP = randomUUID();
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const DAY = 86_400_000;

let sim: Simulator;
let registered: TestCertificate;
let expired: TestCertificate;
let stranger: TestCertificate;

beforeAll(async () => {
  registered = selfSignedCertificate({ subject: 'Registered' });
  expired = selfSignedCertificate({
    notBefore: new Date(Date.now() - 400 * DAY),
    notAfter: new Date(Date.now() - DAY),
  });
  stranger = selfSignedCertificate({ subject: 'Never uploaded' });
  sim = await startSimulator({
    tenants: [
      {
        kind: 'seeded',
        seed: `assert-${TENANT}`,
        tenantId: TENANT,
        displayName: 'Assertions',
        domains: [DOMAIN],
        userCount: 3,
        applications: [
          {
            appId: APP,
            roles: ['User.Read.All', 'GroupMember.Read.All'],
            // Certificates only: no secret could have authenticated these requests.
            certificates: [
              { certificatePem: registered.certificatePem },
              { certificatePem: expired.certificatePem },
            ],
          },
          { appId: OTHER_APP, roles: [] },
        ],
      },
    ],
  });
  trust(sim);
});
afterEach(() => sim.reset());
afterAll(() => sim.close());

const tokenEndpoint = (tenant = TENANT) => `${sim.url}/${tenant}/oauth2/v2.0/token`;

/** The claims MSAL puts in an assertion, valid now, overridable. */
function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    aud: tokenEndpoint(),
    iss: APP,
    sub: APP,
    nbf: now,
    exp: now + 600,
    jti: randomUUID(),
    ...overrides,
  };
}

const x5tS256 = (c: TestCertificate) =>
  Buffer.from(c.thumbprintSha256, 'hex').toString('base64url');
const x5t = (c: TestCertificate) => Buffer.from(c.thumbprint, 'hex').toString('base64url');

async function postAssertion(
  assertion: string,
  form: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(tokenEndpoint(), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: APP,
      scope: GRAPH_SCOPE,
      client_assertion_type: JWT_BEARER,
      client_assertion: assertion,
      ...form,
    }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

type PipelinePolicy = NonNullable<
  ClientCertificateCredentialOptions['additionalPolicies']
>[number]['policy'];

/** Reads the token requests a credential sends (the form body), without changing them. */
function recordTokenRequests(): { policy: PipelinePolicy; forms: URLSearchParams[] } {
  const forms: URLSearchParams[] = [];
  return {
    forms,
    policy: {
      name: 'recordTokenRequests',
      async sendRequest(request, next) {
        if (
          new URL(request.url).pathname.endsWith('/oauth2/v2.0/token') &&
          typeof request.body === 'string'
        ) {
          forms.push(new URLSearchParams(request.body));
        }
        return next(request);
      },
    },
  };
}

function recordingCredential(cert: TestCertificate) {
  const recorder = recordTokenRequests();
  const credential = new ClientCertificateCredential(
    TENANT,
    APP,
    { certificate: `${cert.privateKeyPem}\n${cert.certificatePem}` },
    {
      authorityHost: sim.authorityHost,
      disableInstanceDiscovery: true,
      additionalPolicies: [{ policy: recorder.policy, position: 'perRetry' }],
    },
  );
  return { credential, forms: recorder.forms };
}

describe('client assertions through ClientCertificateCredential', () => {
  it('issues a token for an assertion signed with a registered certificate, and shows what MSAL sends', async () => {
    const { credential, forms } = recordingCredential(registered);
    const token = await credential.getToken(GRAPH_SCOPE);
    expect(decodeJwt(token.token)).toMatchObject({ appid: APP, tid: TENANT });

    // @azure/identity 4.14 / MSAL Node 7: PS256, the SHA-256 thumbprint, ten minutes.
    expect(forms).toHaveLength(1);
    const form = forms[0]!;
    expect(form.get('client_assertion_type')).toBe(JWT_BEARER);
    expect(form.get('client_secret')).toBeNull();
    const [h, p] = (form.get('client_assertion') ?? '').split('.') as [string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
    const sent = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, number>;
    expect(header).toEqual({ alg: 'PS256', typ: 'JWT', 'x5t#S256': x5tS256(registered) });
    expect(sent).toMatchObject({ aud: tokenEndpoint(), iss: APP, sub: APP });
    expect(sent.exp! - sent.nbf!).toBe(600);
    expect(String(sent.jti)).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers AADSTS700027 for a certificate the app does not have, naming its thumbprint', async () => {
    const err = await caught(
      certificateCredential(sim, TENANT, APP, stranger).getToken(GRAPH_SCOPE),
    );
    expect(entraFailure(err)).toMatchObject({ error: 'invalid_client', code: 700027 });
    expect(String(err)).toContain(stranger.thumbprintSha256);
    const log = sim.requests({ kind: 'token' }).at(-1);
    expect(log).toMatchObject({ status: 401, aadsts: 700027, appId: APP });
  });

  it('follows uploads and removals: a certificate works once registered, and stops once removed', async () => {
    const fresh = selfSignedCertificate({ subject: 'Uploaded later' });
    await expect(
      caught(certificateCredential(sim, TENANT, APP, fresh).getToken(GRAPH_SCOPE)),
    ).resolves.toBeDefined();
    const added = sim.addCertificate(TENANT, APP, { certificatePem: fresh.certificatePem });
    expect(added).toMatchObject({
      thumbprint: fresh.thumbprint,
      thumbprintSha256: fresh.thumbprintSha256,
    });
    const token = await certificateCredential(sim, TENANT, APP, fresh).getToken(GRAPH_SCOPE);
    expect(decodeJwt(token.token).appid).toBe(APP);
    expect(sim.removeCertificate(TENANT, APP, fresh.thumbprint.toLowerCase())).toBe(true);
    expect(sim.removeCertificate(TENANT, APP, fresh.thumbprint)).toBe(false);
    const err = await caught(certificateCredential(sim, TENANT, APP, fresh).getToken(GRAPH_SCOPE));
    expect(entraFailure(err).code).toBe(700027);
  });

  it("answers AADSTS700024 when this machine's clock is behind Entra's by more than the assertion's life", async () => {
    sim.updateSettings({ entraClockOffsetSeconds: 3600 });
    const err = await caught(
      certificateCredential(sim, TENANT, APP, registered).getToken(GRAPH_SCOPE),
    );
    expect(entraFailure(err)).toMatchObject({ error: 'invalid_client', code: 700024 });
    expect(String(err)).toContain('Client assertion is not within its valid time range');
    // Within the tolerated skew it still works.
    sim.updateSettings({ entraClockOffsetSeconds: 120 });
    await certificateCredential(sim, TENANT, APP, registered).getToken(GRAPH_SCOPE);
  });

  it('accepts the assertion MSAL sends again within its ten minutes, unless told to refuse replays', async () => {
    // A token lifetime under MSAL's five-minute renewal margin: every getToken asks Entra.
    sim.updateTenantSettings(TENANT, { tokenLifetimeSeconds: 60 });
    const { credential, forms } = recordingCredential(registered);
    await credential.getToken(GRAPH_SCOPE);
    await credential.getToken(GRAPH_SCOPE);
    expect(forms).toHaveLength(2);
    // The same signed assertion, jti and all, both times: Entra takes it.
    expect(forms[1]!.get('client_assertion')).toBe(forms[0]!.get('client_assertion'));

    sim.updateSettings({ clientAssertionReplay: 'refuse' });
    const strict = recordingCredential(registered);
    await strict.credential.getToken(GRAPH_SCOPE);
    const err = await caught(strict.credential.getToken(GRAPH_SCOPE));
    expect(entraFailure(err)).toMatchObject({ error: 'invalid_client', code: 50027 });
    expect(String(err)).toContain('was used before');
  });
});

describe('client assertions checked claim by claim', () => {
  const ps256 = (c: TestCertificate) => ({ alg: 'PS256', typ: 'JWT', 'x5t#S256': x5tS256(c) });

  it('accepts RS256 with the SHA-1 x5t, as older MSALs send', async () => {
    const res = await postAssertion(
      signAssertion(
        registered.privateKeyPem,
        { alg: 'RS256', typ: 'JWT', x5t: x5t(registered) },
        claims(),
      ),
    );
    expect(res.status).toBe(200);
    expect(decodeJwt(String(res.body.access_token))).toMatchObject({ appid: APP });
  });

  it('accepts the token endpoint named by a verified domain of the tenant', async () => {
    const res = await postAssertion(
      signAssertion(
        registered.privateKeyPem,
        ps256(registered),
        claims({ aud: `${sim.url}/${DOMAIN}/oauth2/v2.0/token` }),
      ),
    );
    expect(res.status).toBe(200);
  });

  const refusals: [string, () => string, number, number, string?][] = [
    [
      'a certificate not registered on the app',
      () => signAssertion(stranger.privateKeyPem, ps256(stranger), claims()),
      401,
      700027,
      'The key was not found',
    ],
    [
      'a registered thumbprint signed by another key',
      () => signAssertion(stranger.privateKeyPem, ps256(registered), claims()),
      401,
      700027,
      'use of the key to verify the signature failed',
    ],
    [
      'a registered certificate that has expired',
      () => signAssertion(expired.privateKeyPem, ps256(expired), claims()),
      401,
      700027,
      'The key used is expired',
    ],
    [
      'an assertion past its exp',
      () =>
        signAssertion(
          registered.privateKeyPem,
          ps256(registered),
          claims({
            nbf: Math.floor(Date.now() / 1000) - 1800,
            exp: Math.floor(Date.now() / 1000) - 1200,
          }),
        ),
      401,
      700024,
    ],
    [
      'an assertion not valid before an hour from now',
      () =>
        signAssertion(
          registered.privateKeyPem,
          ps256(registered),
          claims({
            nbf: Math.floor(Date.now() / 1000) + 3600,
            exp: Math.floor(Date.now() / 1000) + 4200,
          }),
        ),
      401,
      700024,
    ],
    [
      'another audience',
      () =>
        signAssertion(
          registered.privateKeyPem,
          ps256(registered),
          claims({ aud: `${sim.url}/${randomUUID()}/oauth2/v2.0/token` }),
        ),
      401,
      50027,
    ],
    [
      'a list of audiences',
      () =>
        signAssertion(
          registered.privateKeyPem,
          ps256(registered),
          claims({ aud: [tokenEndpoint(), `${sim.url}/${TENANT}/v2.0`] }),
        ),
      401,
      50027,
    ],
    [
      'an issuer that is another app',
      () =>
        signAssertion(
          registered.privateKeyPem,
          ps256(registered),
          claims({ iss: OTHER_APP, sub: OTHER_APP }),
        ),
      401,
      50027,
    ],
    [
      'a subject other than the issuer',
      () => signAssertion(registered.privateKeyPem, ps256(registered), claims({ sub: OTHER_APP })),
      401,
      50048,
    ],
    [
      'no jti',
      () => signAssertion(registered.privateKeyPem, ps256(registered), claims({ jti: undefined })),
      401,
      50027,
    ],
    [
      'no thumbprint in the header',
      () => signAssertion(registered.privateKeyPem, { alg: 'PS256', typ: 'JWT' }, claims()),
      401,
      50027,
      'No certificate thumbprint',
    ],
    [
      'a symmetric algorithm',
      () => {
        const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
        return `${part({ alg: 'HS256', 'x5t#S256': x5tS256(registered) })}.${part(claims())}.c2ln`;
      },
      400,
      5002730,
    ],
    ['not a JWT', () => 'not-a-jwt', 401, 50027],
  ];
  it.each(refusals)('refuses %s', async (_name, assertion, status, code, text) => {
    const res = await postAssertion(assertion());
    expect(res.status).toBe(status);
    expect(res.body.error_codes).toEqual([code]);
    expect(res.body.correlation_id).toEqual(expect.any(String));
    if (text) expect(String(res.body.error_description)).toContain(text);
  });

  it('requires the jwt-bearer assertion type', async () => {
    const assertion = signAssertion(registered.privateKeyPem, ps256(registered), claims());
    const wrong = await postAssertion(assertion, { client_assertion_type: 'urn:something:else' });
    expect([wrong.status, wrong.body.error_codes]).toEqual([401, [50027]]);
    const missing = await postAssertion('', {});
    expect(missing.body.error_codes).toEqual([900144]);
  });

  it('refuses a replayed jti only when told to', async () => {
    const assertion = signAssertion(registered.privateKeyPem, ps256(registered), claims());
    expect((await postAssertion(assertion)).status).toBe(200);
    expect((await postAssertion(assertion)).status).toBe(200);
    sim.updateSettings({ clientAssertionReplay: 'refuse' });
    const once = signAssertion(registered.privateKeyPem, ps256(registered), claims());
    expect((await postAssertion(once)).status).toBe(200);
    const again = await postAssertion(once);
    expect([again.status, again.body.error_codes]).toEqual([401, [50027]]);
    // A new jti is a new assertion.
    const next = signAssertion(registered.privateKeyPem, ps256(registered), claims());
    expect((await postAssertion(next)).status).toBe(200);
  });
});

describe('certificates through the control API', () => {
  const base = () => `${sim.url}/_sim/tenants/${TENANT}/applications/${APP}/certificates`;

  it('registers, lists and removes a certificate on an app', async () => {
    const cert = selfSignedCertificate({ subject: 'Over HTTP' });
    // A .cer's content: the base64 of the DER works as well as PEM.
    const der = cert.certificatePem.replace(/-----[^-]+-----|\s/g, '');
    const added = await fetch(base(), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ certificatePem: der, displayName: 'Pinnacle sync' }),
    });
    expect(added.status).toBe(201);
    const summary = (await added.json()) as Record<string, string>;
    expect(summary).toMatchObject({
      thumbprint: cert.thumbprint,
      thumbprintSha256: cert.thumbprintSha256,
      displayName: 'Pinnacle sync',
    });
    const list = (await (await fetch(base())).json()) as { certificates: { keyId: string }[] };
    expect(list.certificates.map((c) => c.keyId)).toContain(summary.keyId);
    expect(
      sim
        .tenants()
        .find((t) => t.tenantId === TENANT)
        ?.applications.find((a) => a.appId === APP)?.certificates,
    ).toHaveLength(3);
    await certificateCredential(sim, TENANT, APP, cert).getToken(GRAPH_SCOPE);

    const duplicate = await fetch(base(), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ certificatePem: cert.certificatePem }),
    });
    expect(duplicate.status).toBe(409);
    const removed = await fetch(`${base()}/${summary.keyId}`, { method: 'DELETE' });
    expect(removed.status).toBe(204);
    const again = await fetch(`${base()}/${summary.keyId}`, { method: 'DELETE' });
    expect(again.status).toBe(404);
  });

  it('refuses what is not a certificate, and unknown apps', async () => {
    const bad = await fetch(base(), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        certificatePem: '-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----',
      }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBe('invalid_certificate');
    const noBody = await fetch(base(), { method: 'POST' });
    expect(noBody.status).toBe(400);
    const noApp = await fetch(
      `${sim.url}/_sim/tenants/${TENANT}/applications/${randomUUID()}/certificates`,
    );
    expect(noApp.status).toBe(404);
    // A tenant definition with a broken certificate is refused as a whole.
    const tenant = await fetch(`${sim.url}/_sim/tenants`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        kind: 'seeded',
        seed: 'broken-cert',
        displayName: 'Broken',
        domains: ['brokencert.onmicrosoft.com'],
        userCount: 1,
        applications: [{ appId: randomUUID(), certificates: [{ certificatePem: 'nope' }] }],
      }),
    });
    expect(tenant.status).toBe(400);
    expect(JSON.stringify(await tenant.json())).toContain('applications.0.certificates');
  });

  it('never learns a private key: the thumbprints are of the certificate alone', () => {
    const der = Buffer.from(registered.certificatePem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const [summary] = sim.certificates(TENANT, APP);
    expect(summary?.thumbprint).toBe(createHash('sha1').update(der).digest('hex').toUpperCase());
    expect(JSON.stringify(sim.tenants())).not.toContain('PRIVATE KEY');
  });
});
