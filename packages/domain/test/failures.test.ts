import { describe, expect, it } from 'vitest';
import {
  buildFailure,
  FAILURE_CATEGORY,
  FAILURE_CODES,
  type FailureCode,
  type FailureContext,
  type FailureDetailsByCode,
  failureTitle,
  syncFailureSchema,
} from '../src/index.js';

const TENANT = '11111111-2222-3333-4444-555555555555';
const CLIENT = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
const ctx: FailureContext = {
  authorityHost: 'https://login.microsoftonline.com',
  tenantId: TENANT,
  clientId: CLIENT,
};

// A secret the caller might have in scope: it must never reach failure text.
const SECRET = 'Abc8Q~superSecretValue_0123456789abcdefg';

const sampleDetails: { [C in FailureCode]: FailureDetailsByCode[C] } = {
  settings_incomplete: { missing: ['tenantId', 'clientSecret'] },
  settings_invalid: { fields: ['clientId', 'groupIds[2]'] },
  client_secret_expired: { source: 'recorded_expiry', expiresAt: '2026-01-31T00:00:00.000Z' },
  client_secret_invalid: { status: 401, error: 'invalid_client', errorCodes: [7000215] },
  app_not_found: { status: 400, error: 'unauthorized_client', errorCodes: [700016] },
  tenant_not_found: {
    status: 400,
    error: 'invalid_tenant',
    errorCodes: [90002],
    endpoint: 'metadata_discovery',
    tenantId: 'contoso.onmicrosoft.com',
  },
  app_disabled: { status: 400, error: 'unauthorized_client', errorCodes: [7000112] },
  access_blocked: {
    status: 400,
    error: 'invalid_grant',
    errorCodes: [53003],
    correlationId: 'c0ffee00-0000-0000-0000-000000000003',
  },
  certificate_not_registered: {
    status: 401,
    error: 'invalid_client',
    errorCodes: [700027],
    certificateId: '5e5e5e5e-0000-4000-8000-000000000005',
    thumbprint: '0123456789ABCDEF0123456789ABCDEF01234567',
    triedThumbprints: [
      '0123456789ABCDEF0123456789ABCDEF01234567',
      'FEDCBA9876543210FEDCBA9876543210FEDCBA98',
    ],
  },
  certificate_expired: {
    certificateId: '6e6e6e6e-0000-4000-8000-000000000006',
    thumbprint: 'ABCDEF0123456789ABCDEF0123456789ABCDEF01',
    notAfter: '2026-02-28T09:30:00.000Z',
  },
  consent_missing: { missingPermissions: ['GroupMember.Read.All'], source: 'token' },
  groups_not_configured: {},
  group_not_found: {
    groupIds: ['0a0a0a0a-0000-0000-0000-00000000000a', '0b0b0b0b-0000-0000-0000-00000000000b'],
  },
  mass_removal_blocked: {
    currentUsers: 1000,
    removedUsers: 400,
    removedPercent: 40,
    maxRemovedPercent: 20,
    minRemovedUsers: 10,
  },
  directory_too_large: {
    maxUsers: 2_000_000,
    users: 2_400_000,
    countedFrom: 'group_member_count',
    groupId: '0c0c0c0c-0000-0000-0000-00000000000c',
  },
  entra_unreachable: { attempts: 5, lastReason: 'server_error', status: 503 },
  authentication_failed: {
    status: 400,
    error: 'invalid_resource',
    errorCodes: [500011],
    traceId: 'f1e2d3c4-0000-0000-0000-000000000001',
    correlationId: 'c0ffee00-0000-0000-0000-000000000002',
  },
  internal_error: { reason: 'invalid_job_payload' },
};

function build<C extends FailureCode>(code: C, context: FailureContext = ctx) {
  return buildFailure(code, sampleDetails[code], context);
}

