import { describe, expect, it } from 'vitest';
import {
  authMethodOf,
  clientSecretRotationSchema,
  emailRecipientSchema,
  integrationSettingsInputSchema,
  integrationSettingsViewSchema,
  secretHint,
  toValidationIssues,
} from '../src/index.js';

const TENANT = '11111111-2222-3333-4444-555555555555';
const CLIENT = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
const GROUP_A = '0a0a0a0a-0000-0000-0000-00000000000a';
const GROUP_B = '0b0b0b0b-0000-0000-0000-00000000000b';
const SECRET = 'Abc8Q~xYz.0123456789_abcdefghijklmnopqrs';

const full = {
  tenantId: TENANT,
  clientId: CLIENT,
  clientSecret: SECRET,
  clientSecretExpiresAt: '2027-03-01T00:00:00Z',
  groupIds: [GROUP_A, GROUP_B],
  schedule: { enabled: true, every: '6h' },
  notifications: { email: { enabled: true, recipients: ['Admin@Contoso.com'] } },
};

function issuePaths(input: unknown): string[] {
  const result = integrationSettingsInputSchema.safeParse(input);
  if (result.success) return [];
  return toValidationIssues(result.error).map((i) => i.path);
}

describe('integrationSettingsInputSchema', () => {
  it('parses a complete body and applies the product defaults', () => {
    const parsed = integrationSettingsInputSchema.parse(full);
    expect(parsed).toEqual({
      tenantId: TENANT,
      clientId: CLIENT,
      clientSecret: SECRET,
      clientSecretExpiresAt: '2027-03-01T00:00:00.000Z',
      groupIds: [GROUP_A, GROUP_B],
      schedule: { enabled: true, every: '6h' },
      notifications: { email: { enabled: true, recipients: ['admin@contoso.com'] } },
      includeDisabledUsers: false,
      massRemovalGuard: { maxRemovedPercent: 20, minRemovedUsers: 10 },
    });
  });

  it('accepts a draft: no credentials, no groups, nothing scheduled', () => {
    const parsed = integrationSettingsInputSchema.parse({});
    expect(parsed.tenantId).toBeUndefined();
    expect(parsed.clientId).toBeUndefined();
    expect(parsed.clientSecret).toBeUndefined();
    expect(parsed.groupIds).toEqual([]);
    expect(parsed.schedule).toEqual({ enabled: false, every: '1d' });
    expect(parsed.notifications).toEqual({ email: { enabled: false, recipients: [] } });
  });

  it('keeps the stored secret when clientSecret is omitted (no expiry needed)', () => {
    const { clientSecret: _s, clientSecretExpiresAt: _e, ...rest } = full;
    const parsed = integrationSettingsInputSchema.parse(rest);
    expect(parsed.clientSecret).toBeUndefined();
    expect(parsed.clientSecretExpiresAt).toBeUndefined();
  });

  it('requires clientSecretExpiresAt with a new clientSecret', () => {
    const { clientSecretExpiresAt: _e, ...rest } = full;
    expect(issuePaths(rest)).toEqual(['clientSecretExpiresAt']);
  });

  it('accepts an expiry alone (correcting the stored secret) and a bare date', () => {
    const { clientSecret: _s, ...rest } = full;
    const parsed = integrationSettingsInputSchema.parse({
      ...rest,
      clientSecretExpiresAt: '2027-03-01',
    });
    expect(parsed.clientSecretExpiresAt).toBe('2027-03-01T00:00:00.000Z');
  });

  it('normalises an expiry with an offset to UTC and accepts a past one', () => {
    expect(
      integrationSettingsInputSchema.parse({
        ...full,
        clientSecretExpiresAt: '2027-03-01T02:00:00+02:00',
      }).clientSecretExpiresAt,
    ).toBe('2027-03-01T00:00:00.000Z');
    expect(
      integrationSettingsInputSchema.parse({
        ...full,
        clientSecretExpiresAt: '2020-01-01T00:00:00Z',
      }).clientSecretExpiresAt,
    ).toBe('2020-01-01T00:00:00.000Z');
  });

  it.each(['tomorrow', '2027-02-30', '2027-13-01T00:00:00Z', '2027-03-01T00:00:00', '1900-01-01'])(
    'rejects the expiry %j',
    (value) => {
      expect(issuePaths({ ...full, clientSecretExpiresAt: value })).toEqual([
        'clientSecretExpiresAt',
      ]);
    },
  );

  it('rejects unknown fields at every level', () => {
    expect(issuePaths({ ...full, isAdmin: true })).toEqual(['isAdmin']);
    expect(issuePaths({ ...full, schedule: { enabled: true, every: '6h', tz: 'CET' } })).toEqual([
      'schedule.tz',
    ]);
    expect(
      issuePaths({
        ...full,
        notifications: { email: { enabled: false, recipients: [], cc: [] }, sms: {} },
      }).sort(),
    ).toEqual(['notifications.email.cc', 'notifications.sms']);
    expect(issuePaths({ ...full, massRemovalGuard: { maxRemovedPercent: 5, extra: 1 } })).toEqual([
      'massRemovalGuard.extra',
    ]);
  });

  it('validates tenant and client IDs', () => {
    expect(issuePaths({ ...full, tenantId: 'common', clientId: 'my-app' }).sort()).toEqual([
      'clientId',
      'tenantId',
    ]);
  });

  it('lower-cases group IDs and removes case-insensitive duplicates', () => {
    const parsed = integrationSettingsInputSchema.parse({
      ...full,
      groupIds: [GROUP_A.toUpperCase(), GROUP_A, GROUP_B, GROUP_B.toUpperCase()],
    });
    expect(parsed.groupIds).toEqual([GROUP_A, GROUP_B]);
  });

  it('allows 100 groups and refuses 101 distinct ones', () => {
    const ids = (n: number) =>
      Array.from({ length: n }, (_, i) => `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`);
    expect(
      integrationSettingsInputSchema.parse({ ...full, groupIds: ids(100) }).groupIds,
    ).toHaveLength(100);
    expect(issuePaths({ ...full, groupIds: ids(101) })).toEqual(['groupIds']);
    // 150 entries that are 75 distinct IDs twice are fine: the limit is on distinct groups.
    const twice = [...ids(75), ...ids(75).map((g) => g.toUpperCase())];
    expect(
      integrationSettingsInputSchema.parse({ ...full, groupIds: twice }).groupIds,
    ).toHaveLength(75);
  });

  it('names the bad group ID by index', () => {
    expect(issuePaths({ ...full, groupIds: [GROUP_A, 'nope'] })).toEqual(['groupIds[1]']);
  });

  describe('clientSecret', () => {
    it('trims surrounding whitespace', () => {
      expect(
        integrationSettingsInputSchema.parse({ ...full, clientSecret: `  ${SECRET}\n` })
          .clientSecret,
      ).toBe(SECRET);
    });

    it.each([
      ['empty', ''],
      ['too short', 'abc'],
      ['inner space', 'abc def ghi jkl'],
      ['control character', 'abcdefgh\u0007ijk'],
      ['inner line break', 'abcdefgh\r\nijkl'],
      ['zero-width space', 'abcdefgh\u200bijkl'],
      ['non-ASCII', 'abcdefghé12345'],
      ['too long', 'a'.repeat(513)],
    ])('rejects a secret that is %s, without echoing it', (_label, secret) => {
      const result = integrationSettingsInputSchema.safeParse({ ...full, clientSecret: secret });
      expect(result.success).toBe(false);
      if (result.success) return;
      const issues = toValidationIssues(result.error);
      expect(issues.map((i) => i.path)).toContain('clientSecret');
      if (secret.length >= 3) expect(JSON.stringify(issues)).not.toContain(secret);
    });

    it('accepts a GUID-shaped secret (the failure message explains it later)', () => {
      const guid = '9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d';
      expect(
        integrationSettingsInputSchema.parse({ ...full, clientSecret: guid }).clientSecret,
      ).toBe(guid);
    });
  });

  describe('schedule', () => {
    it('normalises the interval and validates it', () => {
      expect(
        integrationSettingsInputSchema.parse({
          ...full,
          schedule: { enabled: true, every: ' 6H ' },
        }).schedule.every,
      ).toBe('6h');
      expect(issuePaths({ ...full, schedule: { enabled: true, every: '5m' } })).toEqual([
        'schedule.every',
      ]);
      expect(issuePaths({ ...full, schedule: { enabled: false, every: 'whenever' } })).toEqual([
        'schedule.every',
      ]);
    });

    it('accepts a cron string and defaults every to 1d', () => {
      expect(
        integrationSettingsInputSchema.parse({
          ...full,
          schedule: { enabled: true, every: '0  2 * * *' },
        }).schedule.every,
      ).toBe('0 2 * * *');
      expect(
        integrationSettingsInputSchema.parse({ ...full, schedule: { enabled: true } }).schedule,
      ).toEqual({
        enabled: true,
        every: '1d',
      });
    });

    it('requires enabled as a boolean', () => {
      expect(issuePaths({ ...full, schedule: { enabled: 'yes', every: '1d' } })).toEqual([
        'schedule.enabled',
      ]);
    });
  });

  describe('notifications', () => {
    it('lower-cases, trims and de-duplicates recipients', () => {
      const parsed = integrationSettingsInputSchema.parse({
        ...full,
        notifications: {
          email: {
            enabled: true,
            recipients: ['A@Contoso.com', ' a@contoso.com ', 'b@contoso.com'],
          },
        },
      });
      expect(parsed.notifications.email.recipients).toEqual(['a@contoso.com', 'b@contoso.com']);
    });

    it('requires a recipient when email is enabled, not when disabled', () => {
      expect(
        issuePaths({ ...full, notifications: { email: { enabled: true, recipients: [] } } }),
      ).toEqual(['notifications.email.recipients']);
      expect(
        integrationSettingsInputSchema.parse({
          ...full,
          notifications: { email: { enabled: false, recipients: [] } },
        }).notifications.email,
      ).toEqual({ enabled: false, recipients: [] });
    });

    it('allows 50 recipients and refuses 51', () => {
      const list = (n: number) => Array.from({ length: n }, (_, i) => `user${i}@contoso.com`);
      const ok = { ...full, notifications: { email: { enabled: true, recipients: list(50) } } };
      expect(integrationSettingsInputSchema.parse(ok).notifications.email.recipients).toHaveLength(
        50,
      );
      const tooMany = {
        ...full,
        notifications: { email: { enabled: true, recipients: list(51) } },
      };
      expect(issuePaths(tooMany)).toEqual(['notifications.email.recipients']);
    });

    it.each([
      'admin@contoso.com\r\nBcc: victim@evil.com',
      'admin@contoso.com\nBcc: victim@evil.com',
      'admin@contoso.com\r\n',
      '\nadmin@contoso.com',
      'admin@contoso.com%0d%0aBcc:victim@evil.com',
      'admin@contoso.com, victim@evil.com',
      'admin@contoso.com;victim@evil.com',
      'Admin <admin@contoso.com>',
      '"admin"@contoso.com',
      'admin@contoso.com\u0000',
      'admin@contoso.com\u2028',
      'admin\u200b@contoso.com',
      'not-an-email',
      'admin@',
      '@contoso.com',
      'admin@contoso',
      `${'a'.repeat(250)}@contoso.com`,
    ])('rejects the recipient %j', (recipient) => {
      expect(emailRecipientSchema.safeParse(recipient).success).toBe(false);
      expect(
        issuePaths({
          ...full,
          notifications: { email: { enabled: true, recipients: [recipient] } },
        }),
      ).toEqual(['notifications.email.recipients[0]']);
    });
  });

  describe('massRemovalGuard and includeDisabledUsers', () => {
    it('takes explicit values and fills a partial guard', () => {
      const parsed = integrationSettingsInputSchema.parse({
        ...full,
        includeDisabledUsers: true,
        massRemovalGuard: { maxRemovedPercent: 50 },
      });
      expect(parsed.includeDisabledUsers).toBe(true);
      expect(parsed.massRemovalGuard).toEqual({ maxRemovedPercent: 50, minRemovedUsers: 10 });
    });

    it.each([
      [{ maxRemovedPercent: -1 }, 'massRemovalGuard.maxRemovedPercent'],
      [{ maxRemovedPercent: 101 }, 'massRemovalGuard.maxRemovedPercent'],
      [{ minRemovedUsers: 1.5 }, 'massRemovalGuard.minRemovedUsers'],
      [{ minRemovedUsers: -1 }, 'massRemovalGuard.minRemovedUsers'],
    ])('rejects %j', (guard, path) => {
      expect(issuePaths({ ...full, massRemovalGuard: guard })).toEqual([path]);
    });
  });
});

