import { describe, expect, it } from 'vitest';
import { describeFailure, failureOf } from '../../src/api/errors.js';
import { issuesByField, splitList } from '../../src/lib/issues.js';
import { orgPath, parseRoute } from '../../src/lib/routes.js';
import {
  EMPTY_SETTINGS,
  SETTINGS_ISSUE_PATHS,
  settingsInput,
} from '../../src/lib/settings-form.js';

describe('issuesByField', () => {
  it('puts each API issue beside its field, the most specific owner first, and keeps the rest for the form', () => {
    const { byField, form } = issuesByField(
      [
        { path: 'clientId', message: 'must be a GUID' },
        { path: 'groupIds[1]', message: 'must be a GUID' },
        { path: 'schedule.every', message: 'must be at least 15 minutes apart' },
        { path: 'schedule.enabled', message: 'expected boolean' },
        { path: 'massRemovalGuard.minRemovedUsers', message: 'expected number' },
        { path: 'massRemovalGuard', message: 'invalid' },
        { path: 'notifications.email.recipients', message: 'at least one recipient is required' },
        { path: 'surprise', message: 'unknown field' },
        { path: '', message: 'invalid body' },
      ],
      SETTINGS_ISSUE_PATHS,
    );
    expect(byField).toEqual({
      clientId: ['Must be a GUID'],
      groupIds: ['Entry 2: must be a GUID'],
      scheduleEvery: ['Must be at least 15 minutes apart'],
      scheduleEnabled: ['Expected boolean'],
      minRemovedUsers: ['Expected number'],
      maxRemovedPercent: ['Invalid'],
      recipients: ['At least one recipient is required'],
    });
    expect(form).toEqual(['surprise: unknown field', 'invalid body']);
  });

  it('splits pasted lists on lines, commas and semicolons', () => {
    expect(splitList(' a \n\nb, c;d \n')).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('settingsInput', () => {
  it('sends the secret only on create, and numbers that do not read as numbers as null', () => {
    const values = {
      ...EMPTY_SETTINGS,
      tenantId: ' t ',
      clientSecret: 's3cret-value',
      clientSecretExpiresAt: '2027-01-31',
      groupIds: 'g1\ng2',
      maxRemovedPercent: 'abc',
      minRemovedUsers: '',
    };
    const created = settingsInput(values, 'create');
    expect(created).toMatchObject({
      tenantId: 't',
      clientId: undefined,
      clientSecret: 's3cret-value',
      clientSecretExpiresAt: '2027-01-31',
      groupIds: ['g1', 'g2'],
    });
    expect(JSON.parse(JSON.stringify(created)).massRemovalGuard).toEqual({
      maxRemovedPercent: null,
      minRemovedUsers: null,
    });
    const edited = settingsInput(values, 'edit');
    expect(edited).not.toHaveProperty('clientSecret');
    expect(edited).not.toHaveProperty('clientSecretExpiresAt');
  });
});

describe('routes', () => {
  it('parses every console page, the email link included', () => {
    expect(parseRoute('/console/')).toEqual({ page: 'home' });
    expect(parseRoute('/console')).toEqual({ page: 'home' });
    expect(parseRoute('/console/orgs/acme')).toEqual({ page: 'overview', orgId: 'acme' });
    expect(parseRoute('/console/orgs/acme/integrations/entra-id')).toEqual({
      page: 'overview',
      orgId: 'acme',
    });
    expect(parseRoute('/console/orgs/acme/runs/')).toEqual({ page: 'runs', orgId: 'acme' });
    expect(parseRoute('/console/orgs/acme/notifications')).toEqual({
      page: 'notifications',
      orgId: 'acme',
    });
    expect(parseRoute('/console/orgs/acme/settings')).toEqual({ page: 'settings', orgId: 'acme' });
    for (const path of [
      '/console/orgs/a%3Ab',
      '/console/orgs/%E0%A4%A',
      '/console/orgs/acme/nope',
      '/console/x',
      '/elsewhere',
    ]) {
      expect(parseRoute(path), path).toEqual({ page: 'not-found' });
    }
    expect(orgPath('acme', 'runs')).toBe('/console/orgs/acme/runs');
    expect(orgPath('acme')).toBe('/console/orgs/acme');
  });
});

describe('describeFailure of a 429', () => {
  it("names Sync Now's budget with its wait, and says the rest plainly", () => {
    expect(
      describeFailure({ kind: 'rate_limited', retryAfterSeconds: 240, limit: 'sync_now_budget' }),
    ).toBe(
      'This organisation has started as many syncs as it may in a short time. Try again in 4 minutes.',
    );
    expect(
      describeFailure({ kind: 'rate_limited', retryAfterSeconds: 12, limit: 'request_rate' }),
    ).toBe('Too many requests from this sign-in. Try again in 12 seconds.');
    expect(describeFailure({ kind: 'rate_limited', retryAfterSeconds: null, limit: null })).toBe(
      'Too many requests from this sign-in. Try again shortly.',
    );
  });
});

describe('failureOf', () => {
  it('classifies error answers by status and body', () => {
    expect(failureOf(401, null, null)).toEqual({ kind: 'unauthorized' });
    expect(
      failureOf(
        400,
        { error: 'validation_failed', issues: [{ path: 'a', message: 'b' }, { bad: 1 }] },
        null,
      ),
    ).toEqual({
      kind: 'validation',
      issues: [{ path: 'a', message: 'b' }],
    });
    expect(failureOf(400, { error: 'invalid_json' }, null)).toEqual({
      kind: 'server',
      status: 400,
    });
    expect(failureOf(429, { error: 'rate_limited', retryAfterSeconds: 12 }, '30')).toEqual({
      kind: 'rate_limited',
      retryAfterSeconds: 12,
      limit: null,
    });
    expect(failureOf(429, null, '30')).toEqual({
      kind: 'rate_limited',
      retryAfterSeconds: 30,
      limit: null,
    });
    expect(
      failureOf(
        429,
        { error: 'rate_limited', retryAfterSeconds: 240, limit: 'sync_now_budget' },
        '240',
      ),
    ).toEqual({ kind: 'rate_limited', retryAfterSeconds: 240, limit: 'sync_now_budget' });
    expect(failureOf(429, { limit: 'something else' }, 'soon')).toEqual({
      kind: 'rate_limited',
      retryAfterSeconds: null,
      limit: null,
    });
    expect(failureOf(503, null, null)).toEqual({ kind: 'unavailable' });
  });
});
