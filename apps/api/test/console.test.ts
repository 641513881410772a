import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RedisFixture, test } from '@pinnacle/testing/fixtures';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './helpers.js';

/**
 * The console's static serving, against a stand-in build (the real one is
 * exercised by apps/console's browser tests): it must work, and the api
 * must run and say so when there is no build at all.
 */
let r: RedisFixture;
let built: TestApi;
let unbuilt: TestApi;
let dir: string;

const INDEX =
  '<!doctype html><title>Console</title><script type="module" src="/console/assets/app-AbC123.js"></script>';

test.beforeAll(async ({ redis }) => {
  r = redis;
  dir = mkdtempSync(join(tmpdir(), 'console-dist-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), INDEX);
  writeFileSync(join(dir, 'assets', 'app-AbC123.js'), 'console.log(1);\n');
  writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  built = await startTestApi(r, { consoleDir: dir });
  unbuilt = await startTestApi(r, { consoleDir: join(dir, 'not-built') });
});
afterAll(async () => {
  await built?.close();
  await unbuilt?.close();
  rmSync(dir, { recursive: true, force: true });
});

function expectConsoleHeaders(headers: Headers): void {
  const csp = headers.get('content-security-policy') ?? '';
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toContain("script-src 'self'");
  expect(csp).not.toContain('unsafe-inline');
  expect(headers.get('x-frame-options')).toBe('DENY');
  expect(headers.get('x-content-type-options')).toBe('nosniff');
  expect(headers.get('referrer-policy')).toBe('no-referrer');
}

describe('/console/', () => {
  it('serves index.html for every console route, revalidated on each load', async () => {
    for (const path of [
      '/console/',
      '/console/orgs/org-a',
      '/console/orgs/org-a/integrations/entra-id',
      '/console/orgs/org-a/settings',
      '/console/fleet',
    ]) {
      const res = await built.request('GET', path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toMatch(/^text\/html/);
      expect(res.headers.get('cache-control'), path).toBe('no-cache');
      expect(res.text, path).toBe(INDEX);
      expectConsoleHeaders(res.headers);
    }
  });

  it('redirects /console to /console/, keeping the query', async () => {
    for (const [from, to] of [
      ['/console', '/console/'],
      ['/console?x=1', '/console/?x=1'],
    ]) {
      const res = await fetch(`${built.url}${from}`, { redirect: 'manual' });
      expect(res.status, from).toBe(301);
      expect(res.headers.get('location'), from).toBe(to);
    }
  });

  it('caches hashed assets for a year and answers a missing file 404, never the app', async () => {
    const asset = await built.request('GET', '/console/assets/app-AbC123.js');
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expectConsoleHeaders(asset.headers);

    const icon = await built.request('GET', '/console/favicon.svg');
    expect(icon.status).toBe(200);
    expect(icon.headers.get('cache-control')).toBe('no-cache');

    for (const path of [
      '/console/assets/app-Missing.js',
      '/console/assets/',
      '/console/missing.png',
      '/console/assets/..%2F..%2Fpackage.json',
      '/console/..%2Findex.html.bak',
    ]) {
      const res = await built.request('GET', path);
      expect(res.status, path).toBe(404);
      expect(res.text, path).not.toContain('<script');
    }
  });

  it('leaves writes and the API as they are', async () => {
    const post = await built.request('POST', '/console/orgs/org-a', { body: {} });
    expect(post.status).toBe(404);
    expect(post.json).toEqual({ error: 'not_found' });
    const api = await built.request('GET', '/api/v1/orgs/org-a/sync-overview');
    expect(api.status).toBe(401);
    expect(api.headers.get('content-security-policy')).toBeNull();
  });

  it('answers 503 with a page saying how to build it when there is no build', async () => {
    const res = await unbuilt.request('GET', '/console/orgs/org-a');
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.text).toContain('pnpm build');
    expectConsoleHeaders(res.headers);
    expect((await unbuilt.request('GET', '/console/assets/app-AbC123.js')).status).toBe(404);
    expect((await unbuilt.request('GET', '/healthz')).status).toBe(200);
  });
});
