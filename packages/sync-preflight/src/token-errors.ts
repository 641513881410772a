import {
  buildFailure,
  classifyTokenError,
  type FailureContext,
  type RunStage,
} from '@pinnacle/domain';
import type { EntraTokenError } from '@pinnacle/entra-graph';
import { SyncStoppedError, TransientSyncError } from './sync-errors.js';

/**
 * A token acquisition that failed, in preflight or when a token is renewed
 * mid-fetch: classified by what Entra answered (the token endpoint or
 * metadata discovery), never by message text. Blocking answers stop the
 * sync; network trouble and 5xx are retried.
 */
export function tokenFailure(
  error: EntraTokenError,
  stage: RunStage,
  context: FailureContext,
): SyncStoppedError | TransientSyncError {
  const r = error.response;
  const verdict = classifyTokenError(
    r
      ? {
          endpoint: r.endpoint,
          status: r.status,
          error: r.error ?? undefined,
          errorCodes: r.errorCodes,
          traceId: r.traceId ?? undefined,
          correlationId: r.correlationId ?? undefined,
          retryAfterSeconds: r.retryAfterSeconds,
        }
      : { network: error.network ?? 'connection' },
    { tenantId: context.tenantId ?? undefined },
  );
  if (verdict.kind === 'transient') {
    return new TransientSyncError(stage, verdict.reason, { cause: error });
  }
  return new SyncStoppedError(buildFailure(verdict.code, verdict.details, context), stage);
}
