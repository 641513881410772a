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

  it('takes SYNC_MAX_USERS, 2,000,000 by default, and refuses a ceiling that is no count', () => {
    expect(loadEnv(required, 'worker').SYNC_MAX_USERS).toBe(2_000_000);
    expect(loadEnv({ ...required, SYNC_MAX_USERS: '50000' }, 'worker').SYNC_MAX_USERS).toBe(50_000);
    for (const value of ['0', '-5', '1.5', 'lots']) {
      expect(problems({ ...required, SYNC_MAX_USERS: value }, 'worker'), value).toEqual([
        'SYNC_MAX_USERS',
      ]);
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

describe('key rotation', () => {
  const previous = [Buffer.alloc(32, 1).toString('base64'), Buffer.alloc(32, 2).toString('base64')];

  it('reads SECRET_DECRYPTION_KEYS as a comma-separated list, spaces and empty entries ignored', () => {
    expect(loadEnv(required, 'worker').SECRET_DECRYPTION_KEYS).toBeUndefined();
    const env = loadEnv(
      { ...required, SECRET_DECRYPTION_KEYS: ` ${previous[0]} ,,${previous[1]},` },
      'worker',
    );
    expect(env.SECRET_DECRYPTION_KEYS).toEqual(previous);
  });

  it('names a bad previous key by its position, never by its value', () => {
    try {
      loadEnv({ ...required, SECRET_DECRYPTION_KEYS: `${previous[0]},c2hvcnQ=` }, 'worker');
      expect.unreachable();
    } catch (error) {
      const e = error as ConfigError;
      expect(e.problems.map((p) => p.variable)).toEqual(['SECRET_DECRYPTION_KEYS.1']);
      expect(e.message).not.toContain('c2hvcnQ=');
      expect(e.message).not.toContain(previous[0]);
    }
  });
});

describe('bearer token knobs', () => {
  it('default to no issuer or audience and a 24 h lifetime bound', () => {
    const env = loadEnv(required, 'api');
    expect(env.API_AUTH_ISSUER).toBeUndefined();
    expect(env.API_AUTH_AUDIENCE).toBeUndefined();
    expect(env.API_AUTH_MAX_TOKEN_LIFETIME).toBe(86_400);
    const set = loadEnv(
      {
        ...required,
        API_AUTH_ISSUER: 'https://portal.pinnacle.example',
        API_AUTH_AUDIENCE: 'entra-sync',
        API_AUTH_MAX_TOKEN_LIFETIME: '3600',
      },
      'api',
    );
    expect(set).toMatchObject({
      API_AUTH_ISSUER: 'https://portal.pinnacle.example',
      API_AUTH_AUDIENCE: 'entra-sync',
      API_AUTH_MAX_TOKEN_LIFETIME: 3600,
    });
    expect(problems({ ...required, API_AUTH_MAX_TOKEN_LIFETIME: '10' })).toEqual([
      'API_AUTH_MAX_TOKEN_LIFETIME',
    ]);
  });
});

describe('ops knobs', () => {
  it('default to a writable board, 10 failed logins per 15 minutes, and no trusted proxy', () => {
    const env = loadEnv(required, 'api');
    expect(env.OPS_READ_ONLY).toBe(false);
    expect(env.OPS_LOGIN_MAX_FAILURES).toBe(10);
    expect(env.OPS_LOGIN_WINDOW_SECONDS).toBe(900);
    expect(env.TRUST_PROXY).toBe(false);
    expect(loadEnv({ ...required, OPS_READ_ONLY: 'true' }, 'api').OPS_READ_ONLY).toBe(true);
  });

  it('reads TRUST_PROXY as a hop count or proxy addresses, and refuses true', () => {
    const trust = (value: string) =>
      loadEnv({ ...required, TRUST_PROXY: value }, 'api').TRUST_PROXY;
    expect(trust('false')).toBe(false);
    expect(trust('1')).toBe(1);
    expect(trust('loopback, 10.0.0.0/8,fd00::/8, 192.0.2.7')).toEqual([
      'loopback',
      '10.0.0.0/8',
      'fd00::/8',
      '192.0.2.7',
    ]);
    for (const bad of ['true', 'proxy.example', '10.0.0.0/33', '1.2.3.4/8/9', 'yes']) {
      expect(problems({ ...required, TRUST_PROXY: bad }), bad).toEqual(['TRUST_PROXY']);
    }
  });
});

describe('abuse limits', () => {
  const limits = [
    'SYNC_NOW_BUDGET',
    'SYNC_NOW_BUDGET_WINDOW_SECONDS',
    'API_RATE_LIMIT_PER_MINUTE',
    'API_RATE_LIMIT_ANY_ORG_PER_MINUTE',
    'NOTIFIER_EMAIL_CAP_PER_HOUR',
    'NOTIFIER_EMAIL_CAP_PER_DAY',
  ] as const;

  it('default to 10 runs in 10 minutes, 600 and 12,000 requests a minute, 5 emails an hour and 20 a day', () => {
    const env = loadEnv(required, 'all');
    expect(Object.fromEntries(limits.map((name) => [name, env[name]]))).toEqual({
      SYNC_NOW_BUDGET: 10,
      SYNC_NOW_BUDGET_WINDOW_SECONDS: 600,
      API_RATE_LIMIT_PER_MINUTE: 600,
      API_RATE_LIMIT_ANY_ORG_PER_MINUTE: 12_000,
      NOTIFIER_EMAIL_CAP_PER_HOUR: 5,
      NOTIFIER_EMAIL_CAP_PER_DAY: 20,
    });
  });

  it('can be raised out of the way (benchmarks), never turned off or made fractional', () => {
    const raised = loadEnv(
      {
        ...required,
        SYNC_NOW_BUDGET: '1000000',
        API_RATE_LIMIT_PER_MINUTE: '10000000',
        API_RATE_LIMIT_ANY_ORG_PER_MINUTE: '10000000',
        NOTIFIER_EMAIL_CAP_PER_HOUR: '10000',
        NOTIFIER_EMAIL_CAP_PER_DAY: '10000',
      },
      'all',
    );
    expect(raised.SYNC_NOW_BUDGET).toBe(1_000_000);
    expect(raised.NOTIFIER_EMAIL_CAP_PER_DAY).toBe(10_000);
    for (const name of limits) {
      for (const bad of ['0', '-1', '2.5', 'lots', '99999999999']) {
        expect(problems({ ...required, [name]: bad }), `${name}=${bad}`).toEqual([name]);
      }
    }
  });
});

describe('demo mode', () => {
  it('is refused with an explicit NODE_ENV=production, naming both variables', () => {
    try {
      loadEnv({ DEMO_MODE: 'true', NODE_ENV: 'production' }, 'all');
      expect.unreachable();
    } catch (error) {
      const e = error as ConfigError;
      const demo = e.problems.find((p) => p.variable === 'DEMO_MODE');
      expect(demo?.message).toContain('NODE_ENV=production');
      // Nor does it fall back on the public demo credentials.
      expect(e.problems.map((p) => p.variable)).toContain('API_AUTH_SECRET');
    }
  });

  it('runs with NODE_ENV development, test, or left unset', () => {
    for (const NODE_ENV of ['development', 'test', undefined]) {
      const env = loadEnv({ DEMO_MODE: 'true', NODE_ENV }, 'all');
      expect(env.DEMO_MODE).toBe(true);
    }
  });
});

describe('Redis Cluster', () => {
  const cluster = { ...required, QUEUE_PREFIX: '{entra-sync}' };

  it('parses the seed nodes, and leaves a single Redis when unset', () => {
    expect(loadEnv(required, 'all').REDIS_CLUSTER_NODES).toBeUndefined();
    const env = loadEnv(
      { ...cluster, REDIS_CLUSTER_NODES: 'redis-0.internal:6379, 10.0.0.2:7000,[::1]:7001' },
      'all',
    );
    expect(env.REDIS_CLUSTER_NODES).toEqual([
      { host: 'redis-0.internal', port: 6379 },
      { host: '10.0.0.2', port: 7000 },
      { host: '::1', port: 7001 },
    ]);
  });

  it('names a bad seed by its position, never echoing it', () => {
    for (const bad of ['redis-0', 'a:1,b', 'host:0', 'host:70000', ' , ']) {
      const names = problems({ ...cluster, REDIS_CLUSTER_NODES: bad });
      expect(
        names.every((n) => n.startsWith('REDIS_CLUSTER_NODES')),
        bad,
      ).toBe(true);
      expect(names.length, bad).toBeGreaterThan(0);
    }
    expect(problems({ ...cluster, REDIS_CLUSTER_NODES: 'a:1,b' })).toEqual([
      'REDIS_CLUSTER_NODES.1',
    ]);
  });

  it('refuses a QUEUE_PREFIX without a hash tag, naming it', () => {
    for (const prefix of ['entra-sync', 'entra{}sync', 'entra}sync{']) {
      let caught: unknown;
      try {
        loadEnv({ ...required, QUEUE_PREFIX: prefix, REDIS_CLUSTER_NODES: 'r:6379' }, 'worker');
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ConfigError);
      expect((caught as ConfigError).problems).toEqual([
        {
          variable: 'QUEUE_PREFIX',
          message: expect.stringMatching(/hash tag.*REDIS_CLUSTER_NODES/),
        },
      ]);
    }
    expect(problems({ ...required, QUEUE_PREFIX: 'x:{q}', REDIS_CLUSTER_NODES: 'r:6379' })).toEqual(
      [],
    );
  });
});
