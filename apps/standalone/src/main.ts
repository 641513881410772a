import { runProcess } from '@pinnacle/queue-runtime';
import { startAllRoles } from './all-roles.js';

/** `pnpm start`: the api, worker and notifier roles in one process. */
void runProcess({
  role: 'all',
  name: 'entra-sync',
  start: (env, logger) => startAllRoles(env, logger),
  readyFields: (roles) => ({ port: roles.apiPort }),
});
