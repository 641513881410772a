import { ConfigError, loadEnv, type RoleEnv } from '@pinnacle/config';
import { createLogger } from '@pinnacle/logging';
import { type ApiRole, startApiRole } from './api-role.js';

/** Hard stop if a graceful close overruns (close() itself is bounded well below this). */
const SHUTDOWN_DEADLINE_MS = 20_000;

function exitOnConfigError(error: unknown): never {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  throw error;
}

/** Entry point of the api process (`pnpm start:api`). */
async function main(): Promise<void> {
  let env: RoleEnv<'api'>;
  try {
    env = loadEnv(process.env, 'api');
  } catch (error) {
    exitOnConfigError(error);
  }
  const logger = createLogger({ name: 'api', level: env.LOG_LEVEL });

  // Handlers go in before boot, so a signal during boot still closes cleanly.
  let role: ApiRole | undefined;
  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    await role?.close();
    process.exit(0);
  };
  process.on('SIGTERM', (signal) => void shutdown(signal));
  process.on('SIGINT', (signal) => void shutdown(signal));

  try {
    role = await startApiRole(env, logger);
  } catch (error) {
    logger.fatal({ err: error }, 'api failed to start');
    process.exit(1);
  }
  if (stopping) {
    await role.close();
    process.exit(0);
  }
  logger.info({ port: role.port }, 'api listening');
}

void main();
