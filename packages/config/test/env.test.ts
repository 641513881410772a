import { describe, expect, it } from 'vitest';
import { ConfigError, envVariableNames, loadEnv } from '../src/index.js';

const required = {
  API_AUTH_SECRET: 'x'.repeat(40),
  OPS_USER: 'ops',
  OPS_PASSWORD: 'correct-horse-battery',
  SECRET_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
};

function problems(
  env: NodeJS.ProcessEnv,
  role: 'api' | 'worker' | 'notifier' | 'all' = 'all',
): string[] {
  try {
    loadEnv(env, role);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems.map((p) => p.variable);
  }
  return [];
}

describe('loadEnv', () => {
  it('applies the documented defaults', () => {
    const env = loadEnv(required, 'all');
    expect(env.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(env.QUEUE_PREFIX).toBe('entra-sync');
    expect(env.PORT).toBe(3000);
    expect(env.ENTRA_AUTHORITY_HOST).toBe('https://login.microsoftonline.com');
    expect(env.GRAPH_BASE_URL).toBe('https://graph.microsoft.com');
    expect(env.PORTAL_BASE_URL).toBe('http://localhost:3000');
    expect(env.SMTP_URL).toBeUndefined();
  });

  it('names every variable a role requires, and only those', () => {
    expect(problems({}, 'all').sort()).toEqual(Object.keys(required).sort());
    expect(problems({}, 'api').sort()).toEqual(Object.keys(required).sort());
    expect(problems({}, 'worker')).toEqual(['SECRET_ENCRYPTION_KEY']);
    expect(problems({}, 'notifier')).toEqual([]);
  });

  it('runs on embedded defaults in demo mode', () => {
    const env = loadEnv({ DEMO_MODE: 'true' }, 'all');
    expect(Buffer.from(env.SECRET_ENCRYPTION_KEY, 'base64')).toHaveLength(32);
    expect(env.API_AUTH_SECRET.length).toBeGreaterThanOrEqual(32);
  });

  it('names each malformed variable and never echoes its value', () => {
    const bad = {
      ...required,
      SECRET_ENCRYPTION_KEY: 'c2hvcnQ=',
      PORT: 'eighty',
      REDIS_URL: 'http://x',
    };
    try {
      loadEnv(bad, 'all');
      expect.unreachable();
    } catch (error) {
      const e = error as ConfigError;
      expect(e.problems.map((p) => p.variable).sort()).toEqual([
        'PORT',
        'REDIS_URL',
        'SECRET_ENCRYPTION_KEY',
      ]);
      expect(e.message).not.toContain('c2hvcnQ=');
    }
  });

  it('requires MAIL_FROM with SMTP_URL', () => {
    expect(problems({ ...required, SMTP_URL: 'smtp://127.0.0.1:2525' })).toEqual(['MAIL_FROM']);
  });

  it('lists the contract variables', () => {
    for (const name of [
      'REDIS_URL',
      'QUEUE_PREFIX',
      'PORT',
      'SMTP_URL',
      'MAIL_FROM',
      'PORTAL_BASE_URL',
    ]) {
      expect(envVariableNames).toContain(name);
    }
  });
});

describe('notifier knobs', () => {
  it('default to production values and are validated', () => {
    const env = loadEnv({}, 'notifier');
    expect(env.NOTIFIER_CONCURRENCY).toBe(16);
    expect(env.NOTIFIER_EMAIL_CONCURRENCY).toBe(4);
    expect(env.NOTIFIER_EMAIL_ATTEMPTS).toBe(15);
    expect(env.NOTIFIER_EMAIL_BACKOFF_MS).toBe(5_000);
    expect(env.NOTIFIER_LOCK_DURATION_MS).toBe(30_000);
    expect(env.NOTIFIER_STALLED_INTERVAL_MS).toBe(30_000);
    expect(loadEnv({ NOTIFIER_CONCURRENCY: '64' }, 'notifier').NOTIFIER_CONCURRENCY).toBe(64);
    expect(
      problems({ NOTIFIER_CONCURRENCY: '0', NOTIFIER_EMAIL_BACKOFF_MS: 'soon' }, 'notifier').sort(),
    ).toEqual(['NOTIFIER_CONCURRENCY', 'NOTIFIER_EMAIL_BACKOFF_MS']);
  });
});
