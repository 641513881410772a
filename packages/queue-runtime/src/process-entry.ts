import { ConfigError, loadEnv, type ProcessRole, type RoleEnv } from '@pinnacle/config';
import { createLogger, type Logger } from '@pinnacle/logging';
import { createRedisConnection, redisTarget } from './connections.js';
import { type HealthServer, startHealthServer } from './health-server.js';

/** Something the process closes on shutdown. */
export interface Closable {
  close(): Promise<void>;
}

export interface ProcessEntry<R extends ProcessRole, T extends Closable> {
  role: R;
  /** The logger's name and the words of its log lines ("worker ready"). */
  name: string;
  /** Port of the process's own /healthz and /readyz (0 or undefined: none). */
  healthPort?: (env: RoleEnv<R>) => number | undefined;
  /** Hard stop when a graceful close overruns. Default 30 s. */
  shutdownDeadlineMs?: number;
  start(env: RoleEnv<R>, logger: Logger): Promise<T>;
  /** Logged with the "ready" line. */
  readyFields?: (started: T) => Record<string, unknown>;
  /** Default: "<name> ready". */
  readyMessage?: string;
}

/**
 * The life of one service process: the environment validated for its role
 * (a bad variable is named on stderr, exit 1), signal handlers installed
 * before boot (so a SIGTERM while booting still closes cleanly), an optional
 * health port, and a bounded graceful shutdown (exit 0, or 1 past the
 * deadline).
 */
export async function runProcess<R extends ProcessRole, T extends Closable>(
  entry: ProcessEntry<R, T>,
): Promise<void> {
  let env: RoleEnv<R>;
  try {
    env = loadEnv(process.env, entry.role);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger({ name: entry.name, level: env.LOG_LEVEL });
  if (env.DEMO_MODE)
    logger.warn('DEMO_MODE is on: embedded, public credentials; never use it in production');

  let started: T | undefined;
  let health: HealthServer | undefined;
  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, entry.shutdownDeadlineMs ?? 30_000);
    deadline.unref();
    health?.shuttingDown();
    await started?.close();
    await health?.close();
    logger.info(`${entry.name} stopped`);
    process.exit(0);
  };
  process.on('SIGTERM', (signal) => void shutdown(signal));
  process.on('SIGINT', (signal) => void shutdown(signal));

  const port = entry.healthPort?.(env);
  if (port) {
    // Fail-fast connection: a probe while Redis is away answers 503 at once.
    const healthRedis = createRedisConnection(redisTarget(env), 'producer', {
      connectionName: `entra-sync-${entry.name}-health`,
    });
    healthRedis.on('error', () => {});
    try {
      health = await startHealthServer({ port, redis: [healthRedis], logger });
      health.server.once('close', () => healthRedis.disconnect());
    } catch (error) {
      logger.fatal({ err: error, port }, 'health server failed to start');
      process.exit(1);
    }
  }

  try {
    started = await entry.start(env, logger);
  } catch (error) {
    logger.fatal({ err: error }, `${entry.name} failed to start`);
    process.exit(1);
  }
  if (stopping) {
    await started.close();
    process.exit(0);
  }
  logger.info(entry.readyFields?.(started) ?? {}, entry.readyMessage ?? `${entry.name} ready`);
}
