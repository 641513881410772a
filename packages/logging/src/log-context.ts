import { AsyncLocalStorage } from 'node:async_hooks';

const storage = new AsyncLocalStorage<Readonly<Record<string, unknown>>>();

/**
 * Runs `fn` so that every log line written while it runs, in it or in
 * anything it awaits or schedules, carries `fields` (e.g. the request ID of
 * the request being served), whichever logger writes it.
 */
export function withLogContext<T>(fields: Record<string, unknown>, fn: () => T): T {
  return storage.run({ ...storage.getStore(), ...fields }, fn);
}

/**
 * The fields of the current log context (none outside of one), as a fresh
 * object: pino merges each line's own fields into what its mixin returns,
 * so handing it the stored object would carry one line's fields into every
 * later line of the same context.
 */
export function logContextFields(): Record<string, unknown> {
  return { ...storage.getStore() };
}
