import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';
import { logContextFields } from './log-context.js';
import { secretScrubber } from './secret-scrubber.js';

export type { Logger } from 'pino';

/** Field names whose values are secrets wherever they appear (two levels deep). */
const SECRET_KEYS = [
  'clientSecret',
  'client_secret',
  'secret',
  'password',
  'accessToken',
  'access_token',
  'authorization',
  'encryptedSecret',
  'SECRET_ENCRYPTION_KEY',
  'SECRET_DECRYPTION_KEYS',
  'API_AUTH_SECRET',
  'OPS_PASSWORD',
];

export const redactPaths = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `*.${k}`),
  ...SECRET_KEYS.map((k) => `*.*.${k}`),
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
];

export interface CreateLoggerOptions {
  /** The process role or component: api, worker, notifier, ... */
  name: string;
  level?: string;
  /** For tests: capture the JSON lines instead of writing to stdout. */
  destination?: DestinationStream;
}

export function createLogger(options: CreateLoggerOptions): Logger {
  const pinoOptions: LoggerOptions = {
    name: options.name,
    level: options.level ?? 'info',
    base: { pid: process.pid, role: options.name },
    timestamp: pino.stdTimeFunctions.isoTime,
    // The fields of the surrounding withLogContext (the request being served).
    mixin: logContextFields,
    redact: { paths: redactPaths, censor: '[REDACTED]' },
    formatters: {
      level: (label) => ({ level: label }),
      log: (object) => secretScrubber.scrub(object) as Record<string, unknown>,
    },
    hooks: {
      logMethod(args, method) {
        const scrubbed = args.map((a) =>
          typeof a === 'string' ? secretScrubber.scrubString(a) : a,
        ) as Parameters<typeof method>;
        method.apply(this, scrubbed);
      },
    },
  };
  return options.destination ? pino(pinoOptions, options.destination) : pino(pinoOptions);
}
