import { describe, expect, it } from 'vitest';
import {
  adminConsentUrl,
  evaluateGrantedRoles,
  excessPermissionsWarning,
  REQUIRED_GRAPH_ROLES,
  runWarningSchema,
} from '../src/index.js';

describe('evaluateGrantedRoles', () => {
  it('needs exactly User.Read.All and GroupMember.Read.All', () => {
    expect(REQUIRED_GRAPH_ROLES).toEqual(['User.Read.All', 'GroupMember.Read.All']);
    expect(evaluateGrantedRoles(['User.Read.All', 'GroupMember.Read.All'])).toEqual({
      missing: [],
      extra: [],
    });
  });

  it('reports each missing role', () => {
    expect(evaluateGrantedRoles([])).toEqual({
      missing: ['User.Read.All', 'GroupMember.Read.All'],
      extra: [],
    });
    expect(evaluateGrantedRoles(['User.Read.All']).missing).toEqual(['GroupMember.Read.All']);
    expect(evaluateGrantedRoles(['GroupMember.Read.All']).missing).toEqual(['User.Read.All']);
  });

  it('reports extras, sorted and de-duplicated', () => {
    expect(
      evaluateGrantedRoles([
        'User.Read.All',
        'GroupMember.Read.All',
        'Mail.Send',
        'Application.ReadWrite.All',
        'Mail.Send',
      ]),
    ).toEqual({ missing: [], extra: ['Application.ReadWrite.All', 'Mail.Send'] });
  });

  it('compares case-insensitively and ignores blanks', () => {
    expect(evaluateGrantedRoles(['user.read.all', ' GROUPMEMBER.READ.ALL ', ''])).toEqual({
      missing: [],
      extra: [],
    });
  });

  it('accepts broader grants as covering, but reports them as extra', () => {
    expect(evaluateGrantedRoles(['Directory.Read.All'])).toEqual({
      missing: [],
      extra: ['Directory.Read.All'],
    });
    expect(evaluateGrantedRoles(['User.Read.All', 'Group.Read.All'])).toEqual({
      missing: [],
      extra: ['Group.Read.All'],
    });
    expect(evaluateGrantedRoles(['Group.Read.All']).missing).toEqual(['User.Read.All']);
  });
});

describe('excessPermissionsWarning', () => {
  it('is null when nothing is extra', () => {
    expect(excessPermissionsWarning([])).toBeNull();
  });

  it('names the extra permissions and how to remove them', () => {
    const warning = excessPermissionsWarning(['Mail.Send', 'Directory.Read.All']);
    expect(runWarningSchema.parse(warning)).toEqual(warning);
    expect(warning?.code).toBe('excess_permissions');
    expect(warning?.message).toContain('Directory.Read.All, Mail.Send');
    expect(warning?.message).toContain('API permissions');
  });
});

describe('adminConsentUrl', () => {
  it('builds {authorityHost}/{tenantId}/adminconsent?client_id={clientId}', () => {
    expect(
      adminConsentUrl(
        'https://login.microsoftonline.com',
        'contoso.onmicrosoft.com',
        'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
      ),
    ).toBe(
      'https://login.microsoftonline.com/contoso.onmicrosoft.com/adminconsent?client_id=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
    );
  });

  it('tolerates a trailing slash and escapes its parts', () => {
    expect(adminConsentUrl('https://sim.local:8443//', 'a/b', 'c&d=e')).toBe(
      'https://sim.local:8443/a%2Fb/adminconsent?client_id=c%26d%3De',
    );
  });
});