describe('certificate failures', () => {
  it('certificate_not_registered names the thumbprint to upload, and where', () => {
    const f = build('certificate_not_registered');
    expect(f.category).toBe('credentials');
    expect(f.message).toContain('0123456789ABCDEF0123456789ABCDEF01234567');
    expect(f.message).toContain('AADSTS700027');
    expect(f.message).toContain(CLIENT);
    const steps = f.remediation.join('\n');
    expect(steps).toContain(
      'Download the certificate with thumbprint 0123456789ABCDEF0123456789ABCDEF01234567',
    );
    expect(steps).toMatch(
      /App registrations → open the app with application \(client\) ID .* → Certificates & secrets → Certificates → Upload certificate/,
    );
  });

  it('certificate_expired says when, and how to make a new one without copying a secret', () => {
    const f = build('certificate_expired');
    expect(f.message).toContain('expired on 2026-02-28');
    expect(f.message).toContain('ABCDEF0123456789ABCDEF0123456789ABCDEF01');
    expect(f.remediation[0]).toMatch(/create a new certificate/);
  });

  it('settings_incomplete tells how to get a certificate when one is missing', () => {
    const f = buildFailure('settings_incomplete', { missing: ['certificate'] }, ctx);
    expect(f.message).toContain('certificate is missing');
    expect(f.remediation.join(' ')).toContain('Upload certificate');
  });

  it('authentication_failed advises on the certificate, not the secret, for an org on certificates', () => {
    const f = buildFailure(
      'authentication_failed',
      { errorCodes: [50027] },
      { ...ctx, authMethod: 'certificate' },
    );
    const steps = f.remediation.join(' ');
    expect(steps).toContain('certificate is uploaded');
    expect(steps).not.toContain('New client secret');
  });
});

