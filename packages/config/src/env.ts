import { isIP } from 'node:net';
import { z } from 'zod';

/** Parses an env string that is a boolean flag ("true"/"1"/"false"/"0"). */
const flag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const httpsOrHttpUrl = z.url({ protocol: /^https?$/ });

const secretEncryptionKey = z
  .string()
  .refine((v) => /^[A-Za-z0-9+/]+={0,2}$/.test(v) && Buffer.from(v, 'base64').length === 32, {
    message: 'must be 32 bytes encoded as base64 (e.g. `openssl rand -base64 32`)',
  });

/**
 * `SECRET_DECRYPTION_KEYS`: previous encryption keys, comma-separated, each
 * like SECRET_ENCRYPTION_KEY. A bad entry is named by its position
 * (`SECRET_DECRYPTION_KEYS.1`), never by its value.
 */
const secretDecryptionKeys = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((k) => k.trim())
      .filter((k) => k !== ''),
  )
  .pipe(z.array(secretEncryptionKey).max(16, 'at most 16 previous keys'));

/** One `host:port` seed of REDIS_CLUSTER_NODES (an IPv6 host in brackets: `[::1]:7000`). */
export interface RedisClusterNode {
  host: string;
  port: number;
}

/**
 * `REDIS_CLUSTER_NODES`: comma-separated `host:port` seeds of a Redis
 * Cluster. A bad entry is named by its position (`REDIS_CLUSTER_NODES.1`).
 */
const redisClusterNodes = z.string().transform((v, ctx): RedisClusterNode[] => {
  const entries = v
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (entries.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'must list at least one host:port' });
    return z.NEVER;
  }
  const nodes: RedisClusterNode[] = [];
  entries.forEach((entry, index) => {
    const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(entry);
    const port = Number(match?.[3]);
    const host = match?.[1] ?? match?.[2];
    if (host === undefined || !(port >= 1 && port <= 65535)) {
      ctx.addIssue({
        code: 'custom',
        path: [index],
        message: 'must be host:port (e.g. redis-0.internal:6379), comma-separated',
      });
      return;
    }
    nodes.push({ host, port });
  });
  return nodes;
});

/** The hash tag Redis Cluster hashes a key by: the first non-empty `{...}`, or undefined. */
export function hashTagOf(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open === -1) return undefined;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : undefined;
}

const TRUST_PROXY_PRESETS = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** An address Express's `trust proxy` accepts: a preset, an IP, or an IP/prefix. */
function isProxyAddress(entry: string): boolean {
  if (TRUST_PROXY_PRESETS.has(entry)) return true;
  const [ip, prefix, extra] = entry.split('/');
  const family = isIP(ip ?? '');
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * `TRUST_PROXY` → Express's `trust proxy`: `false` (the socket's address), a
 * hop count, or the proxies' addresses. `true` is refused: it would take the
 * left-most X-Forwarded-For entry, which any client writes itself.
 */
const trustProxy = z.string().transform((v, ctx): false | number | string[] => {
  const value = v.trim();
  if (value === 'false' || value === '0') return false;
  if (/^\d{1,2}$/.test(value)) return Number(value);
  if (value === 'true') {
    ctx.addIssue({
      code: 'custom',
      message:
        'true would trust any client-written X-Forwarded-For; give the number of proxies in front of the api, or their addresses',
    });
    return z.NEVER;
  }
  const entries = value
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  if (entries.length === 0 || !entries.every(isProxyAddress)) {
    ctx.addIssue({
      code: 'custom',
      message:
        'must be false, a hop count, or comma-separated proxy addresses (IP, IP/prefix, loopback, linklocal, uniquelocal)',
    });
    return z.NEVER;
  }
  return entries;
});

/** Defaults of the hardening knobs, shared by the schema and callers that build an env by hand. */
export const securityDefaults = {
  /** A bearer token may not live longer than this (its `exp` from now, and `exp - iat`). */
  API_AUTH_MAX_TOKEN_LIFETIME: 86_400,
  /** Failed ops logins one source address may make per window before it is throttled. */
  OPS_LOGIN_MAX_FAILURES: 10,
  OPS_LOGIN_WINDOW_SECONDS: 900,
  /** New runs Sync Now may start per org within the window (a deduplicated press spends none). */
  SYNC_NOW_BUDGET: 10,
  SYNC_NOW_BUDGET_WINDOW_SECONDS: 600,
  /** Requests per minute per bearer token's (`sub`, `org`), for an org's own token. */
  API_RATE_LIMIT_PER_MINUTE: 600,
  /** The same for the portal backend's `org: "*"` token: it acts for every org. */
  API_RATE_LIMIT_ANY_ORG_PER_MINUTE: 12_000,
  /** Capped notification emails (failures and their reminders) per org, per sliding hour and day. */
  NOTIFIER_EMAIL_CAP_PER_HOUR: 5,
  NOTIFIER_EMAIL_CAP_PER_DAY: 20,
} as const;

