import { ConfigError, loadEnv, type RoleEnv } from '@pinnacle/config';
import { createLogger } from '@pinnacle/logging';
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
  await role.syncWorker.waitUntilReady();
  logger.info('worker ready');

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
    await role.close();
    logger.info('worker stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

void main();
