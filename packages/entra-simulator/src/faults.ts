import type { Application, ClientSecret, FaultSpec } from './schemas.js';

export type InjectedFault =
  | { kind: 'throttle'; retryAfterSeconds: number }
  | { kind: 'unavailable'; retryAfterSeconds: number }
  | { kind: 'serverError' }
  | { kind: 'reset'; afterBytes: number | undefined }
  | { kind: 'graphError'; status: number; code: string | null; retryAfterSeconds: number | null };

export type InjectedEntraFault = { kind: 'entraUnavailable'; retryAfterSeconds: number };

export type InjectedTokenFault = {
  kind: 'tokenError';
  status: number;
  error: string;
  code: number;
  retryAfterSeconds: number | null;
};

interface Cadence {
  count?: number | undefined;
  every?: number | undefined;
}

function fires(c: Cadence | undefined, n: number): boolean {
  if (!c) return false;
  if (c.count !== undefined) return n <= c.count;
  if (c.every !== undefined) return n % c.every === 0;
  return false;
}

/**
 * A request's delay: `latencyMs` plus or minus up to `jitterMs`, evenly, as a
 * pure function of (seed, stream, request number), so concurrent requests
 * draw the same delays whatever order they arrive in.
 */
export function jitteredLatency(
  latencyMs: number,
  jitterMs: number,
  seed: number,
  stream: number,
  n: number,
): number {
  if (jitterMs === 0) return latencyMs;
  // splitmix32-style mix of the three inputs into [0, 1).
  let h = (seed ^ Math.imul(stream, 0x9e3779b9) ^ Math.imul(n, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x21f0aaad);
  h = Math.imul(h ^ (h >>> 15), 0x735a2d97);
  const unit = ((h ^ (h >>> 15)) >>> 0) / 4294967296;
  return Math.max(0, Math.round(latencyMs - jitterMs + unit * 2 * jitterMs));
}

const GRAPH_STREAM = 1;
const ENTRA_STREAM = 2;

function appliesTo(target: { appId?: string | undefined } | undefined, appId: string): boolean {
  return (
    target !== undefined &&
    (target.appId === undefined || target.appId.toLowerCase() === appId.toLowerCase())
  );
}

/**
 * One tenant's switchable faults and the request counter they key off. All
 * decisions are pure functions of (spec, requests seen since set), so the same
 * spec always produces the same sequence.
 */
export class TenantFaults {
  private spec: FaultSpec = {};
  /** Graph requests authenticated for the tenant, ever. */
  private seen = 0;
  /** `seen` when the current spec was set. */
  private base = 0;
  private secretsExpiredAt: Date | null = null;
  /** Group (lower-case ID) → last request number at which it still exists. */
  private deleteAfter = new Map<string, number>();
  /** Entra requests (discovery and token) for the tenant, ever, and when the current spec was set. */
  private entraSeen = 0;
  private entraBase = 0;
  /** Token requests alone, likewise. */
  private tokenSeen = 0;
  private tokenBase = 0;
  /** `seen` at which issued tokens are to be invalidated; null once done (or none asked). */
  private invalidateTokensAt: number | null = null;

  set(spec: FaultSpec, now: Date): void {
    this.spec = spec;
    this.base = this.seen;
    this.entraBase = this.entraSeen;
    this.tokenBase = this.tokenSeen;
    this.secretsExpiredAt = spec.expireSecrets ? now : null;
    this.deleteAfter = new Map(
      (spec.deleteGroups ?? []).map((d) => [d.groupId.toLowerCase(), this.base + d.afterRequests]),
    );
    this.invalidateTokensAt = spec.invalidateTokens
      ? this.base + spec.invalidateTokens.afterRequests
      : null;
  }

  clear(): void {
    this.set({}, new Date());
  }

  current(): FaultSpec {
    return this.spec;
  }

  /** Requests counted since the faults were last set. */
  requestsSinceSet(): number {
    return this.seen - this.base;
  }

  /**
   * Counts one authenticated Graph request and says what to inject into it.
   * The first matching fault wins, in the order reset, 500, 503, 429, any status.
   */
  onGraphRequest(): { fault: InjectedFault | null; latencyMs: number } {
    this.seen++;
    const n = this.seen - this.base;
    const s = this.spec;
    const latencyMs = this.latency(s.latencyMs, GRAPH_STREAM, n);
    if (s.resetConnection && fires(s.resetConnection, n)) {
      return { fault: { kind: 'reset', afterBytes: s.resetConnection.afterBytes }, latencyMs };
    }
    if (fires(s.serverError, n)) return { fault: { kind: 'serverError' }, latencyMs };
    if (s.unavailable && fires(s.unavailable, n)) {
      return {
        fault: { kind: 'unavailable', retryAfterSeconds: s.unavailable.retryAfterSeconds },
        latencyMs,
      };
    }
    if (s.throttle && fires(s.throttle, n)) {
      return {
        fault: { kind: 'throttle', retryAfterSeconds: s.throttle.retryAfterSeconds },
        latencyMs,
      };
    }
    if (s.graphError && fires(s.graphError, n)) {
      const g = s.graphError;
      return {
        fault: {
          kind: 'graphError',
          status: g.status,
          code: g.code ?? null,
          retryAfterSeconds: g.retryAfterSeconds ?? null,
        },
        latencyMs,
      };
    }
    return { fault: null, latencyMs };
  }

  /**
   * True once, when the Graph requests served since the faults were set
   * reach `invalidateTokens.afterRequests`: the caller then invalidates the
   * tenant's tokens (the request being served was already authenticated).
   */
  takeTokenInvalidation(): boolean {
    if (this.invalidateTokensAt === null || this.seen < this.invalidateTokensAt) return false;
    this.invalidateTokensAt = null;
    return true;
  }

  /** The delay before the response to the tenant's `n`th Entra request since the faults were set. */
  entraLatencyMs(): number {
    return this.latency(this.spec.entraLatencyMs, ENTRA_STREAM, this.entraSeen - this.entraBase);
  }

  private latency(ms: number | undefined, stream: number, n: number): number {
    if (!ms) return 0;
    const s = this.spec;
    return jitteredLatency(ms, s.latencyJitterMs ?? 0, s.latencySeed ?? 1, stream, n);
  }

  /** Counts one Entra request (discovery or token) for the tenant and says what to inject into it. */
  onEntraRequest(): InjectedEntraFault | null {
    this.entraSeen++;
    const n = this.entraSeen - this.entraBase;
    const u = this.spec.entraUnavailable;
    if (u && fires(u, n))
      return { kind: 'entraUnavailable', retryAfterSeconds: u.retryAfterSeconds };
    return null;
  }

  /** Counts one token request for the tenant and says which AADSTS answer to inject. */
  onTokenRequest(): InjectedTokenFault | null {
    this.tokenSeen++;
    const n = this.tokenSeen - this.tokenBase;
    const t = this.spec.tokenError;
    if (!t || !fires(t, n)) return null;
    return {
      kind: 'tokenError',
      status: t.status,
      error: t.error,
      code: t.code,
      retryAfterSeconds: t.retryAfterSeconds ?? null,
    };
  }

  /** The app's service principal is disabled in the tenant (AADSTS7000112). */
  isAppDisabled(app: Application): boolean {
    return appliesTo(this.spec.disableApp, app.appId);
  }

  /** A Conditional Access policy blocks the app's tokens (AADSTS53003). */
  isBlockedByConditionalAccess(app: Application): boolean {
    return appliesTo(this.spec.blockByConditionalAccess, app.appId);
  }

  isGroupDeleted(groupId: string): boolean {
    const last = this.deleteAfter.get(groupId.toLowerCase());
    return last !== undefined && this.seen > last;
  }

  /** The roles a token issued now would carry for the app. */
  effectiveRoles(app: Application): string[] {
    if (appliesTo(this.spec.replaceRoles, app.appId)) return [...this.spec.replaceRoles!.roles];
    if (appliesTo(this.spec.revokeConsent, app.appId)) return [];
    return [...app.roles];
  }

  isSecretExpired(app: Application, secret: ClientSecret, now: Date): boolean {
    if (secret.expiresAt.getTime() <= now.getTime()) return true;
    return this.secretsExpiredAt !== null && appliesTo(this.spec.expireSecrets, app.appId);
  }
}
