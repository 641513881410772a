import { describe, expect, it } from 'vitest';
import { buildFailure, classifyTokenError, syncFailureSchema } from '../src/index.js';

describe('classifyTokenError: AADSTS codes', () => {
  it.each([
    [7000222, 401, 'invalid_client', 'client_secret_expired'],
    [7000215, 401, 'invalid_client', 'client_secret_invalid'],
    [700016, 400, 'unauthorized_client', 'app_not_found'],
    [90002, 400, 'invalid_request', 'tenant_not_found'],
    [900023, 400, 'invalid_request', 'tenant_not_found'],
    [7000112, 400, 'unauthorized_client', 'app_disabled'],
    [53003, 400, 'invalid_grant', 'access_blocked'],
    [700027, 401, 'invalid_client', 'certificate_not_registered'],
  ] as const)('AADSTS%d is blocking %s', (code, status, error, expected) => {
    const result = classifyTokenError({ status, error, errorCodes: [code] });
    expect(result.kind).toBe('blocking');
    if (result.kind !== 'blocking') return;
    expect(result.code).toBe(expected);
    expect(result.details).toMatchObject({ status, error, errorCodes: [code] });
  });

  it('marks an expired secret reported by Entra with source "entra"', () => {
    const result = classifyTokenError({
      status: 401,
      error: 'invalid_client',
      errorCodes: [7000222],
    });
    expect(result).toMatchObject({ kind: 'blocking', details: { source: 'entra' } });
  });

  it('decides by error_codes even when the status says something else', () => {
    expect(classifyTokenError({ status: 500, errorCodes: [7000215] })).toMatchObject({
      kind: 'blocking',
      code: 'client_secret_invalid',
    });
  });

  it('never reads description text', () => {
    const input = {
      status: 401,
      error: 'invalid_client',
      errorCodes: [7000215],
      // Extra fields such as a description are ignored even if a caller passes them.
      error_description: 'AADSTS7000222: The provided client secret keys are expired.',
    };
    expect(classifyTokenError(input)).toMatchObject({ code: 'client_secret_invalid' });
    expect(
      classifyTokenError({
        status: 400,
        error: 'invalid_request',
        errorCodes: [9999999],
        error_description: 'AADSTS90002: Tenant not found',
      } as never),
    ).toMatchObject({ code: 'authentication_failed' });
  });

  it('maps an unknown AADSTS code on a 4xx to authentication_failed, keeping support IDs', () => {
    const result = classifyTokenError({
      status: 400,
      error: 'invalid_request',
      errorCodes: [53000],
      traceId: '0b9c1a2e-0000-4000-8000-000000000000',
      correlationId: '7f3e5d1c-0000-4000-8000-000000000000',
    });
    expect(result).toEqual({
      kind: 'blocking',
      code: 'authentication_failed',
      details: {
        status: 400,
        error: 'invalid_request',
        errorCodes: [53000],
        traceId: '0b9c1a2e-0000-4000-8000-000000000000',
        correlationId: '7f3e5d1c-0000-4000-8000-000000000000',
      },
    });
  });

  it('treats 4xx with no code as authentication_failed', () => {
    expect(classifyTokenError({ status: 401, error: 'invalid_client' })).toMatchObject({
      kind: 'blocking',
      code: 'authentication_failed',
    });
    expect(classifyTokenError({ status: 400 })).toMatchObject({ code: 'authentication_failed' });
    expect(classifyTokenError({ error: 'unauthorized_client' })).toMatchObject({
      code: 'authentication_failed',
    });
  });

  it('drops malformed values before they reach run records', () => {
    const result = classifyTokenError({
      status: 400,
      error: 'bad\r\nvalue',
      errorCodes: [53000, -1, 1.5],
      traceId: '<script>',
    });
    expect(result).toMatchObject({ details: { status: 400, errorCodes: [53000] } });
    if (result.kind === 'blocking') {
      expect(result.details).not.toHaveProperty('error');
      expect(result.details).not.toHaveProperty('traceId');
    }
  });
});

