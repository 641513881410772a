import { useCallback, useState } from 'react';
import { ApiError, type ApiFailure } from '../api/errors.js';

/** What a thrown error means to a view: the API's failure, or the network's. */
export function failureFromError(error: unknown): ApiFailure {
  return error instanceof ApiError ? error.failure : { kind: 'network' };
}

/**
 * A button's or form's call to the API: busy while it runs, its failure
 * cleared when it starts and set when it throws. `run` resolves true when
 * the work succeeded.
 */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<ApiFailure | null>(null);
  const run = useCallback(async (work: () => Promise<void>): Promise<boolean> => {
    setBusy(true);
    setFailure(null);
    try {
      await work();
      return true;
    } catch (error) {
      setFailure(failureFromError(error));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, failure, setFailure, run };
}
