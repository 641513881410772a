import { type DependencyList, useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, type ApiFailure } from '../api/errors.js';

export type Resource<T> =
  | { status: 'loading' }
  | { status: 'error'; failure: ApiFailure }
  | { status: 'ready'; data: T };

/**
 * Loads something from the API and keeps what it has while reloading, so a
 * refresh never blanks the page; `refreshing` says a reload is under way.
 * Answers to a load that was overtaken (deps changed) are dropped.
 */
export function useResource<T>(
  load: () => Promise<T>,
  deps: DependencyList,
): { state: Resource<T>; refreshing: boolean; reload: () => Promise<void> } {
  const [state, setState] = useState<Resource<T>>({ status: 'loading' });
  const [refreshing, setRefreshing] = useState(false);
  const generation = useRef(0);
  const run = useCallback(async (initial: boolean) => {
    const mine = ++generation.current;
    if (initial) setState({ status: 'loading' });
    else setRefreshing(true);
    try {
      const data = await load();
      if (mine === generation.current) setState({ status: 'ready', data });
    } catch (error) {
      if (mine !== generation.current) return;
      const failure: ApiFailure =
        error instanceof ApiError ? error.failure : { kind: 'server', status: 0 };
      // A failed background refresh keeps the data on screen; a first load shows the error.
      setState((current) =>
        current.status === 'ready' && !initial ? current : { status: 'error', failure },
      );
    } finally {
      if (mine === generation.current) setRefreshing(false);
    }
    // biome-ignore lint/correctness/useExhaustiveDependencies: the caller's deps decide when to reload
  }, deps);
  useEffect(() => {
    void run(true);
    return () => {
      generation.current++;
    };
  }, [run]);
  const reload = useCallback(() => run(false), [run]);
  return { state, refreshing, reload };
}

/** Calls `tick` every `ms` while the tab is visible (and once when it becomes visible). */
export function useInterval(tick: () => void, ms: number | null): void {
  const saved = useRef(tick);
  saved.current = tick;
  useEffect(() => {
    if (ms === null) return;
    const timer = window.setInterval(() => {
      if (document.visibilityState === 'visible') saved.current();
    }, ms);
    const onVisible = () => {
      if (document.visibilityState === 'visible') saved.current();
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      window.clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [ms]);
}
