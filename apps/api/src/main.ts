import { runProcess } from '@pinnacle/queue-runtime';
import { startApiRole } from './api-role.js';

/** Entry point of the api process (`pnpm start:api`). */
void runProcess({
  role: 'api',
  name: 'api',
  // close() is bounded well below this.
  shutdownDeadlineMs: 20_000,
  start: (env, logger) => startApiRole(env, logger),
  readyFields: (role) => ({ port: role.port }),
  readyMessage: 'api listening',
});
