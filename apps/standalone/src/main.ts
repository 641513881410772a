import { ConfigError, loadEnv, type RoleEnv } from '@pinnacle/config';
import { createLogger } from '@pinnacle/logging';
import { startAllRoles } from './all-roles.js';

/** `pnpm start`: the api, worker and notifier roles in one process. */
async function main(): Promise<void> {
  let env: RoleEnv<'all'>;
  try {
    env = loadEnv(process.env, 'all');
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger({ name: 'entra-sync', level: env.LOG_LEVEL });
  if (env.DEMO_MODE)
    logger.warn('DEMO_MODE is on: embedded, public credentials; never use it in production');
  let stopping = false;
  let roles: Awaited<ReturnType<typeof startAllRoles>> | null = null;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, 30_000);
    deadline.unref();
    await roles?.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  roles = await startAllRoles(env, logger);
  logger.info({ port: roles.apiPort }, 'all roles started');
}

void main();
