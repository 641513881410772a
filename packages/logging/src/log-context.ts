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

/** The fields of the current log context (none outside of one). */
export function logContextFields(): Readonly<Record<string, unknown>> {
  return storage.getStore() ?? {};
}
