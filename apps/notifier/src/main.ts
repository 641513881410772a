import { ConfigError } from '@pinnacle/config';
import { runProcess } from '@pinnacle/queue-runtime';
import { startNotifierRole } from './notifier-role.js';

/** Test only: see NotifierOptions.pauseAfterInAppMs. Inert unless set. */
function testPauseAfterInApp(): number | undefined {
  const raw = process.env.NOTIFIER_TEST_PAUSE_AFTER_IN_APP_MS;
  if (raw === undefined || raw === '') return undefined;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms <= 0) {
    throw new ConfigError([
      { variable: 'NOTIFIER_TEST_PAUSE_AFTER_IN_APP_MS', message: 'must be a positive integer' },
    ]);
  }
  return ms;
}

/** Entry point of the notifier process (`pnpm start:notifier`). */
void runProcess({
  role: 'notifier',
  name: 'notifier',
  healthPort: (env) => env.NOTIFIER_HEALTH_PORT,
  start(env, logger) {
    let pauseAfterInAppMs: number | undefined;
    try {
      pauseAfterInAppMs = testPauseAfterInApp();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    return startNotifierRole(env, logger, { ...(pauseAfterInAppMs ? { pauseAfterInAppMs } : {}) });
  },
});
