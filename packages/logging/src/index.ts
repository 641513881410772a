export { logContextFields, withLogContext } from './log-context.js';
export { type CreateLoggerOptions, createLogger, type Logger, redactPaths } from './logger.js';
export { pemSecretParts, SecretScrubber, secretScrubber } from './secret-scrubber.js';
