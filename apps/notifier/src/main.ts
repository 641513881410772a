import { ConfigError, loadEnv, type RoleEnv } from '@pinnacle/config';
import { createLogger } from '@pinnacle/logging';
import {
  createRedisConnection,
  type HealthServer,
  startHealthServer,
} from '@pinnacle/queue-runtime';
import { type NotifierRole, startNotifierRole } from './notifier-role.js';

/** Test only: see NotifierOptions.pauseAfterInAppMs. Inert unless set. */
function testPauseAfterInApp(): number | undefined {
  const raw = process.env.NOTIFIER_TEST_PAUSE_AFTER_IN_APP_MS;
  if (raw === undefined || raw === '') return undefined;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms <= 0) {
    throw new ConfigError([
      { variable: 'NOTIFIER_TEST_PAUSE_AFTER_IN_APP_MS', message: 'must be a positive integer' },
    ]);
  }
  return ms;
}

/** Entry point of the notifier process (`pnpm start:notifier`). */
async function main(): Promise<void> {
  let env: RoleEnv<'notifier'>;
  let pauseAfterInAppMs: number | undefined;
  try {
    env = loadEnv(process.env, 'notifier');
    pauseAfterInAppMs = testPauseAfterInApp();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger({ name: 'notifier', level: env.LOG_LEVEL });

  // Handlers go in before boot, so a signal while booting still closes cleanly.
  let role: NotifierRole | undefined;
  let health: HealthServer | undefined;
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, 30_000);
    deadline.unref();
    health?.shuttingDown();
    await role?.close();
    await health?.close();
    logger.info('notifier stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  // /healthz and /readyz on a port of their own (NOTIFIER_HEALTH_PORT; 0 turns them off).
  if (env.NOTIFIER_HEALTH_PORT !== 0) {
    const healthRedis = createRedisConnection(env.REDIS_URL, 'producer', {
      connectionName: 'entra-sync-notifier-health',
    });
    healthRedis.on('error', () => {});
    try {
      health = await startHealthServer({
        port: env.NOTIFIER_HEALTH_PORT,
        redis: [healthRedis],
        logger,
      });
      health.server.once('close', () => healthRedis.disconnect());
    } catch (error) {
      logger.fatal({ err: error, port: env.NOTIFIER_HEALTH_PORT }, 'health server failed to start');
      process.exit(1);
    }
  }

  role = await startNotifierRole(env, logger, {
    ...(pauseAfterInAppMs ? { pauseAfterInAppMs } : {}),
  });
  logger.info('notifier ready');
}

void main();
