import { setTimeout as sleep } from 'node:timers/promises';
import { TestingError } from './errors.js';

export interface WaitForOptions {
  /** Give up after this long. Default 5000. */
  timeoutMs?: number;
  /** Pause between attempts. Default 50. */
  intervalMs?: number;
  /** Names what is awaited, for the timeout message. */
  description?: string;
}

type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

/**
 * Polls `predicate` until it returns a truthy value and resolves with that value.
 * A predicate that throws counts as "not yet"; its last error becomes the cause of
 * the timeout, so a persistent failure is not hidden.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<Truthy<T>> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value as Truthy<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      throw new TestingError(
        'timeout',
        `timed out after ${timeoutMs} ms waiting for ${options.description ?? 'condition'}`,
        { cause: lastError },
      );
    }
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
}
