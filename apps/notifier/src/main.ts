import { runProcess } from '@pinnacle/queue-runtime';
import { startNotifierRole } from './notifier-role.js';

/** Entry point of the notifier process (`pnpm start:notifier`). */
void runProcess({
  role: 'notifier',
  name: 'notifier',
  healthPort: (env) => env.NOTIFIER_HEALTH_PORT,
  start: (env, logger) => startNotifierRole(env, logger),
});
