import { describe, expect, it } from 'vitest';
import { failureOf } from '../../src/api/errors.js';
import { basicAuthorization } from '../../src/api/ops-client.js';
import {
  addGroupId,
  hasGroupId,
  nameOf,
  removeGroupId,
  selectedGroupIds,
  withNames,
} from '../../src/lib/groups.js';
import { fleetPath, parseRoute } from '../../src/lib/routes.js';

const A = '11111111-1111-4111-8111-111111111111';
const B = '22222222-2222-4222-8222-222222222222';

describe('the selected groups as the form keeps them', () => {
  it('adds a picked ID on a line of its own, once, whatever its case', () => {
    expect(addGroupId('', A)).toBe(A);
    expect(addGroupId(`${A}\n`, B)).toBe(`${A}\n${B}`);
    expect(addGroupId(A.toUpperCase(), A)).toBe(A.toUpperCase());
    expect(hasGroupId(`${A}, ${B}`, B.toUpperCase())).toBe(true);
  });

  it('removes one ID and keeps the others as typed', () => {
    expect(removeGroupId(`${A}\n${B}`, A.toUpperCase())).toBe(B);
    expect(selectedGroupIds(`${A}\n\n ${B} `)).toEqual([A, B]);
  });

  it('knows names by ID, case-insensitively, the latest winning', () => {
    const names = withNames(new Map(), [
      { id: A.toUpperCase(), displayName: 'Sales' },
      { id: B, displayName: null },
    ]);
    expect(nameOf(names, A)).toBe('Sales');
    expect(nameOf(names, B)).toBeNull();
    expect(nameOf(withNames(names, [{ id: A, displayName: 'Sales EMEA' }]), A)).toBe('Sales EMEA');
  });
});

describe('an Entra check refused', () => {
  const failure = {
    code: 'consent_missing',
    category: 'permissions',
    title: 'Admin consent missing',
    message: 'The app lacks consent.',
    remediation: ['Grant it.'],
    retryable: false,
    details: {},
  };

  it('carries the run failure of a 409 or 502, transient for the 502', () => {
    expect(failureOf(409, { error: 'entra_check_failed', failure }, null)).toEqual({
      kind: 'entra_check',
      failure,
      transient: false,
    });
    expect(failureOf(502, { error: 'entra_unreachable', failure }, null)).toMatchObject({
      kind: 'entra_check',
      transient: true,
    });
    expect(failureOf(502, '<html>bad gateway</html>', null)).toEqual({
      kind: 'server',
      status: 502,
    });
  });
});

describe('the fleet view', () => {
  it('has a route of its own, outside the org pages', () => {
    expect(parseRoute(fleetPath)).toEqual({ page: 'fleet' });
    expect(parseRoute(`${fleetPath}/`)).toEqual({ page: 'fleet' });
    expect(parseRoute(`${fleetPath}/x`)).toEqual({ page: 'not-found' });
  });

  it('sends the ops credentials as HTTP Basic, UTF-8', () => {
    expect(basicAuthorization({ user: 'ops', password: 'p:ss' })).toBe(
      `Basic ${Buffer.from('ops:p:ss').toString('base64')}`,
    );
    expect(basicAuthorization({ user: 'opé', password: 'ü' })).toBe(
      `Basic ${Buffer.from('opé:ü', 'utf8').toString('base64')}`,
    );
  });
});