describe('buildFailure: every code', () => {
  it.each(FAILURE_CODES)('%s builds a complete, valid failure without any secret', (code) => {
    const failure = build(code);
    expect(syncFailureSchema.parse(failure)).toEqual(failure);
    expect(failure.code).toBe(code);
    expect(failure.category).toBe(FAILURE_CATEGORY[code]);
    expect(failure.retryable).toBe(false);
    expect(failure.title.length).toBeGreaterThan(3);
    expect(failure.message.length).toBeGreaterThan(40);
    expect(failure.remediation.length).toBeGreaterThan(0);
    for (const step of failure.remediation) expect(step.trim().length).toBeGreaterThan(10);
    expect(failure.details).toEqual(sampleDetails[code]);
    const text = JSON.stringify(failure);
    expect(text).not.toContain(SECRET);
    expect(text).not.toMatch(/undefined|null|\[object/);
  });

  it.each(FAILURE_CODES)('%s also builds without any context', (code) => {
    const failure = buildFailure(code, sampleDetails[code] as never, {});
    expect(syncFailureSchema.safeParse(failure).success).toBe(true);
    expect(JSON.stringify(failure)).not.toMatch(/undefined|null/);
  });

  it('uses the categories of DESIGN.md', () => {
    expect(FAILURE_CATEGORY).toEqual({
      settings_incomplete: 'configuration',
      settings_invalid: 'configuration',
      client_secret_expired: 'credentials',
      client_secret_invalid: 'credentials',
      app_not_found: 'configuration',
      tenant_not_found: 'configuration',
      app_disabled: 'configuration',
      access_blocked: 'permissions',
      certificate_not_registered: 'credentials',
      certificate_expired: 'credentials',
      consent_missing: 'permissions',
      groups_not_configured: 'groups',
      group_not_found: 'groups',
      mass_removal_blocked: 'safety',
      directory_too_large: 'safety',
      entra_unreachable: 'connectivity',
      authentication_failed: 'credentials',
      internal_error: 'internal',
    });
  });

  it('has a short title for every code, usable in an email subject', () => {
    for (const code of FAILURE_CODES) {
      const title = failureTitle(code);
      expect(title.length).toBeGreaterThan(3);
      expect(title.length).toBeLessThan(40);
      expect(title).not.toMatch(/[\r\n]/);
    }
    expect(failureTitle('client_secret_expired')).toBe('client secret expired');
  });
});

describe('secret-related failures', () => {
  it.each(['client_secret_expired', 'client_secret_invalid'] as const)(
    '%s says authentication could not be completed and how to replace the secret',
    (code) => {
      const failure = build(code);
      expect(failure.message).toContain(
        'Authentication with Microsoft Entra ID could not be completed',
      );
      const steps = failure.remediation.join('\n');
      expect(steps).toMatch(/Generate a new client secret in Entra ID/);
      expect(steps).toMatch(/Certificates & secrets/);
      expect(steps).toMatch(/Update it in the integration settings/);
      expect(steps).toContain(CLIENT);
    },
  );

  it('client_secret_expired states the recorded expiry date', () => {
    expect(build('client_secret_expired').message).toContain('2026-01-31');
    const fromEntra = buildFailure(
      'client_secret_expired',
      { source: 'entra', errorCodes: [7000222] },
      ctx,
    );
    expect(fromEntra.message).toContain('AADSTS7000222');
  });

  it('client_secret_invalid explains a GUID-looking secret as the Secret ID', () => {
    const plain = build('client_secret_invalid');
    expect(plain.message).not.toMatch(/Secret ID/);
    const guid = build('client_secret_invalid', { ...ctx, secretLooksLikeGuid: true });
    expect(guid.message).toMatch(/looks like a GUID/);
    expect(guid.message).toMatch(/secret's ID .* instead of its value/);
    expect(guid.remediation[0]).toMatch(/Secret ID/);
    expect(guid.message).toContain('AADSTS7000215');
  });
});

describe('consent_missing', () => {
  it('lists the missing permissions and carries the admin-consent URL', () => {
    const failure = buildFailure(
      'consent_missing',
      { missingPermissions: ['User.Read.All', 'GroupMember.Read.All'] },
      { ...ctx, authorityHost: 'https://login.microsoftonline.com/' },
    );
    expect(failure.message).toContain('User.Read.All and GroupMember.Read.All');
    const url = `https://login.microsoftonline.com/${TENANT}/adminconsent?client_id=${CLIENT}`;
    expect(failure.remediation.some((s) => s.includes(url))).toBe(true);
    expect(failure.remediation.join('\n')).toMatch(/API permissions/);
    expect(failure.details).toEqual({
      missingPermissions: ['User.Read.All', 'GroupMember.Read.All'],
    });
  });

  it('uses the configured authority host (e.g. the simulator) and the default otherwise', () => {
    const sim = buildFailure(
      'consent_missing',
      { missingPermissions: ['User.Read.All'] },
      { ...ctx, authorityHost: 'https://127.0.0.1:8443' },
    );
    expect(sim.remediation.join('\n')).toContain(
      `https://127.0.0.1:8443/${TENANT}/adminconsent?client_id=${CLIENT}`,
    );
    const dflt = buildFailure(
      'consent_missing',
      { missingPermissions: ['User.Read.All'] },
      { tenantId: TENANT, clientId: CLIENT },
    );
    expect(dflt.remediation.join('\n')).toContain(
      `https://login.microsoftonline.com/${TENANT}/adminconsent`,
    );
  });

  it('falls back to both required permissions when Graph did not say which', () => {
    const failure = buildFailure('consent_missing', { missingPermissions: [] }, ctx);
    expect(failure.message).toContain('User.Read.All and GroupMember.Read.All');
  });
});

describe('Entra configuration failures say what the tenant admin must change', () => {
  it('tenant_not_found names the tenant and points at the Directory (tenant) ID', () => {
    const failure = build('tenant_not_found');
    expect(failure.message).toContain('"contoso.onmicrosoft.com"');
    expect(failure.message).toContain('AADSTS90002');
    expect(failure.remediation[0]).toMatch(/App registrations .* Overview/);
    expect(failure.remediation[0]).toContain('Directory (tenant) ID');
    // Without the tenant in the details, the settings' tenant is named.
    const fromContext = buildFailure('tenant_not_found', { errorCodes: [90002] }, ctx);
    expect(fromContext.message).toContain(`"${TENANT}"`);
  });

  it('app_disabled tells the admin to enable the enterprise application', () => {
    const failure = build('app_disabled');
    expect(failure.message).toContain('AADSTS7000112');
    expect(failure.message).toContain(CLIENT);
    expect(failure.message).toMatch(/disabled/);
    expect(failure.remediation.join('\n')).toMatch(
      /Enterprise applications .* Properties, set "Enabled for users to sign-in\?" to Yes/,
    );
  });

  it('access_blocked tells the admin to find and change the Conditional Access policy', () => {
    const failure = build('access_blocked');
    expect(failure.message).toContain('AADSTS53003');
    expect(failure.message).toMatch(/Conditional Access policy/);
    const steps = failure.remediation.join('\n');
    expect(steps).toMatch(/Service principal sign-ins/);
    expect(steps).toContain('c0ffee00-0000-0000-0000-000000000003');
    expect(steps).toMatch(/exclude this app from it/);
  });
});

describe('groups and safety failures', () => {
  it('group_not_found lists every missing group', () => {
    const failure = build('group_not_found');
    for (const id of sampleDetails.group_not_found.groupIds) expect(failure.message).toContain(id);
    expect(failure.title).toBe('Selected groups not found');
    const one = buildFailure('group_not_found', {
      groupIds: ['0c0c0c0c-0000-0000-0000-00000000000c'],
    });
    expect(one.title).toBe('Selected group not found');
  });

  it('mass_removal_blocked states the numbers and how to override once', () => {
    const failure = build('mass_removal_blocked');
    expect(failure.message).toContain('400 of 1000');
    expect(failure.message).toContain('40%');
    expect(failure.message).toContain('20%');
    expect(failure.message).toContain('10 users');
    expect(failure.remediation.join('\n')).toMatch(/Allow mass removal.*once/);
  });

  it('directory_too_large states the count, the ceiling and that nothing changed', () => {
    const failure = build('directory_too_large');
    expect(failure.category).toBe('safety');
    expect(failure.message).toContain(
      'the selected group 0c0c0c0c-0000-0000-0000-00000000000c alone has 2,400,000 members',
    );
    expect(failure.message).toContain('2,000,000 users');
    expect(failure.message).toContain('existing user list was left unchanged');
    expect(failure.remediation.join('\n')).toMatch(/smaller groups/);
    const staged = buildFailure('directory_too_large', {
      maxUsers: 1000,
      users: 1001,
      countedFrom: 'staged_users',
    });
    expect(staged.message).toContain('the selected groups hold at least 1,001 users');
  });

  it('settings_incomplete and settings_invalid name the fields', () => {
    const incomplete = build('settings_incomplete');
    expect(incomplete.message).toContain('tenant ID and client secret are missing');
    expect(incomplete.remediation.join('\n')).toMatch(/Tenant ID/);
    expect(incomplete.remediation.join('\n')).toMatch(/not its Secret ID/);
    const invalid = build('settings_invalid');
    expect(invalid.message).toContain('client (application) ID and selected groups (groupIds[2])');
  });

  it('authentication_failed names the AADSTS code and support IDs', () => {
    const failure = build('authentication_failed');
    expect(failure.message).toContain('AADSTS500011');
    expect(failure.remediation[0]).toContain('https://login.microsoftonline.com/error?code=500011');
    expect(failure.remediation.join('\n')).toContain('f1e2d3c4-0000-0000-0000-000000000001');
  });

  it('entra_unreachable reads as temporary, not as a settings problem', () => {
    const failure = build('entra_unreachable');
    expect(failure.message).toContain('after 5 attempts');
    expect(failure.message).toContain('server error');
    expect(failure.message).toMatch(/not a problem with your settings/);
  });
});
