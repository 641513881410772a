import { describe, expect, it } from 'vitest';
import { describeFailure, failureOf } from '../../src/api/errors.js';
import type { IntegrationSettings } from '../../src/api/types.js';
import {
  daysUntil,
  fileNameOf,
  groupedThumbprint,
  isLastUsable,
  isUsable,
  switchMethodInput,
} from '../../src/lib/certificates.js';

const now = new Date('2026-06-01T12:00:00Z');
const iso = (days: number) => new Date(now.getTime() + days * 86_400_000).toISOString();

describe('certificates, as the console shows them', () => {
  it('tells usable from expired or retired, and counts whole days left', () => {
    expect(isUsable({ status: 'pending', notAfter: iso(10) }, now)).toBe(true);
    expect(isUsable({ status: 'active', notAfter: iso(-1) }, now)).toBe(false);
    expect(isUsable({ status: 'retired', notAfter: iso(100) }, now)).toBe(false);
    expect(daysUntil(iso(364.9), now)).toBe(364);
    expect(daysUntil(iso(-0.5), now)).toBe(-1);
  });

  it('knows the last usable certificate of an org on certificates (the API refuses retiring it)', () => {
    const list = [
      { id: 'a', status: 'active' as const, notAfter: iso(100) },
      { id: 'b', status: 'pending' as const, notAfter: iso(-1) },
      { id: 'c', status: 'retired' as const, notAfter: iso(300) },
    ];
    expect(isLastUsable(list, 'a', 'certificate', now)).toBe(true);
    expect(isLastUsable(list, 'a', 'client_secret', now)).toBe(false);
    expect(isLastUsable(list, 'b', 'certificate', now)).toBe(false);
    expect(
      isLastUsable(
        [...list, { id: 'd', status: 'pending', notAfter: iso(50) }],
        'a',
        'certificate',
        now,
      ),
    ).toBe(false);
  });

  it('groups a thumbprint by four, as people compare it', () => {
    expect(groupedThumbprint('0123456789ABCDEF0123456789ABCDEF01234567')).toBe(
      '0123 4567 89AB CDEF 0123 4567 89AB CDEF 0123 4567',
    );
  });

  it('names the download as the server does, and never takes a hostile name', () => {
    expect(
      fileNameOf('attachment; filename="pinnacle-entra-sync-org-1-abcd1234.cer"', 'org-1', 'X'),
    ).toBe('pinnacle-entra-sync-org-1-abcd1234.cer');
    expect(
      fileNameOf('attachment; filename=pinnacle-entra-sync-org-1-abcd1234.cer', 'org-1', 'X'),
    ).toBe('pinnacle-entra-sync-org-1-abcd1234.cer');
    expect(fileNameOf('attachment; filename="../../evil.sh"', 'org-1', 'ABCDEF0123')).toBe(
      'pinnacle-entra-sync-org-1-abcdef01.cer',
    );
    expect(fileNameOf(null, 'org-1', 'ABCDEF0123')).toBe('pinnacle-entra-sync-org-1-abcdef01.cer');
  });

  it('switches the method and sends the stored settings otherwise, without a secret', () => {
    const settings: IntegrationSettings = {
      orgId: 'org-1',
      tenantId: 'contoso.onmicrosoft.com',
      clientId: '11111111-2222-3333-4444-555555555555',
      clientSecret: { configured: true, hint: 'xyz', expiresAt: '2027-01-01T00:00:00.000Z' },
      groupIds: ['00000000-0000-0000-0000-000000000001'],
      schedule: { enabled: true, every: '6h' },
      notifications: { email: { enabled: true, recipients: ['a@contoso.com'] } },
      includeDisabledUsers: false,
      massRemovalGuard: { maxRemovedPercent: 20, minRemovedUsers: 10 },
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      authMethod: 'client_secret',
    };
    const body = switchMethodInput(settings, 'certificate');
    expect(body).toEqual({
      tenantId: 'contoso.onmicrosoft.com',
      clientId: '11111111-2222-3333-4444-555555555555',
      groupIds: ['00000000-0000-0000-0000-000000000001'],
      schedule: { enabled: true, every: '6h' },
      notifications: { email: { enabled: true, recipients: ['a@contoso.com'] } },
      includeDisabledUsers: false,
      massRemovalGuard: { maxRemovedPercent: 20, minRemovedUsers: 10 },
      authMethod: 'certificate',
    });
    expect(body).not.toHaveProperty('clientSecret');
  });

  it("shows a 409's own message", () => {
    const failure = failureOf(409, { error: 'conflict', message: 'Retire one first.' }, null);
    expect(failure).toEqual({ kind: 'conflict', message: 'Retire one first.' });
    expect(describeFailure(failure)).toBe('Retire one first.');
    expect(describeFailure(failureOf(409, {}, null))).toMatch(/cannot be done/);
  });
});
