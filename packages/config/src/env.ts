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
 * The environment contract of DESIGN.md. Every variable the service reads is
 * named here, so boot can validate all of them at once and name each bad one.
 */
const envShape = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('production'),
  DEMO_MODE: flag.default(false),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).default('redis://127.0.0.1:6379'),
  QUEUE_PREFIX: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9_{}:.-]+$/, 'letters, digits and _ { } : . - only')
    .default('entra-sync'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  API_AUTH_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  OPS_USER: z.string().min(1).optional(),
  OPS_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
  SECRET_ENCRYPTION_KEY: secretEncryptionKey.optional(),
  ENTRA_AUTHORITY_HOST: httpsOrHttpUrl.default('https://login.microsoftonline.com'),
  GRAPH_BASE_URL: httpsOrHttpUrl.default('https://graph.microsoft.com'),
  SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
  MAIL_FROM: z.string().min(3).optional(),
  PORTAL_BASE_URL: httpsOrHttpUrl.default('http://localhost:3000'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export const envSchema = envShape.superRefine((env, ctx) => {
  if (env.DEMO_MODE) return;
  for (const key of [
    'API_AUTH_SECRET',
    'OPS_USER',
    'OPS_PASSWORD',
    'SECRET_ENCRYPTION_KEY',
  ] as const) {
    if (env[key] === undefined) {
      ctx.addIssue({ code: 'custom', path: [key], message: 'is required outside demo mode' });
    }
  }
  if (env.SMTP_URL !== undefined && env.MAIL_FROM === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['MAIL_FROM'],
      message: 'is required when SMTP_URL is set',
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

/**
 * Validates the environment. Values are never echoed back in the error:
 * a malformed secret must not end up in a crash log.
 */
export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const picked: Record<string, string> = {};
  for (const name of envVariableNames) {
    const value = source[name];
    if (value !== undefined && value !== '') picked[name] = value;
  }
  const result = envSchema.safeParse(picked);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => ({
      variable: issue.path.map(String).join('.') || '(environment)',
      message: issue.message,
    })),
  );
}
