import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import type { RequestHandler } from 'express';

/** Where the api role mounts Bull Board. */
export const BULL_BOARD_PATH = '/admin/queues';

export const REDACTED = '[REDACTED]';

/** Keys whose values are never shown, wherever they sit in job data. */
const SECRET_KEY = /secret|passw(or)?d|passwd|token|authorization|api[-_]?key|credential/i;
const MAX_DEPTH = 16;

/**
 * A copy of `value` with the value of every key named like a secret,
 * password or token replaced, at any depth. Job payloads carry no secret by
 * contract; this keeps a future mistake off the dashboard.
 */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return REDACTED;
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = SECRET_KEY.test(key) ? REDACTED : redactSecrets(item, depth + 1);
  }
  return out;
}

export interface BullBoardOptions {
  /** Every queue of the service (one per `queues` entry of @pinnacle/queue-contracts). */
  queues: readonly Queue[];
  /** The path it is mounted under. Default `/admin/queues`. */
  basePath?: string;
  /** OPS_READ_ONLY: every queue in Bull Board's read-only mode (no retry, clean, pause, add, ...). */
  readOnly?: boolean;
}

/**
 * Bull Board over the given queues, as an Express handler to mount at
 * `basePath` (behind the ops credentials). Job data and return values go
 * through `redactSecrets` (Bull Board's formatters); every API response does
 * too (its `after` hook), which covers what the formatters do not reach,
 * such as job-scheduler templates.
 */
export function createBullBoardRouter(options: BullBoardOptions): RequestHandler {
  const basePath = options.basePath ?? BULL_BOARD_PATH;
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(basePath);
  const adapters = options.queues.map((queue) => {
    const adapter = new BullMQAdapter(queue, { readOnlyMode: options.readOnly ?? false });
    adapter.setFormatter('data', (data: unknown) => redactSecrets(data));
    adapter.setFormatter('returnValue', (data: unknown) => redactSecrets(data));
    return adapter;
  });
  createBullBoard({
    queues: adapters,
    serverAdapter,
    options: {
      uiConfig: { boardTitle: 'Entra sync queues' },
      handlerHooks: {
        after: (_context, result) => ({
          ...result,
          body: redactSecrets(result.body) as typeof result.body,
        }),
      },
    },
  });
  const router: RequestHandler & { disable?: (setting: string) => unknown } =
    serverAdapter.getRouter();
  // Bull Board's router is an Express app of its own, with Express's defaults.
  router.disable?.('x-powered-by');
  return router;
}
