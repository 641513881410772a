import { describe, expect, it } from 'vitest';
import { buildFailure, classifyGraphError, parseHttpDate, parseRetryAfter } from '../src/index.js';

const GROUP = '0a0a0a0a-0000-0000-0000-00000000000a';

describe('classifyGraphError: blocking', () => {
  it('403 Authorization_RequestDenied is consent_missing with the likely permissions', () => {
    expect(
      classifyGraphError({ status: 403, code: 'Authorization_RequestDenied', context: 'group' }),
    ).toEqual({
      kind: 'blocking',
      code: 'consent_missing',
      details: {
        missingPermissions: ['GroupMember.Read.All'],
        source: 'graph',
        status: 403,
        graphCode: 'Authorization_RequestDenied',
      },
    });
    expect(
      classifyGraphError({ status: 403, code: 'Authorization_RequestDenied', context: 'members' }),
    ).toMatchObject({ details: { missingPermissions: ['User.Read.All', 'GroupMember.Read.All'] } });
    expect(
      classifyGraphError({ status: 403, code: 'Authorization_RequestDenied', context: 'users' }),
    ).toMatchObject({ details: { missingPermissions: ['User.Read.All'] } });
  });

  it('any 403 on these read-only calls is a permission problem', () => {
    expect(classifyGraphError({ status: 403, context: 'members' })).toMatchObject({
      kind: 'blocking',
      code: 'consent_missing',
    });
  });

  it.each(['group', 'members'] as const)(
    '404 Request_ResourceNotFound in %s is group_not_found',
    (context) => {
      expect(
        classifyGraphError({
          status: 404,
          code: 'Request_ResourceNotFound',
          context,
          groupId: GROUP,
        }),
      ).toEqual({ kind: 'blocking', code: 'group_not_found', details: { groupIds: [GROUP] } });
    },
  );

  it('404 in the users context is not blamed on groups', () => {
    expect(
      classifyGraphError({ status: 404, code: 'Request_ResourceNotFound', context: 'users' }),
    ).toMatchObject({ kind: 'blocking', code: 'internal_error' });
  });

  it('a 404 without a Graph error code is not Graph speaking: transient', () => {
    expect(classifyGraphError({ status: 404, context: 'group', groupId: GROUP })).toEqual({
      kind: 'transient',
      reason: 'unexpected_response',
      retryAfterMs: null,
    });
  });

  it('other 4xx are internal errors (our request was wrong)', () => {
    expect(
      classifyGraphError({ status: 400, code: 'Request_UnsupportedQuery', context: 'members' }),
    ).toEqual({
      kind: 'blocking',
      code: 'internal_error',
      details: {
        reason: 'graph_request_rejected',
        status: 400,
        graphCode: 'Request_UnsupportedQuery',
      },
    });
  });

  it('drops a malformed Graph code', () => {
    const result = classifyGraphError({ status: 403, code: 'x\r\ny', context: 'group' });
    expect(result.kind === 'blocking' && result.details).not.toHaveProperty('graphCode');
  });

  it('feeds buildFailure', () => {
    const result = classifyGraphError({
      status: 404,
      code: 'Request_ResourceNotFound',
      context: 'group',
      groupId: GROUP,
    });
    if (result.kind !== 'blocking') throw new Error('expected blocking');
    expect(buildFailure(result.code, result.details).message).toContain(GROUP);
  });
});

describe('classifyGraphError: transient', () => {
  it.each([
    [429, 'throttled'],
    [503, 'throttled'],
    [500, 'server_error'],
    [502, 'server_error'],
    [504, 'server_error'],
    [408, 'timeout'],
    [401, 'unauthorized'],
    [302, 'unexpected_response'],
  ] as const)('%d is transient %s', (status, reason) => {
    expect(classifyGraphError({ status, context: 'members' })).toEqual({
      kind: 'transient',
      reason,
      retryAfterMs: null,
    });
  });

  it('carries Retry-After as ms, from seconds or from parsed ms', () => {
    expect(classifyGraphError({ status: 429, retryAfterSeconds: 10, context: 'members' })).toEqual({
      kind: 'transient',
      reason: 'throttled',
      retryAfterMs: 10_000,
    });
    expect(classifyGraphError({ status: 503, retryAfterMs: 2500, context: 'group' })).toMatchObject(
      {
        retryAfterMs: 2500,
      },
    );
    expect(
      classifyGraphError({ status: 429, retryAfterSeconds: -3, context: 'members' }),
    ).toMatchObject({ retryAfterMs: null });
  });

  it.each([
    ['timeout', 'timeout'],
    ['connection', 'network'],
    ['tls', 'network'],
  ] as const)('network %s is transient %s', (network, reason) => {
    expect(classifyGraphError({ network, context: 'members' })).toEqual({
      kind: 'transient',
      reason,
      retryAfterMs: null,
    });
  });
});

describe('parseRetryAfter', () => {
  const now = new Date('2026-05-10T10:00:00.000Z');

  it('reads delay-seconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('1.5', now)).toBe(1500);
  });

  it('reads an IMF-fixdate relative to now', () => {
    expect(parseRetryAfter('Sun, 10 May 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Sun, 10 May 2026 10:00:30 GMT', now.getTime())).toBe(30_000);
  });

  it('reads the obsolete RFC 850 and asctime forms', () => {
    expect(parseRetryAfter('Sunday, 10-May-26 10:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Sun May 10 10:00:05 2026', now)).toBe(5_000);
    expect(parseRetryAfter('Sun May  3 10:00:00 2026', now)).toBe(0);
  });

  it('treats a date in the past as no wait', () => {
    expect(parseRetryAfter('Sat, 09 May 2026 10:00:00 GMT', now)).toBe(0);
  });

  it.each([
    null,
    undefined,
    '',
    '-1',
    '1e3',
    '0x10',
    'soon',
    '10 seconds',
    'Sun, 31 Feb 2026 10:00:00 GMT',
    'Sun, 10 May 2026 25:00:00 GMT',
    '2026-05-10T10:00:30Z',
    'Sun, 10 May 2026 10:00:30 CET',
    'x'.repeat(100),
  ])('returns null for %j', (value) => {
    expect(parseRetryAfter(value, now)).toBeNull();
  });

  it('parseHttpDate picks the century of a two-digit year within 50 years', () => {
    expect(parseHttpDate('Thursday, 01-Jan-70 00:00:00 GMT', now)).toBe(Date.UTC(2070, 0, 1));
    expect(parseHttpDate('Friday, 01-Jan-99 00:00:00 GMT', now)).toBe(Date.UTC(1999, 0, 1));
  });
});
