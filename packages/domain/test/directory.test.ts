import { describe, expect, it } from 'vitest';
import {
  type DirectoryUser,
  directoryUserSchema,
  graphUserSchema,
  graphUsersPageSchema,
  normaliseGroupIds,
  toDirectoryUser,
  userChanged,
  userFingerprint,
} from '../src/index.js';

const G1 = '0a0a0a0a-0000-0000-0000-00000000000a';
const G2 = '0b0b0b0b-0000-0000-0000-00000000000b';
const USER_ID = '5d2c8f8a-1111-4222-8333-944444444444';

const user: DirectoryUser = {
  id: USER_ID,
  displayName: 'Adele Vance',
  mail: 'adelev@contoso.com',
  userPrincipalName: 'AdeleV@contoso.onmicrosoft.com',
  accountEnabled: true,
  groupIds: [G1, G2],
};

describe('graphUserSchema', () => {
  it('tolerates and drops extra Graph properties', () => {
    const parsed = graphUserSchema.parse({
      '@odata.type': '#microsoft.graph.user',
      id: USER_ID.toUpperCase(),
      displayName: 'Adele Vance',
      mail: null,
      userPrincipalName: 'AdeleV@contoso.onmicrosoft.com',
      accountEnabled: false,
      businessPhones: [],
    });
    expect(parsed).toEqual({
      id: USER_ID,
      displayName: 'Adele Vance',
      mail: null,
      userPrincipalName: 'AdeleV@contoso.onmicrosoft.com',
      accountEnabled: false,
    });
  });

  it('reads omitted properties as null, and a missing accountEnabled as enabled', () => {
    expect(graphUserSchema.parse({ id: USER_ID, userPrincipalName: 'x@contoso.com' })).toEqual({
      id: USER_ID,
      displayName: null,
      mail: null,
      userPrincipalName: 'x@contoso.com',
      accountEnabled: true,
    });
  });

  it('reads an explicit null accountEnabled as enabled too', () => {
    const parsed = graphUserSchema.parse({
      id: USER_ID,
      userPrincipalName: 'x@contoso.com',
      accountEnabled: null,
    });
    expect(parsed.accountEnabled).toBe(true);
    expect(directoryUserSchema.parse(toDirectoryUser(parsed, [G1])).accountEnabled).toBe(true);
  });

  it('requires a GUID id and a UPN', () => {
    expect(graphUserSchema.safeParse({ id: 'nope', userPrincipalName: 'x@y.com' }).success).toBe(
      false,
    );
    expect(graphUserSchema.safeParse({ id: USER_ID }).success).toBe(false);
    expect(graphUserSchema.safeParse({ id: USER_ID, userPrincipalName: '' }).success).toBe(false);
  });

  it('parses a members page with its nextLink and count', () => {
    const page = graphUsersPageSchema.parse({
      '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#users',
      '@odata.count': 2,
      '@odata.nextLink':
        'https://graph.microsoft.com/v1.0/groups/x/transitiveMembers?$skiptoken=abc',
      value: [
        { id: USER_ID, userPrincipalName: 'a@contoso.com', accountEnabled: true },
        { id: G1, userPrincipalName: 'b@contoso.com', accountEnabled: true, displayName: 'B' },
      ],
    });
    expect(page.value).toHaveLength(2);
    expect(page['@odata.nextLink']).toContain('skiptoken');
  });
});

describe('directoryUserSchema and toDirectoryUser', () => {
  it('round-trips a snapshot user', () => {
    expect(directoryUserSchema.parse(user)).toEqual(user);
  });

  it('builds a snapshot user with canonical group IDs', () => {
    const graphUser = graphUserSchema.parse({
      id: USER_ID,
      userPrincipalName: 'a@contoso.com',
      accountEnabled: true,
    });
    expect(toDirectoryUser(graphUser, [G2.toUpperCase(), G1, G2]).groupIds).toEqual([G1, G2]);
    expect(normaliseGroupIds(new Set([G2, G1]))).toEqual([G1, G2]);
  });
});

describe('userChanged and userFingerprint', () => {
  it('compares group IDs as sets', () => {
    const reordered = { ...user, groupIds: [G2, G1.toUpperCase(), G2] };
    expect(userChanged(user, reordered)).toBe(false);
    expect(userFingerprint(user)).toBe(userFingerprint(reordered));
  });

  it.each([
    ['displayName', { displayName: 'Adele V.' }],
    ['displayName to null', { displayName: null }],
    ['mail', { mail: 'adele@contoso.com' }],
    ['userPrincipalName', { userPrincipalName: 'adele@contoso.com' }],
    ['accountEnabled', { accountEnabled: false }],
    ['groups', { groupIds: [G1] }],
  ])('sees a change in %s', (_label, patch) => {
    const other = { ...user, ...patch };
    expect(userChanged(user, other)).toBe(true);
    expect(userFingerprint(user)).not.toBe(userFingerprint(other));
  });

  it('does not compare the ID (it is the key)', () => {
    expect(userChanged(user, { ...user, id: G1 })).toBe(false);
  });

  it('is stable and compact', () => {
    expect(userFingerprint(user)).toBe(userFingerprint(structuredClone(user)));
    expect(userFingerprint(user)).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('does not confuse values that only differ in where a boundary falls', () => {
    const a = { ...user, displayName: 'a,b', mail: 'c' };
    const b = { ...user, displayName: 'a', mail: 'b,c' };
    expect(userChanged(a, b)).toBe(true);
    expect(userFingerprint(a)).not.toBe(userFingerprint(b));
  });
});
