import { fileURLToPath } from 'node:url';
import { spawnNodeProcess } from '@pinnacle/testing';
import { type RedisFixture, test } from '@pinnacle/testing/fixtures';
import { describe, expect, it } from 'vitest';
import { AUTH_SECRET, ENCRYPTION_KEY } from './helpers.js';

const entry = fileURLToPath(new URL('../src/main.ts', import.meta.url));
let r: RedisFixture;

test.beforeAll(async ({ redis }) => {
  r = redis;
});

/** Only what the test sets: nothing leaks in from the developer's shell. */
function env(overrides: Record<string, string | undefined>): Record<string, string | undefined> {
  return {
    DEMO_MODE: undefined,
    ...r.processEnv,
    PORT: '0',
    API_AUTH_SECRET: AUTH_SECRET,
    SECRET_ENCRYPTION_KEY: ENCRYPTION_KEY,
    OPS_USER: 'ops',
    OPS_PASSWORD: 'ops-password-for-tests',
    LOG_LEVEL: 'info',
    ...overrides,
  };
}

describe('api process', () => {
  it('exits 1 naming every missing or bad variable', async () => {
    const child = spawnNodeProcess(entry, {
      env: env({ API_AUTH_SECRET: undefined, SECRET_ENCRYPTION_KEY: 'too-short', PORT: 'eighty' }),
    });
    const exit = await child.exited;
    expect(exit.code).toBe(1);
    const stderr = child.stderrLines().join('\n');
    expect(stderr).toContain('API_AUTH_SECRET');
    expect(stderr).toContain('SECRET_ENCRYPTION_KEY');
    expect(stderr).toContain('PORT');
    expect(stderr).not.toContain('too-short');
  });

  it('refuses demo mode with NODE_ENV=production, naming both variables', async () => {
    const child = spawnNodeProcess(entry, {
      env: env({
        DEMO_MODE: 'true',
        NODE_ENV: 'production',
        API_AUTH_SECRET: undefined,
        OPS_USER: undefined,
        OPS_PASSWORD: undefined,
        SECRET_ENCRYPTION_KEY: undefined,
      }),
    });
    const exit = await child.exited;
    expect(exit.code).toBe(1);
    const stderr = child.stderrLines().join('\n');
    expect(stderr).toMatch(/DEMO_MODE: .*NODE_ENV=production/);
    // Nor does it fall back on the demo's public credentials.
    expect(stderr).toContain('API_AUTH_SECRET');
  });

  it('serves, and exits 0 on SIGTERM', async () => {
    const child = spawnNodeProcess(entry, { env: env({}) });
    const line = await child.waitForLine(/"msg":"api listening"/, 20_000);
    const { port } = JSON.parse(line) as { port: number };
    const health = await fetch(`http://127.0.0.1:${port}/healthz`, {
      signal: AbortSignal.timeout(10_000),
    });
    expect(health.status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`, {
      signal: AbortSignal.timeout(10_000),
    });
    expect(ready.status).toBe(200);
    const exit = await child.kill('SIGTERM');
    expect(exit.code).toBe(0);
    expect(child.stdoutLines().join('\n')).toContain('api stopped');
  });

  it('exits 0 on SIGINT too', async () => {
    const child = spawnNodeProcess(entry, { env: env({}) });
    await child.waitForLine(/"msg":"api listening"/, 20_000);
    expect((await child.kill('SIGINT')).code).toBe(0);
  });
});