describe('authMethod', () => {
  it('is optional (the stored method is kept), and takes the two methods only', () => {
    expect(integrationSettingsInputSchema.parse({}).authMethod).toBeUndefined();
    expect(integrationSettingsInputSchema.parse({ authMethod: 'certificate' }).authMethod).toBe(
      'certificate',
    );
    const bad = integrationSettingsInputSchema.safeParse({ authMethod: 'password' });
    expect(bad.success).toBe(false);
    if (!bad.success) expect(toValidationIssues(bad.error)[0]?.path).toBe('authMethod');
  });

  it('with certificate, needs no client secret', () => {
    const parsed = integrationSettingsInputSchema.parse({
      tenantId: TENANT,
      clientId: CLIENT,
      groupIds: [GROUP_A],
      authMethod: 'certificate',
    });
    expect(parsed.clientSecret).toBeUndefined();
  });

  it('reads records from before certificates as the client secret', () => {
    expect(authMethodOf({})).toBe('client_secret');
    expect(authMethodOf({ authMethod: null })).toBe('client_secret');
    expect(authMethodOf({ authMethod: 'certificate' })).toBe('certificate');
  });
});

describe('clientSecretRotationSchema', () => {
  it('requires both fields and nothing else', () => {
    expect(
      clientSecretRotationSchema.parse({ clientSecret: SECRET, expiresAt: '2027-01-01T00:00:00Z' }),
    ).toEqual({ clientSecret: SECRET, expiresAt: '2027-01-01T00:00:00.000Z' });
    expect(clientSecretRotationSchema.safeParse({ clientSecret: SECRET }).success).toBe(false);
    expect(
      clientSecretRotationSchema.safeParse({ expiresAt: '2027-01-01T00:00:00Z' }).success,
    ).toBe(false);
    expect(
      clientSecretRotationSchema.safeParse({
        clientSecret: SECRET,
        expiresAt: '2027-01-01T00:00:00Z',
        tenantId: TENANT,
      }).success,
    ).toBe(false);
  });
});