/** A count knob: a whole number in [min, max], with its default. */
const count = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/** Defaults of the capacity knobs, shared by the schema and callers that build an env by hand. */
export const capacityDefaults = {
  /** Users one org may sync. */
  SYNC_MAX_USERS: 2_000_000,
} as const;

/**
 * The environment contract of DESIGN.md. Every variable the service reads is
 * named here, so boot can validate all of them at once and name each bad one.
 */
const envShape = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('production'),
  DEMO_MODE: flag.default(false),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).default('redis://127.0.0.1:6379'),
  /**
   * Seeds of a Redis Cluster: when set, every role connects to the cluster
   * (with REDIS_URL's credentials and TLS) instead of REDIS_URL's host.
   */
  REDIS_CLUSTER_NODES: redisClusterNodes.optional(),
  QUEUE_PREFIX: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9_{}:.-]+$/, 'letters, digits and _ { } : . - only')
    .default('entra-sync'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  API_AUTH_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** When set, bearer tokens must carry this `iss`. */
  API_AUTH_ISSUER: z.string().min(1).max(512).optional(),
  /** When set, bearer tokens must carry this `aud`. */
  API_AUTH_AUDIENCE: z.string().min(1).max(512).optional(),
  OPS_USER: z.string().min(1).optional(),
  OPS_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
  /** Bull Board without write actions (retry, promote, clean, pause, add, ...). */
  OPS_READ_ONLY: flag.default(false),
  SECRET_ENCRYPTION_KEY: secretEncryptionKey.optional(),
  /** Previous SECRET_ENCRYPTION_KEYs, still accepted for decryption during a key rotation. */
  SECRET_DECRYPTION_KEYS: secretDecryptionKeys.optional(),
  ENTRA_AUTHORITY_HOST: httpsOrHttpUrl.default('https://login.microsoftonline.com'),
  GRAPH_BASE_URL: httpsOrHttpUrl.default('https://graph.microsoft.com'),
  SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
  MAIL_FROM: z.string().min(3).optional(),
  PORTAL_BASE_URL: httpsOrHttpUrl.default('http://localhost:3000'),
  // Tuning knobs beyond DESIGN's contract (additive, all optional).
  SYNC_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  SYNC_GROUP_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(4),
  SYNC_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(5),
  SYNC_BACKOFF_MS: z.coerce.number().int().min(10).max(3_600_000).default(15_000),
  /** The job lock; sized above the longest Graph call (GRAPH_TIMEOUT_MS). */
  SYNC_LOCK_DURATION_MS: z.coerce.number().int().min(1000).max(3_600_000).default(120_000),
  SYNC_STALLED_INTERVAL_MS: z.coerce.number().int().min(500).max(3_600_000).default(30_000),
  GRAPH_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(60_000),
  /**
   * Users one org may sync (every selected group's, each once): a run past
   * it stops `directory_too_large` before its staging fills Redis.
   */
  SYNC_MAX_USERS: count(1, 100_000_000, capacityDefaults.SYNC_MAX_USERS),
  /** Notification jobs (in-app fan-out) processed at once. */
  NOTIFIER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
  /** Emails sent at once (SMTP connections). */
  NOTIFIER_EMAIL_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  /** An email is retried this many times through an SMTP outage, then marked failed. */
  NOTIFIER_EMAIL_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(15),
  /** First email retry delay; doubles each attempt. */
  NOTIFIER_EMAIL_BACKOFF_MS: z.coerce.number().int().min(10).max(3_600_000).default(5_000),
  NOTIFIER_LOCK_DURATION_MS: z.coerce.number().int().min(1000).max(3_600_000).default(30_000),
  NOTIFIER_STALLED_INTERVAL_MS: z.coerce.number().int().min(500).max(3_600_000).default(30_000),
  /** Port of the worker's /healthz and /readyz; 0 turns the health server off. */
  WORKER_HEALTH_PORT: z.coerce.number().int().min(0).max(65535).default(3001),
  /** Port of the notifier's /healthz and /readyz; 0 turns the health server off. */
  NOTIFIER_HEALTH_PORT: z.coerce.number().int().min(0).max(65535).default(3002),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Upper bound of a bearer token's lifetime, in seconds (see securityDefaults). */
  API_AUTH_MAX_TOKEN_LIFETIME: z.coerce
    .number()
    .int()
    .min(60)
    .max(30 * 86_400)
    .default(securityDefaults.API_AUTH_MAX_TOKEN_LIFETIME),
  /** Failed ops logins per source address and window before that address gets 429s. */
  OPS_LOGIN_MAX_FAILURES: z.coerce
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(securityDefaults.OPS_LOGIN_MAX_FAILURES),
  OPS_LOGIN_WINDOW_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(86_400)
    .default(securityDefaults.OPS_LOGIN_WINDOW_SECONDS),
  /** Which proxies' X-Forwarded-For the api believes (Express's `trust proxy`). */
  TRUST_PROXY: trustProxy.default(false),
  // Abuse limits. Each can be raised out of the way (benchmarks), never turned off.
  SYNC_NOW_BUDGET: count(1, 1_000_000, securityDefaults.SYNC_NOW_BUDGET),
  SYNC_NOW_BUDGET_WINDOW_SECONDS: count(1, 86_400, securityDefaults.SYNC_NOW_BUDGET_WINDOW_SECONDS),
  API_RATE_LIMIT_PER_MINUTE: count(1, 10_000_000, securityDefaults.API_RATE_LIMIT_PER_MINUTE),
  API_RATE_LIMIT_ANY_ORG_PER_MINUTE: count(
    1,
    10_000_000,
    securityDefaults.API_RATE_LIMIT_ANY_ORG_PER_MINUTE,
  ),
  // Bounded by the log the cap keeps per org (one entry per email of the last day).
  NOTIFIER_EMAIL_CAP_PER_HOUR: count(1, 10_000, securityDefaults.NOTIFIER_EMAIL_CAP_PER_HOUR),
  NOTIFIER_EMAIL_CAP_PER_DAY: count(1, 10_000, securityDefaults.NOTIFIER_EMAIL_CAP_PER_DAY),
});

