import { startApiRole } from '@pinnacle/api';
import type { RoleEnv } from '@pinnacle/config';
import type { Logger } from '@pinnacle/logging';
import { startNotifierRole } from '@pinnacle/notifier';
import { startWorkerRole } from '@pinnacle/worker';

export interface AllRoles {
  apiPort: number;
  /** Closes in dependency order: stop taking requests, then jobs, then alerts. */
  close(): Promise<void>;
}

/** api, worker and notifier in one process (`pnpm start`, `pnpm demo`). */
export async function startAllRoles(env: RoleEnv<'all'>, logger: Logger): Promise<AllRoles> {
  const worker = startWorkerRole(env, logger);
  const notifier = await startNotifierRole(env, logger);
  const api = await startApiRole(env, logger);
  return {
    apiPort: api.port,
    async close() {
      await api.close();
      await worker.close();
      await notifier.close();
    },
  };
}
