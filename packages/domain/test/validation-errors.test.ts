import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  clientSecretRotationSchema,
  formatIssuePath,
  integrationSettingsInputSchema,
  toValidationIssues,
} from '../src/index.js';

function issues(schema: z.ZodType, input: unknown) {
  const result = schema.safeParse(input);
  if (result.success) throw new Error('expected a validation error');
  return toValidationIssues(result.error);
}

describe('formatIssuePath', () => {
  it('writes dotted paths with bracketed indexes', () => {
    expect(formatIssuePath([])).toBe('');
    expect(formatIssuePath(['tenantId'])).toBe('tenantId');
    expect(formatIssuePath(['notifications', 'email', 'recipients', 0])).toBe(
      'notifications.email.recipients[0]',
    );
    expect(formatIssuePath(['groupIds', 12])).toBe('groupIds[12]');
  });

  it('quotes odd keys instead of echoing them raw', () => {
    expect(formatIssuePath(['a.b'])).toBe('["a.b"]');
    expect(formatIssuePath(['x', 'bad\r\nkey'])).toBe('x["bad\\r\\nkey"]');
    expect(formatIssuePath(['k'.repeat(100)])).toBe(`["${'k'.repeat(64)}"]`);
  });
});

describe('toValidationIssues', () => {
  it('turns each unknown field into its own issue at its path', () => {
    expect(issues(integrationSettingsInputSchema, { foo: 1, bar: 2 })).toEqual([
      { path: 'foo', message: 'is not a known field' },
      { path: 'bar', message: 'is not a known field' },
    ]);
  });

  it('reports type errors with the path', () => {
    expect(issues(integrationSettingsInputSchema, { groupIds: 'x' })).toEqual([
      { path: 'groupIds', message: expect.any(String) },
    ]);
  });

  it('never echoes a rejected secret', () => {
    const secret = 'super secret value\u0007with bell';
    const list = issues(clientSecretRotationSchema, { clientSecret: secret, expiresAt: 'nope' });
    expect(list.map((i) => i.path).sort()).toEqual(['clientSecret', 'expiresAt']);
    expect(JSON.stringify(list)).not.toContain('super secret');
    const typed = issues(clientSecretRotationSchema, { clientSecret: 12345678, expiresAt: 'x' });
    expect(JSON.stringify(typed)).not.toContain('12345678');
  });

  it('reports a root-level problem at the empty path', () => {
    expect(issues(integrationSettingsInputSchema, 'not an object')).toEqual([
      { path: '', message: expect.any(String) },
    ]);
    expect(issues(z.array(z.string()), [1])[0]?.path).toBe('[0]');
  });
});
