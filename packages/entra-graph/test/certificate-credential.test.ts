import { createHash, createPrivateKey, randomUUID, X509Certificate } from 'node:crypto';
import { type Simulator, seededGroupId } from '@pinnacle/entra-simulator';
import { test } from '@pinnacle/testing/fixtures';
import { afterEach, describe, expect, it } from 'vitest';
import {
  certificateThumbprints,
  clientCertificateProblem,
  createSelfSignedCertificate,
  EntraTokenError,
  GraphReader,
  GraphTokenProvider,
  type SelfSignedCertificate,
  type TokenRequest,
} from '../src/index.js';

const DAY = 86_400_000;
let sim: Simulator;
const tenantId = randomUUID();
const clientId = randomUUID();
const seed = `eg-cert-${randomUUID()}`;
const allGroup = seededGroupId(seed, 'all');
let registered: SelfSignedCertificate;

test.beforeAll(async ({ simulator }) => {
  registered = await createSelfSignedCertificate({
    subject: {
      commonName: 'Pinnacle Series Entra ID sync (org-test)',
      organizationName: 'Pinnacle Series',
    },
    validityDays: 365,
  });
  sim = simulator;
  sim.addTenant({
    kind: 'seeded',
    seed,
    tenantId,
    displayName: 'Certificates',
    domains: [`${seed}.onmicrosoft.com`],
    userCount: 2500,
    applications: [
      {
        appId: clientId,
        roles: ['User.Read.All', 'GroupMember.Read.All'],
        // No secret: only the certificate can authenticate this app.
        certificates: [{ certificatePem: registered.certificatePem }],
      },
    ],
    groups: [
      { key: 'all', displayName: 'All', userRanges: [{ start: 0, count: 2500 }], memberGroups: [] },
    ],
  });
});
afterEach(() => sim.reset());

const request = (certificate: SelfSignedCertificate = registered): TokenRequest => ({
  authorityHost: sim.authorityHost,
  tenantId,
  clientId,
  certificate: {
    certificatePem: certificate.certificatePem,
    privateKeyPem: certificate.privateKeyPem,
  },
});

