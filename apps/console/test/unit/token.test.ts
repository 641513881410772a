import { describe, expect, it } from 'vitest';
import {
  canOpenOrg,
  checkToken,
  normaliseToken,
  takeTokenFromFragment,
} from '../../src/auth/token.js';

const now = new Date('2026-06-01T12:00:00Z');
const nowSec = Math.floor(now.getTime() / 1000);
const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const jwt = (claims: Record<string, unknown>) => `${part({ alg: 'HS256' })}.${part(claims)}.c2ln`;

describe('checkToken', () => {
  it('reads sub, org and exp of a well-formed token, "Bearer " and spaces ignored', () => {
    const token = jwt({ sub: 'admin', org: 'acme', role: 'admin', exp: nowSec + 60 });
    expect(checkToken(`  Bearer ${token}\n`, now)).toEqual({
      ok: true,
      claims: { sub: 'admin', org: 'acme', exp: nowSec + 60 },
    });
    expect(checkToken(jwt({ sub: 'p', org: '*', exp: nowSec + 1 }), now).ok).toBe(true);
  });

  it('says when a token has expired, and when', () => {
    const result = checkToken(jwt({ sub: 'a', org: 'acme', exp: nowSec }), now);
    expect(result).toEqual({ ok: false, reason: 'expired', expiredAt: new Date(nowSec * 1000) });
  });

  it('refuses what is not a token of this API', () => {
    for (const raw of [
      '',
      'not-a-jwt',
      'a.b',
      `${part({})}.${Buffer.from('{nope').toString('base64url')}.x`,
      `${part({})}.${Buffer.from([0xff, 0xfe]).toString('base64url')}.x`,
      jwt({ sub: 'a', org: 'acme' }),
      jwt({ sub: 'a', org: 'a:b', exp: nowSec + 60 }),
      jwt({ sub: 1, org: 'acme', exp: nowSec + 60 }),
      `${part({})}.${part([1])}.x`,
    ]) {
      expect(checkToken(raw, now), raw).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('normalises what is sent', () => {
    expect(normaliseToken(' bearer a.b.c ')).toBe('a.b.c');
  });
});

describe('takeTokenFromFragment', () => {
  it('takes the token and keeps other fragment parameters', () => {
    expect(takeTokenFromFragment('#token=a.b.c')).toEqual({ token: 'a.b.c', rest: '' });
    expect(takeTokenFromFragment('#token=a.b.c&tab=runs')).toEqual({
      token: 'a.b.c',
      rest: '#tab=runs',
    });
    expect(takeTokenFromFragment('#rotate-secret')).toEqual({
      token: null,
      rest: '#rotate-secret',
    });
    expect(takeTokenFromFragment('')).toEqual({ token: null, rest: '' });
  });
});

describe('canOpenOrg', () => {
  it('lets "*" open any org and an org token its own only', () => {
    expect(canOpenOrg({ sub: 'p', org: '*', exp: 1 }, 'acme')).toBe(true);
    expect(canOpenOrg({ sub: 'a', org: 'acme', exp: 1 }, 'acme')).toBe(true);
    expect(canOpenOrg({ sub: 'a', org: 'acme', exp: 1 }, 'globex')).toBe(false);
  });
});