export const envSchema = envShape.superRefine((env, ctx) => {
  if (env.SMTP_URL !== undefined && env.MAIL_FROM === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['MAIL_FROM'],
      message: 'is required when SMTP_URL is set',
    });
  }
  // A queue's keys must share one slot (BullMQ's scripts touch several):
  // only a hash tag in the prefix keeps them there.
  if (env.REDIS_CLUSTER_NODES !== undefined && hashTagOf(env.QUEUE_PREFIX) === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['QUEUE_PREFIX'],
      message:
        'must hold a {hash tag} when REDIS_CLUSTER_NODES is set (e.g. {entra-sync}), so each queue stays in one Cluster slot',
    });
  }
});

export type Env = z.infer<typeof envSchema>;

/** The names of every variable the service reads (deployment files are checked against it). */
export const envVariableNames = Object.keys(envShape.shape) as (keyof Env)[];

export class ConfigError extends Error {
  readonly code = 'config_invalid';
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(
      `Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

export type ProcessRole = 'api' | 'worker' | 'notifier' | 'all';

/** What each process role cannot run without (outside demo mode). */
export const requiredByRole = {
  api: ['API_AUTH_SECRET', 'OPS_USER', 'OPS_PASSWORD', 'SECRET_ENCRYPTION_KEY'],
  worker: ['SECRET_ENCRYPTION_KEY'],
  notifier: [],
  all: ['API_AUTH_SECRET', 'OPS_USER', 'OPS_PASSWORD', 'SECRET_ENCRYPTION_KEY'],
} as const satisfies Record<ProcessRole, readonly (keyof Env)[]>;

export type RoleEnv<R extends ProcessRole> = Env & {
  [K in (typeof requiredByRole)[R][number]]-?: NonNullable<Env[K]>;
};

/**
 * Demo mode runs on embedded defaults. They are public, so demo mode is for
 * a laptop, never a deployment.
 */
export const demoDefaults = {
  API_AUTH_SECRET: 'demo-only-api-auth-secret-never-use-in-production',
  OPS_USER: 'ops',
  OPS_PASSWORD: 'demo-ops-password',
  SECRET_ENCRYPTION_KEY: Buffer.alloc(32, 0x5a).toString('base64'),
} as const;

/**
 * Validates the environment for a process role. Every bad or missing
 * variable is named at once; values are never echoed back (a malformed
 * secret must not end up in a crash log).
 */
export function loadEnv<R extends ProcessRole>(source: NodeJS.ProcessEnv, role: R): RoleEnv<R> {
  const picked: Record<string, string> = {};
  for (const name of envVariableNames) {
    const value = source[name];
    if (value !== undefined && value !== '') picked[name] = value;
  }
  const demo = picked.DEMO_MODE === 'true' || picked.DEMO_MODE === '1';
  const problems: { variable: string; message: string }[] = [];
  // The demo's credentials are public; an explicit production deployment
  // never gets them, whatever else is set. (NODE_ENV left unset defaults to
  // production but does not count: `pnpm demo` and tests run without it.)
  const demoInProduction = demo && picked.NODE_ENV === 'production';
  if (demoInProduction) {
    problems.push({
      variable: 'DEMO_MODE',
      message:
        'is refused with NODE_ENV=production: demo mode runs on public, embedded credentials; unset DEMO_MODE, or set NODE_ENV=development on a machine of your own',
    });
  }
  if (demo && !demoInProduction) {
    for (const [k, v] of Object.entries(demoDefaults)) picked[k] ??= v;
  }
  const result = envSchema.safeParse(picked);
  if (!result.success) {
    for (const issue of result.error.issues) {
      problems.push({
        variable: issue.path.map(String).join('.') || '(environment)',
        message: issue.message,
      });
    }
  }
  for (const name of requiredByRole[role]) {
    if (picked[name] === undefined) {
      problems.push({ variable: name, message: `is required (by the ${role} role)` });
    }
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return result.data as RoleEnv<R>;
}