describe('secretHint', () => {
  it('shows the last 3 characters only', () => {
    expect(secretHint(SECRET)).toBe('qrs');
    expect(secretHint('9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d')).toBe('b6d');
  });
});

describe('integrationSettingsViewSchema', () => {
  it('describes the GET response and has no place for the secret value', () => {
    const view = {
      orgId: 'org-1',
      tenantId: TENANT,
      clientId: CLIENT,
      clientSecret: { configured: true, hint: 'qrs', expiresAt: '2027-03-01T00:00:00.000Z' },
      groupIds: [GROUP_A],
      schedule: { enabled: true, every: '6h' },
      notifications: { email: { enabled: false, recipients: [] } },
      includeDisabledUsers: false,
      massRemovalGuard: { maxRemovedPercent: 20, minRemovedUsers: 10 },
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-02T00:00:00.000Z',
      authMethod: 'client_secret',
    };
    expect(integrationSettingsViewSchema.parse(view)).toEqual(view);
    const withValue = { ...view, clientSecret: { ...view.clientSecret, value: SECRET } };
    // Unknown keys are stripped: a secret value can never reach the response through this schema.
    expect(JSON.stringify(integrationSettingsViewSchema.parse(withValue))).not.toContain(SECRET);
    expect(
      integrationSettingsViewSchema.parse({
        ...view,
        tenantId: null,
        clientId: null,
        clientSecret: { configured: false, hint: null, expiresAt: null },
      }).clientSecret.configured,
    ).toBe(false);
  });
});
