import { takeTokenFromFragment } from './token.js';

/**
 * The token lives in sessionStorage: gone when the tab closes, never in a
 * cookie (so never sent by the browser on its own), never in the URL.
 */
const KEY = 'pinnacle.console.token';

export function readStoredToken(): string | null {
  try {
    return window.sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function storeToken(token: string | null): void {
  try {
    if (token === null) window.sessionStorage.removeItem(KEY);
    else window.sessionStorage.setItem(KEY, token);
  } catch {
    // Storage refused (private mode quotas): the session lasts until reload.
  }
}

/**
 * A sign-in link `/console/orgs/{orgId}#token=<jwt>`: moves the token into
 * session storage and clears it from the address bar and the history entry.
 */
export function captureFragmentToken(): boolean {
  const { token, rest } = takeTokenFromFragment(window.location.hash);
  if (token === null) return false;
  storeToken(token);
  window.history.replaceState(
    window.history.state,
    '',
    `${window.location.pathname}${window.location.search}${rest}`,
  );
  return true;
}
