import {
  createContext,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
} from 'react';
import { type ApiClient, createApiClient } from '../api/client.js';
import { captureFragmentToken, readStoredToken, storeToken } from './storage.js';
import { checkToken, normaliseToken, type TokenClaims } from './token.js';

export interface Session {
  /** Null when signed out. */
  claims: TokenClaims | null;
  api: ApiClient;
  /** Why the last session ended (shown on the sign-in page), if it did not end by choice. */
  endedBecause: string | null;
  signIn(token: string): { ok: true } | { ok: false; message: string };
  signOut(reason?: string): void;
  /**
   * Set while the API refuses this sign-in's requests for their rate (a
   * 429 of the request rate limit): until when, in ms since the epoch.
   */
  rateLimitedUntil: number | null;
}

const SessionContext = createContext<Session | null>(null);

const REFUSED =
  'The service refused your sign-in token: it has expired, was revoked, or was issued for another environment. Sign in again with a new token.';

function expiredMessage(at: Date | undefined): string {
  return at
    ? `Your sign-in token expired at ${at.toLocaleString()}. Sign in again with a new token.`
    : 'Your sign-in token has expired. Sign in again with a new token.';
}

function initialState(): {
  token: string | null;
  claims: TokenClaims | null;
  ended: string | null;
} {
  const token = readStoredToken();
  if (token === null) return { token: null, claims: null, ended: null };
  const checked = checkToken(token, new Date());
  if (checked.ok) return { token, claims: checked.claims, ended: null };
  storeToken(null);
  return {
    token: null,
    claims: null,
    ended:
      checked.reason === 'expired'
        ? expiredMessage(checked.expiredAt)
        : 'The sign-in link carried a token that is not a valid bearer token.',
  };
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState(initialState);

  const signOut = useCallback((reason?: string) => {
    storeToken(null);
    setState({ token: null, claims: null, ended: reason ?? null });
  }, []);

  const signIn = useCallback((raw: string) => {
    const token = normaliseToken(raw);
    const checked = checkToken(token, new Date());
    if (!checked.ok) {
      return {
        ok: false as const,
        message:
          checked.reason === 'expired'
            ? expiredMessage(checked.expiredAt)
            : 'This is not a bearer token: paste the whole token (three parts separated by dots).',
      };
    }
    storeToken(token);
    setState({ token, claims: checked.claims, ended: null });
    return { ok: true as const };
  }, []);

  // A sign-in link opened in a tab already showing the console changes only
  // the fragment: no page load, so the new token is taken here.
  useEffect(() => {
    const onHashChange = () => {
      if (captureFragmentToken()) setState(initialState());
    };
    window.addEventListener('hashchange', onHashChange);
    return () => window.removeEventListener('hashchange', onHashChange);
  }, []);

  // Sign out at the token's expiry rather than at the next refused request.
  useEffect(() => {
    if (!state.claims) return;
    const ms = state.claims.exp * 1000 - Date.now();
    // setTimeout's bound is about 24.8 days; a longer token is rechecked on the next load.
    if (ms > 2 ** 31 - 1) return;
    const timer = window.setTimeout(
      () => signOut(expiredMessage(new Date(state.claims!.exp * 1000))),
      Math.max(ms, 0),
    );
    return () => window.clearTimeout(timer);
  }, [state.claims, signOut]);

  // The request rate limit: a banner until its wait is over (Sync Now's budget
  // is shown by Sync Now itself).
  const [rateLimitedUntil, setRateLimitedUntil] = useState<number | null>(null);
  const clearTimer = useRef<number | undefined>(undefined);
  const onRateLimited = useCallback((limit: string | null, retryAfterSeconds: number | null) => {
    if (limit === 'sync_now_budget') return;
    const wait = (retryAfterSeconds ?? 30) * 1000;
    setRateLimitedUntil(Date.now() + wait);
    window.clearTimeout(clearTimer.current);
    clearTimer.current = window.setTimeout(() => setRateLimitedUntil(null), wait);
  }, []);
  useEffect(() => () => window.clearTimeout(clearTimer.current), []);

  const token = state.token;
  const api = useMemo(
    () =>
      createApiClient({
        baseUrl: window.location.origin,
        token: () => token,
        onUnauthorized: () => signOut(REFUSED),
        onRateLimited,
      }),
    [token, signOut, onRateLimited],
  );

  const session = useMemo<Session>(
    () => ({
      claims: state.claims,
      api,
      endedBecause: state.ended,
      signIn,
      signOut,
      rateLimitedUntil,
    }),
    [state.claims, state.ended, api, signIn, signOut, rateLimitedUntil],
  );
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}
