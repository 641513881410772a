// First, before any other module allocates: see heap-tuning.ts.
import './heap-tuning.js';
import { runProcess } from '@pinnacle/queue-runtime';
import { startWorkerRole } from './worker-role.js';

/** Entry point of the worker process (`pnpm start:worker`). */
void runProcess({
  role: 'worker',
  name: 'worker',
  healthPort: (env) => env.WORKER_HEALTH_PORT,
  async start(env, logger) {
    const role = startWorkerRole(env, logger);
    await role.ready();
    return role;
  },
});
