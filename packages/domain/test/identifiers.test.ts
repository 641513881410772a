import { describe, expect, it } from 'vitest';
import {
  guidSchema,
  looksLikeGuid,
  orgIdSchema,
  runIdSchema,
  tenantIdSchema,
} from '../src/index.js';

const GUID = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';

describe('looksLikeGuid', () => {
  it('accepts the 8-4-4-4-12 hex shape in any case', () => {
    expect(looksLikeGuid(GUID)).toBe(true);
    expect(looksLikeGuid(GUID.toUpperCase())).toBe(true);
  });

  it.each([
    '',
    `{${GUID}}`,
    ` ${GUID}`,
    GUID.replace(/-/g, ''),
    GUID.slice(0, -1),
    `${GUID}0`,
    'g'.repeat(8) + GUID.slice(8),
  ])('rejects %j', (s) => {
    expect(looksLikeGuid(s)).toBe(false);
  });
});

describe('guidSchema', () => {
  it('lower-cases and trims a pasted GUID', () => {
    expect(guidSchema.parse(`  ${GUID.toUpperCase()}\n`)).toBe(GUID);
  });

  it.each(['not-a-guid', `${GUID}/../x`, `${GUID}%2f`, '', 'x'.repeat(100)])('rejects %j', (s) => {
    expect(guidSchema.safeParse(s).success).toBe(false);
  });
});

describe('tenantIdSchema', () => {
  it.each([
    [GUID.toUpperCase(), GUID],
    ['Contoso.OnMicrosoft.com', 'contoso.onmicrosoft.com'],
    ['contoso.com', 'contoso.com'],
    ['sub-domain.contoso.co.uk', 'sub-domain.contoso.co.uk'],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
    ['  fabrikam.onmicrosoft.com ', 'fabrikam.onmicrosoft.com'],
  ])('accepts %j', (input, expected) => {
    expect(tenantIdSchema.parse(input)).toBe(expected);
  });

  it.each([
    'common',
    'organizations',
    'consumers',
    'contoso',
    '../contoso.com',
    'contoso.com/oauth2',
    'contoso.com?x=1',
    'contoso.com#frag',
    'contoso%2e.com',
    'contoso..com',
    '-contoso.com',
    'contoso-.com',
    'con toso.com',
    'contoso.com\r\nHost: evil',
    'bücher.example',
    'contoso.123',
    `${'a'.repeat(64)}.com`,
    `${'a.'.repeat(130)}com`,
    '',
    '<script>.com',
  ])('rejects hostile or malformed %j', (input) => {
    expect(tenantIdSchema.safeParse(input).success).toBe(false);
  });
});

describe('orgIdSchema and runIdSchema', () => {
  it.each(['org-1', 'ORG_2', 'a', 'x'.repeat(64)])('accept %j', (s) => {
    expect(orgIdSchema.parse(s)).toBe(s);
    expect(runIdSchema.parse(s)).toBe(s);
  });

  it.each([
    '',
    'x'.repeat(65),
    'org:1',
    'org/1',
    '../etc',
    'org 1',
    'org\n1',
    'org*',
    'org{1}',
    'orgé',
  ])('reject %j', (s) => {
    expect(orgIdSchema.safeParse(s).success).toBe(false);
    expect(runIdSchema.safeParse(s).success).toBe(false);
  });
});
