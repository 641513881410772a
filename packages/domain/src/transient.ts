/** Why a request may succeed if tried again later. */
export type TransientReason =
  | 'throttled'
  | 'server_error'
  | 'timeout'
  | 'network'
  | 'unauthorized'
  | 'unexpected_response'
  /** Entra found a client assertion outside its valid time: this service's clock is wrong (AADSTS700024). */
  | 'clock_skew';

/** A failure worth retrying with backoff; `retryAfterMs` when the server said how long to wait. */
export type TransientError = {
  kind: 'transient';
  reason: TransientReason;
  retryAfterMs: number | null;
};

/** A transport failure before any HTTP answer: how the caller saw it. */
export type NetworkErrorKind = 'timeout' | 'connection' | 'dns' | 'tls' | 'aborted';

/** Input for a request that got no HTTP answer. */
export type NetworkFailure = { network: NetworkErrorKind };

export function transient(
  reason: TransientReason,
  retryAfterMs: number | null = null,
): TransientError {
  return { kind: 'transient', reason, retryAfterMs };
}

export function networkReason(kind: NetworkErrorKind): TransientReason {
  return kind === 'timeout' ? 'timeout' : 'network';
}

/** `Retry-After` given in whole or fractional seconds, as a non-negative ms count (or null). */
export function secondsToMs(seconds: number | null | undefined): number | null {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) {
    return null;
  }
  return Math.round(seconds * 1000);
}
