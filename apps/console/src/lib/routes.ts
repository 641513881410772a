/**
 * The console's pages and their URLs under /console. Pure: parses and
 * builds paths, so links and the router cannot disagree.
 */
export const BASE = '/console';

export type OrgPage = 'overview' | 'runs' | 'notifications' | 'settings';

export type Route =
  | { page: 'home' }
  | { page: 'fleet' }
  | { page: OrgPage; orgId: string }
  | { page: 'not-found' };

const ORG_ID = /^[A-Za-z0-9_-]{1,64}$/;
const ORG_PAGES: Record<string, OrgPage> = {
  '': 'overview',
  // The path email links use ({PORTAL_BASE_URL}/orgs/{orgId}/integrations/entra-id).
  'integrations/entra-id': 'overview',
  runs: 'runs',
  notifications: 'notifications',
  settings: 'settings',
};

export function parseRoute(pathname: string): Route {
  if (!pathname.startsWith(BASE)) return { page: 'not-found' };
  const rest = pathname.slice(BASE.length).replace(/\/+$/, '');
  if (rest === '') return { page: 'home' };
  if (rest === '/fleet') return { page: 'fleet' };
  const match = /^\/orgs\/([^/]+)(?:\/(.*))?$/.exec(rest);
  if (!match) return { page: 'not-found' };
  let orgId: string;
  try {
    orgId = decodeURIComponent(match[1] ?? '');
  } catch {
    return { page: 'not-found' };
  }
  const page = ORG_PAGES[match[2] ?? ''];
  if (!ORG_ID.test(orgId) || page === undefined) return { page: 'not-found' };
  return { page, orgId };
}

export function orgPath(orgId: string, page: OrgPage = 'overview'): string {
  const base = `${BASE}/orgs/${encodeURIComponent(orgId)}`;
  return page === 'overview' ? base : `${base}/${page}`;
}

export const homePath = `${BASE}/`;
/** The ops view of every org (ops credentials, no bearer token). */
export const fleetPath = `${BASE}/fleet`;
