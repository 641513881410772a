// First: the worker's heap flag (see apps/worker/src/heap-tuning.ts), syncs run here too.
import '@pinnacle/worker/heap-tuning';
import { runProcess } from '@pinnacle/queue-runtime';
import { startAllRoles } from './all-roles.js';

/** `pnpm start`: the api, worker and notifier roles in one process. */
void runProcess({
  role: 'all',
  name: 'entra-sync',
  start: (env, logger) => startAllRoles(env, logger),
  readyFields: (roles) => ({ port: roles.apiPort }),
});
