import { describe, expect, it } from 'vitest';
import {
  adminConsentLink,
  count,
  duration,
  linkify,
  plural,
  relativeTime,
  secretExpiryText,
  secretExpiryTone,
  waitText,
} from '../../src/lib/format.js';

const now = new Date('2026-06-01T12:00:00Z');

describe('the client secret expiry', () => {
  it('warns from 30 days before and is an error once expired', () => {
    expect(secretExpiryTone(31, false)).toBe('success');
    expect(secretExpiryTone(30, false)).toBe('warning');
    expect(secretExpiryTone(0, false)).toBe('warning');
    expect(secretExpiryTone(-1, true)).toBe('danger');
    expect(secretExpiryTone(null, false)).toBe('neutral');
  });

  it('says the days left, or how long ago it expired counted from the expiry', () => {
    expect(secretExpiryText(45, false)).toBe('45 days left');
    expect(secretExpiryText(1, false)).toBe('1 day left');
    expect(secretExpiryText(0, false)).toBe('Expires today');
    expect(secretExpiryText(null, false)).toBe('No expiry recorded');
    // 3 days and a minute ago: the API's daysLeft is -4 (rounded down), the text says 3.
    const expiresAt = new Date(now.getTime() - 3 * 86_400_000 - 60_000).toISOString();
    expect(secretExpiryText(-4, true, expiresAt, now)).toBe('Expired 3 days ago');
    expect(secretExpiryText(-1, true, new Date(now.getTime() - 60_000).toISOString(), now)).toBe(
      'Expired today',
    );
    expect(
      secretExpiryText(-2, true, new Date(now.getTime() - 86_400_000).toISOString(), now),
    ).toBe('Expired 1 day ago');
    expect(secretExpiryText(null, true, null, now)).toBe('Expired');
  });
});

describe('times and numbers', () => {
  it('writes relative times', () => {
    expect(relativeTime('2026-06-01T11:59:30Z', now, 'en')).toBe('just now');
    expect(relativeTime('2026-06-01T11:55:00Z', now, 'en')).toBe('5 minutes ago');
    expect(relativeTime('2026-06-01T15:00:00Z', now, 'en')).toBe('in 3 hours');
    expect(relativeTime('2026-05-31T12:00:00Z', now, 'en')).toBe('yesterday');
    expect(relativeTime('garbage', now, 'en')).toBe('');
  });

  it('writes durations, counts and plurals', () => {
    expect(duration('2026-06-01T12:00:00Z', '2026-06-01T12:00:42Z')).toBe('42 s');
    expect(duration('2026-06-01T12:00:00Z', '2026-06-01T12:01:05Z')).toBe('1 min 5 s');
    expect(duration('2026-06-01T12:00:00Z', '2026-06-01T14:03:00Z')).toBe('2 h 3 min');
    expect(duration(null, '2026-06-01T12:00:00Z')).toBeNull();
    expect(duration('2026-06-01T12:00:01Z', '2026-06-01T12:00:00Z')).toBeNull();
    expect(count(1470, 'en')).toBe('1,470');
    expect(count(null)).toBe('—');
    expect(plural(1, 'user')).toBe('1 user');
    expect(plural(1176, 'user', 'users', 'en')).toBe('1,176 users');
  });
});

describe('remediation links', () => {
  const consent =
    'https://login.microsoftonline.com/3f6e1c2a-0000-4000-8000-000000000001/adminconsent?client_id=4c1b2d3e-0000-4000-8000-000000000002';

  it('links https URLs only, leaving trailing punctuation out', () => {
    expect(linkify(`Open ${consent}.`)).toEqual([
      { text: 'Open ' },
      { text: consent, href: consent },
      { text: '.' },
    ]);
    expect(linkify('In the admin center (https://entra.microsoft.com), go')).toEqual([
      { text: 'In the admin center (' },
      { text: 'https://entra.microsoft.com', href: 'https://entra.microsoft.com' },
      { text: '), go' },
    ]);
    for (const text of ['javascript:alert(1)', 'http://plain.example', 'no link']) {
      expect(
        linkify(text).every((p) => p.href === undefined),
        text,
      ).toBe(true);
    }
  });

  it('finds the admin-consent link among the steps', () => {
    expect(adminConsentLink(['Do this.', `Or open this admin-consent link: ${consent}`])).toBe(
      consent,
    );
    expect(adminConsentLink(['See https://entra.microsoft.com'])).toBeNull();
  });
});

describe('waitText', () => {
  it('rounds a wait up to seconds, minutes or hours', () => {
    expect(waitText(0.2)).toBe('1 second');
    expect(waitText(45)).toBe('45 seconds');
    expect(waitText(60)).toBe('1 minute');
    expect(waitText(61)).toBe('2 minutes');
    expect(waitText(240)).toBe('4 minutes');
    expect(waitText(7200)).toBe('2 hours');
  });
});
