import { type RedisFixture, test } from '@pinnacle/testing/fixtures';
import { describe, expect, it } from 'vitest';
import { ExpiryWarningRepository } from '../src/expiry-warning-repository.js';
import { dataPrefix } from '../src/stores.js';

let r: RedisFixture;
let warnings: ExpiryWarningRepository;

test.beforeAll(async ({ redis }) => {
  r = redis;
  warnings = new ExpiryWarningRepository(r.redis, dataPrefix(r.prefix));
});

const expiry = '2026-03-01T00:00:00.000Z';
const rotated = '2026-09-01T00:00:00.000Z';

describe('ExpiryWarningRepository', () => {
  it('remembers the warnings sent per recorded expiry', async () => {
    expect(await warnings.sent('org-1', expiry)).toEqual(new Set());
    await warnings.markSent('org-1', expiry, '30d', new Date());
    await warnings.markSent('org-1', expiry, '14d', new Date());
    await warnings.markSent('org-1', expiry, '14d', new Date());
    expect(await warnings.sent('org-1', expiry)).toEqual(new Set(['30d', '14d']));
    expect(await warnings.sent('org-2', expiry)).toEqual(new Set());
  });

  it('starts afresh for a new expiry (a rotated secret) and forgets the old one', async () => {
    await warnings.markSent('org-3', expiry, '30d', new Date());
    expect(await warnings.sent('org-3', rotated)).toEqual(new Set());
    await warnings.markSent('org-3', rotated, '30d', new Date());
    expect(await warnings.sent('org-3', rotated)).toEqual(new Set(['30d']));
    expect(await warnings.sent('org-3', expiry)).toEqual(new Set());
  });
});
