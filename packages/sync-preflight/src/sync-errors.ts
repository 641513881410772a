import type { RunStage, SyncFailure } from '@pinnacle/domain';

/** A blocking issue: the sync stops, commits nothing and is not retried. */
export class SyncStoppedError extends Error {
  readonly code = 'sync_stopped';
  constructor(
    readonly failure: SyncFailure,
    readonly stage: RunStage,
  ) {
    super(`Sync stopped in ${stage}: ${failure.code}`);
    this.name = 'SyncStoppedError';
  }
}

/** Trouble that may pass (network, throttling, 5xx): the job is retried with backoff. */
export class TransientSyncError extends Error {
  readonly code = 'sync_transient';
  constructor(
    readonly stage: RunStage,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`Transient failure in ${stage}: ${reason}`, options);
    this.name = 'TransientSyncError';
  }
}
