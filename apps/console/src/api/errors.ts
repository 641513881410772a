import { waitText } from '../lib/format.js';
import type { RunFailure, ValidationIssue } from './types.js';

/** Which limit a 429 names: the token's request rate, or the org's Sync Now budget. */
export type RateLimit = 'request_rate' | 'sync_now_budget';

/** Why an API call did not give its answer: what the views branch on. */
export type ApiFailure =
  | { kind: 'unauthorized' }
  | { kind: 'forbidden' }
  | { kind: 'not_found' }
  | { kind: 'validation'; issues: ValidationIssue[] }
  /** 409: the request conflicts with what is stored; `message` says what to do. */
  | { kind: 'conflict'; message: string | null }
  | { kind: 'rate_limited'; retryAfterSeconds: number | null; limit: RateLimit | null }
  /**
   * A check against Entra ID with the org's stored settings could not be
   * made: the run failure shape says why (`transient`: Entra ID or Graph
   * did not answer; try again).
   */
  | { kind: 'entra_check'; failure: RunFailure; transient: boolean }
  | { kind: 'unavailable' }
  | { kind: 'network' }
  | { kind: 'server'; status: number };

export class ApiError extends Error {
  constructor(readonly failure: ApiFailure) {
    super(failure.kind);
    this.name = 'ApiError';
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** The run failure an Entra check answered with (409/502), if the body carries one. */
function entraFailureOf(body: unknown): RunFailure | null {
  if (!isRecord(body) || !isRecord(body.failure)) return null;
  const f = body.failure;
  if (
    typeof f.code !== 'string' ||
    typeof f.title !== 'string' ||
    typeof f.message !== 'string' ||
    !Array.isArray(f.remediation)
  ) {
    return null;
  }
  return f as unknown as RunFailure;
}

function issuesOf(body: unknown): ValidationIssue[] {
  if (!isRecord(body) || !Array.isArray(body.issues)) return [];
  return body.issues.filter(
    (i): i is ValidationIssue =>
      isRecord(i) && typeof i.path === 'string' && typeof i.message === 'string',
  );
}

/** Classifies an error answer by its status (and, for 400 and 429, its body). */
export function failureOf(status: number, body: unknown, retryAfter: string | null): ApiFailure {
  if (status === 401) return { kind: 'unauthorized' };
  if (status === 403) return { kind: 'forbidden' };
  if (status === 404) return { kind: 'not_found' };
  if (status === 400 && isRecord(body) && body.error === 'validation_failed') {
    return { kind: 'validation', issues: issuesOf(body) };
  }
  if (status === 429) {
    const fromBody = isRecord(body) ? body.retryAfterSeconds : undefined;
    const seconds = typeof fromBody === 'number' ? fromBody : Number(retryAfter ?? Number.NaN);
    const limit = isRecord(body) ? body.limit : undefined;
    return {
      kind: 'rate_limited',
      retryAfterSeconds: Number.isFinite(seconds) && seconds > 0 ? seconds : null,
      limit: limit === 'request_rate' || limit === 'sync_now_budget' ? limit : null,
    };
  }
  if (status === 409 || status === 502) {
    const failure = entraFailureOf(body);
    if (failure) return { kind: 'entra_check', failure, transient: status === 502 };
  }
  if (status === 409) {
    // Any other 409: what is stored forbids it (a certificate route's `message` says why).
    const message = isRecord(body) && typeof body.message === 'string' ? body.message : null;
    return { kind: 'conflict', message };
  }
  if (status === 503) return { kind: 'unavailable' };
  return { kind: 'server', status };
}

/** What to tell a person about a failure (validation issues are shown by their fields). */
export function describeFailure(failure: ApiFailure): string {
  switch (failure.kind) {
    case 'unauthorized':
      return 'Your sign-in is no longer accepted. Sign in again.';
    case 'forbidden':
      return 'Your sign-in does not give access to this organisation.';
    case 'not_found':
      return 'Not found.';
    case 'validation':
      return 'Some values were not accepted. Check the highlighted fields.';
    case 'conflict':
      return failure.message ?? 'This cannot be done in the current state. Reload and try again.';
    case 'rate_limited': {
      const when =
        failure.retryAfterSeconds !== null
          ? `Try again in ${waitText(failure.retryAfterSeconds)}.`
          : 'Try again shortly.';
      return failure.limit === 'sync_now_budget'
        ? `This organisation has started as many syncs as it may in a short time. ${when}`
        : `Too many requests from this sign-in. ${when}`;
    }
    case 'entra_check':
      return `${failure.failure.title}. ${failure.failure.message}`;
    case 'unavailable':
      return 'The service is temporarily unavailable. Try again in a few seconds.';
    case 'network':
      return 'The service could not be reached. Check your connection and try again.';
    case 'server':
      return `The service answered with an error (HTTP ${failure.status}). Try again; if it persists, contact support.`;
  }
}
