import { describe, expect, it } from 'vitest';
import {
  type DirectoryUser,
  directoryUserSchema,
  graphUserSchema,
  graphUsersPageSchema,
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
    expect(directoryUserSchema.parse({ ...parsed, groupIds: [G1] }).accountEnabled).toBe(true);
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

describe('directoryUserSchema', () => {
  it('round-trips a snapshot user', () => {
    expect(directoryUserSchema.parse(user)).toEqual(user);
  });
});