describe('classifyTokenError: OpenID metadata discovery', () => {
  const discovery = { endpoint: 'metadata_discovery' } as const;

  it("is tenant_not_found on Entra's 400 invalid_tenant / 90002, naming the tenant", () => {
    const result = classifyTokenError(
      { ...discovery, status: 400, error: 'invalid_tenant', errorCodes: [90002] },
      { tenantId: 'contoso.onmicrosoft.com' },
    );
    expect(result).toEqual({
      kind: 'blocking',
      code: 'tenant_not_found',
      details: {
        status: 400,
        error: 'invalid_tenant',
        errorCodes: [90002],
        endpoint: 'metadata_discovery',
        tenantId: 'contoso.onmicrosoft.com',
      },
    });
  });

  it('is tenant_not_found on invalid_tenant even without error_codes', () => {
    expect(
      classifyTokenError({ ...discovery, status: 400, error: 'invalid_tenant' }),
    ).toMatchObject({ kind: 'blocking', code: 'tenant_not_found' });
  });

  it('names the tenant at the token endpoint too, and drops a malformed one', () => {
    const tenantId = '11111111-2222-3333-4444-555555555555';
    expect(classifyTokenError({ status: 400, errorCodes: [90002] }, { tenantId })).toMatchObject({
      details: { tenantId },
    });
    const odd = classifyTokenError({ status: 400, errorCodes: [90002] }, { tenantId: 'a/b\r\n' });
    expect(odd).toMatchObject({ code: 'tenant_not_found' });
    if (odd.kind === 'blocking') expect(odd.details).not.toHaveProperty('tenantId');
  });

  it.each([
    [{ status: 503 }, 'server_error'],
    [{ status: 500 }, 'server_error'],
    [{ status: 429 }, 'throttled'],
    // Not Entra's answer (no error, no codes): a proxy or a wrong host, not the admin's settings.
    [{ status: 404 }, 'unexpected_response'],
    [{ status: 400 }, 'unexpected_response'],
  ] as const)('%j from discovery stays transient (%s)', (input, reason) => {
    expect(classifyTokenError({ ...discovery, ...input })).toMatchObject({
      kind: 'transient',
      reason,
    });
  });
});

describe('classifyTokenError: transient', () => {
  it.each([
    [{ status: 429, retryAfterSeconds: 7 }, 'throttled', 7000],
    [{ status: 500 }, 'server_error', null],
    [{ status: 502 }, 'server_error', null],
    [{ status: 503, retryAfterSeconds: 30 }, 'server_error', 30000],
    [{ status: 504 }, 'server_error', null],
    [{ status: 408 }, 'timeout', null],
    [{ status: 400, error: 'temporarily_unavailable' }, 'server_error', null],
    [{ status: 400, errorCodes: [90033] }, 'server_error', null],
    [{ status: 400, errorCodes: [90024] }, 'server_error', null],
    [{ status: 400, errorCodes: [90012] }, 'timeout', null],
    [{ status: 429, errorCodes: [90055] }, 'throttled', null],
    // The assertion is outside its valid time: this service's clock, retried.
    [{ status: 401, error: 'invalid_client', errorCodes: [700024] }, 'clock_skew', null],
    [{}, 'unexpected_response', null],
    [{ status: 302 }, 'unexpected_response', null],
  ] as const)('%j is transient %s', (input, reason, retryAfterMs) => {
    expect(classifyTokenError(input)).toEqual({ kind: 'transient', reason, retryAfterMs });
  });

  it.each([
    ['timeout', 'timeout'],
    ['connection', 'network'],
    ['dns', 'network'],
    ['tls', 'network'],
    ['aborted', 'network'],
  ] as const)('network %s is transient %s', (network, reason) => {
    expect(classifyTokenError({ network })).toEqual({
      kind: 'transient',
      reason,
      retryAfterMs: null,
    });
  });
});

describe('classifyTokenError → buildFailure', () => {
  it('feeds buildFailure directly', () => {
    const result = classifyTokenError({
      status: 401,
      error: 'invalid_client',
      errorCodes: [7000215],
    });
    if (result.kind !== 'blocking') throw new Error('expected blocking');
    const failure = buildFailure(result.code, result.details, { secretLooksLikeGuid: true });
    expect(syncFailureSchema.parse(failure).code).toBe('client_secret_invalid');
    expect(failure.message).toMatch(/Secret ID/);
  });
});
