import { describe, expect, it } from 'vitest';
import {
  acceptanceChanges,
  type CertificateState,
  certificateCreateInputSchema,
  certificateFileName,
  certificateSubject,
  currentCertificate,
  isUsableCertificate,
  planCertificateAttempts,
  toValidationIssues,
} from '../src/index.js';

const now = new Date('2026-06-01T00:00:00Z');
const days = (n: number) => new Date(now.getTime() + n * 86_400_000).toISOString();

function cert(
  id: string,
  createdDaysAgo: number,
  patch: Partial<CertificateState> = {},
): CertificateState {
  return {
    id,
    thumbprint: id.toUpperCase().padEnd(40, '0'),
    status: 'pending',
    notAfter: days(365 - createdDaysAgo),
    createdAt: days(-createdDaysAgo),
    activatedAt: null,
    ...patch,
  };
}

describe('certificateCreateInputSchema', () => {
  it('defaults to 365 days and takes 30 to 730 whole days', () => {
    expect(certificateCreateInputSchema.parse({})).toEqual({ validityDays: 365 });
    expect(certificateCreateInputSchema.parse({ validityDays: 30 }).validityDays).toBe(30);
    expect(certificateCreateInputSchema.parse({ validityDays: 730 }).validityDays).toBe(730);
    for (const [value, message] of [
      [29, 'must be at least 30 days'],
      [731, 'must be at most 730 days'],
      [90.5, 'must be a whole number of days'],
    ] as const) {
      const r = certificateCreateInputSchema.safeParse({ validityDays: value });
      expect(r.success).toBe(false);
      if (!r.success) {
        expect(toValidationIssues(r.error)).toEqual([{ path: 'validityDays', message }]);
      }
    }
    expect(certificateCreateInputSchema.safeParse({ validityDays: '365' }).success).toBe(false);
    expect(certificateCreateInputSchema.safeParse({ keySize: 4096 }).success).toBe(false);
  });
});

describe('naming', () => {
  it('names the platform and the org in the subject, and the file after org and thumbprint', () => {
    expect(certificateSubject('org-acme')).toEqual({
      commonName: 'Pinnacle Series Entra ID sync (org-acme)',
      organizationName: 'Pinnacle Series',
    });
    expect(certificateFileName('org-acme', 'ABCDEF0123456789')).toBe(
      'pinnacle-entra-sync-org-acme-abcdef01.cer',
    );
  });
});

describe('planCertificateAttempts', () => {
  it('has nothing to try without a certificate that is not retired', () => {
    expect(planCertificateAttempts([], now)).toEqual({ kind: 'none' });
    expect(planCertificateAttempts([cert('a', 10, { status: 'retired' })], now)).toEqual({
      kind: 'none',
    });
  });

  it('reports the newest as expired when every certificate not retired has expired', () => {
    const old = cert('old', 800, { status: 'active', notAfter: days(-30) });
    const older = cert('older', 900, { notAfter: days(-100) });
    expect(planCertificateAttempts([older, old], now)).toEqual({ kind: 'expired', newest: old });
  });

  it('tries the usable ones newest first, skipping expired and retired ones', () => {
    const a = cert('a', 300, { status: 'active' });
    const b = cert('b', 2);
    const c = cert('c', 500, { notAfter: days(-1) });
    const d = cert('d', 1, { status: 'retired' });
    const plan = planCertificateAttempts([a, c, b, d], now);
    expect(plan.kind === 'try' && plan.candidates.map((x) => x.id)).toEqual(['b', 'a']);
    expect(isUsableCertificate(c, now)).toBe(false);
    expect(isUsableCertificate(a, now)).toBe(true);
  });
});

describe('acceptanceChanges', () => {
  it('activates the newest once accepted and retires every older one', () => {
    const old = cert('old', 300, { status: 'active', activatedAt: days(-300) });
    const expired = cert('expired', 700, { notAfter: days(-5) });
    const fresh = cert('fresh', 1);
    const change = acceptanceChanges([old, expired, fresh], 'fresh');
    expect(change.activate).toBe(true);
    expect(change.retire.map((c) => c.id).sort()).toEqual(['expired', 'old']);
  });

  it('retires nothing newer when an older one is accepted (the new one is not uploaded yet)', () => {
    const old = cert('old', 300, { status: 'active', activatedAt: days(-300) });
    const fresh = cert('fresh', 1);
    expect(acceptanceChanges([old, fresh], 'old')).toEqual({ activate: false, retire: [] });
  });

  it('changes nothing for a certificate it does not know or that is retired', () => {
    const gone = cert('gone', 1, { status: 'retired' });
    expect(acceptanceChanges([gone], 'gone')).toEqual({ activate: false, retire: [] });
    expect(acceptanceChanges([gone], 'nope')).toEqual({ activate: false, retire: [] });
  });
});

describe('currentCertificate', () => {
  it('is the active one, else the newest not retired, else none', () => {
    const active = cert('active', 300, { status: 'active', activatedAt: days(-299) });
    const pending = cert('pending', 1);
    expect(currentCertificate([pending, active])?.id).toBe('active');
    expect(currentCertificate([pending, cert('older', 5)])?.id).toBe('pending');
    expect(currentCertificate([cert('x', 1, { status: 'retired' })])).toBeNull();
  });
});
