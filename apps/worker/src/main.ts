import { ConfigError, loadEnv, type RoleEnv } from '@pinnacle/config';
import { createLogger } from '@pinnacle/logging';
import {
  createRedisConnection,
  type HealthServer,
  startHealthServer,
} from '@pinnacle/queue-runtime';
import { startWorkerRole } from './worker-role.js';

/** Entry point of the worker process (`pnpm start:worker`). */
async function main(): Promise<void> {
  let env: RoleEnv<'worker'>;
  try {
    env = loadEnv(process.env, 'worker');
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger({ name: 'worker', level: env.LOG_LEVEL });
  const role = startWorkerRole(env, logger);

  // Handlers go in before boot: a signal while booting still closes cleanly, and
  // a supervisor that signals as soon as "worker ready" is logged never beats them.
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
    await role.close();
    await health?.close();
    logger.info('worker stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  // /healthz and /readyz on a port of their own (WORKER_HEALTH_PORT; 0 turns them off),
  // up before the worker is, so liveness answers while Redis is still away.
  if (env.WORKER_HEALTH_PORT !== 0) {
    // Fail-fast: a probe while Redis is away answers 503 at once.
    const healthRedis = createRedisConnection(env.REDIS_URL, 'producer', {
      connectionName: 'entra-sync-worker-health',
    });
    healthRedis.on('error', () => {});
    try {
      health = await startHealthServer({
        port: env.WORKER_HEALTH_PORT,
        redis: [healthRedis],
        logger,
      });
      health.server.once('close', () => healthRedis.disconnect());
    } catch (error) {
      logger.fatal({ err: error, port: env.WORKER_HEALTH_PORT }, 'health server failed to start');
      process.exit(1);
    }
  }

  await role.syncWorker.waitUntilReady();
  logger.info('worker ready');
}

void main();