describe('createSelfSignedCertificate', () => {
  it('makes an RSA 2048 key and a self-signed certificate with the thumbprints Entra shows', async () => {
    const now = new Date('2026-03-01T12:00:00Z');
    const made = await createSelfSignedCertificate({
      subject: {
        commonName: 'Pinnacle Series Entra ID sync (org-acme)',
        organizationName: 'Pinnacle Series',
      },
      validityDays: 730,
      now,
    });
    const x509 = new X509Certificate(made.certificatePem);
    expect(x509.subject).toBe('CN=Pinnacle Series Entra ID sync (org-acme)\nO=Pinnacle Series');
    expect(x509.issuer).toBe(x509.subject);
    expect(x509.verify(x509.publicKey)).toBe(true);
    expect(x509.ca).toBe(false);
    expect(x509.keyUsage).toContain('1.3.6.1.5.5.7.3.2'); // clientAuth
    expect(x509.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(x509.checkPrivateKey(createPrivateKey(made.privateKeyPem))).toBe(true);
    expect(made.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(made.subject).toBe('CN=Pinnacle Series Entra ID sync (org-acme), O=Pinnacle Series');

    // Validity: from an hour before now (clock skew) to validityDays after now.
    expect(made.notBefore.toISOString()).toBe('2026-03-01T11:00:00.000Z');
    expect(made.notAfter.toISOString()).toBe(new Date(now.getTime() + 730 * DAY).toISOString());
    expect(new Date(x509.validTo).getTime()).toBe(made.notAfter.getTime());
    expect(new Date(x509.validFrom).getTime()).toBe(made.notBefore.getTime());

    // The thumbprint as the admin center shows it: SHA-1 of the DER, upper-case hex.
    expect(made.certificateDer.equals(x509.raw)).toBe(true);
    expect(made.thumbprint).toBe(x509.fingerprint.replace(/:/g, ''));
    expect(made.thumbprint).toMatch(/^[0-9A-F]{40}$/);
    expect(made.thumbprintSha256).toBe(x509.fingerprint256.replace(/:/g, ''));
    expect(certificateThumbprints(x509.raw)).toEqual({
      thumbprint: made.thumbprint,
      thumbprintSha256: createHash('sha256').update(x509.raw).digest('hex').toUpperCase(),
    });
    // Every certificate is new: a new key, a new serial.
    const other = await createSelfSignedCertificate({
      subject: { commonName: 'x' },
      validityDays: 30,
    });
    expect(other.thumbprint).not.toBe(made.thumbprint);
  });

  it('tells a certificate and key that belong together from ones that do not', async () => {
    const other = await createSelfSignedCertificate({
      subject: { commonName: 'other' },
      validityDays: 30,
    });
    expect(clientCertificateProblem(request().certificate!)).toBeNull();
    expect(
      clientCertificateProblem({
        certificatePem: registered.certificatePem,
        privateKeyPem: other.privateKeyPem,
      }),
    ).toBe('the private key does not belong to the certificate');
    expect(
      clientCertificateProblem({ certificatePem: 'nope', privateKeyPem: other.privateKeyPem }),
    ).toMatch(/not an X.509 certificate/);
    expect(
      clientCertificateProblem({
        certificatePem: registered.certificatePem,
        privateKeyPem: 'nope',
      }),
    ).toMatch(/cannot be read/);
  });
});

describe('GraphTokenProvider with a certificate', () => {
  it('gets a token through ClientCertificateCredential, then answers from its cache', async () => {
    const provider = new GraphTokenProvider(request());
    expect(provider.credentialType).toBe('certificate');
    const token = await provider.getToken();
    expect(token.claims).toMatchObject({ tid: tenantId, appid: clientId });
    expect(token.claims.roles.sort()).toEqual(['GroupMember.Read.All', 'User.Read.All']);
    expect((await provider.getToken()).token).toBe(token.token);
    expect(provider.stats).toEqual({ tokenRequests: 1, refreshes: 0 });
  });

  it('refresh() works as with a secret: a fresh credential, a new token', async () => {
    const provider = new GraphTokenProvider(request());
    const first = (await provider.getToken()).token;
    await Promise.all([provider.refresh(first), provider.refresh(first)]);
    expect((await provider.getToken()).token).not.toBe(first);
    expect(provider.stats).toEqual({ tokenRequests: 2, refreshes: 1 });
  });

  it('pages a group whose tokens are invalidated mid-fetch, renewing once', async () => {
    const tokens = new GraphTokenProvider(request());
    const graph = new GraphReader({ baseUrl: sim.graphBaseUrl, tokens, sleep: async () => {} });
    const ids = new Set<string>();
    let pages = 0;
    for await (const page of graph.groupUserPages(allGroup)) {
      pages++;
      for (const u of page) ids.add(u.id);
      if (pages === 1) sim.invalidateTokens(tenantId);
    }
    expect(ids.size).toBe(2500);
    expect(tokens.stats).toEqual({ tokenRequests: 2, refreshes: 1 });
  });

  it('renews short-lived tokens request after request (MSAL sends its assertion again)', async () => {
    sim.updateSettings({ clockSkewSeconds: 0 });
    sim.updateTenantSettings(tenantId, { tokenLifetimeSeconds: 60 });
    const tokens = new GraphTokenProvider(request());
    const graph = new GraphReader({ baseUrl: sim.graphBaseUrl, tokens, sleep: async () => {} });
    let users = 0;
    for await (const page of graph.groupUserPages(allGroup)) users += page.length;
    expect(users).toBe(2500);
    expect(tokens.stats.tokenRequests).toBe(3);
  });

  it("reports a certificate the app does not have as Entra's AADSTS700027, read from the wire", async () => {
    const unknown = await createSelfSignedCertificate({
      subject: { commonName: 'not uploaded' },
      validityDays: 30,
    });
    const provider = new GraphTokenProvider(request(unknown));
    const error = await provider.getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EntraTokenError);
    expect((error as EntraTokenError).response).toMatchObject({
      endpoint: 'token',
      status: 401,
      error: 'invalid_client',
      errorCodes: [700027],
    });
    // Neither the message nor anything else it carries holds the key.
    const keyBody = unknown.privateKeyPem.split('\n')[1]!;
    expect(JSON.stringify(error)).not.toContain(keyBody);
    expect((error as Error).message).not.toContain(keyBody);
  });

  it('reports a clock Entra finds wrong as AADSTS700024', async () => {
    sim.updateSettings({ entraClockOffsetSeconds: 7200 });
    const error = await new GraphTokenProvider(request()).getToken().catch((e: unknown) => e);
    expect((error as EntraTokenError).response?.errorCodes).toEqual([700024]);
  });

  it('takes a secret or a certificate, exactly one, and a key that fits its certificate', async () => {
    const base = { authorityHost: sim.authorityHost, tenantId, clientId };
    expect(() => new GraphTokenProvider(base)).toThrow(/exactly one/);
    expect(
      () =>
        new GraphTokenProvider({
          ...base,
          clientSecret: 'x~secret',
          certificate: request().certificate!,
        }),
    ).toThrow(/exactly one/);
    const other = await createSelfSignedCertificate({
      subject: { commonName: 'other' },
      validityDays: 30,
    });
    expect(
      () =>
        new GraphTokenProvider({
          ...base,
          certificate: {
            certificatePem: registered.certificatePem,
            privateKeyPem: other.privateKeyPem,
          },
        }),
    ).toThrow(/does not belong/);
  });
});
