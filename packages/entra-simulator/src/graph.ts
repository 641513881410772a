import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import {
  type Directory,
  type DirectoryGroup,
  type DirectoryUser,
  directMembership,
  type Membership,
  transitiveMembership,
} from './directory.js';
import { GRAPH_APP_ID, GRAPH_RESOURCE, tokenSerial } from './entra.js';
import { type GraphResponse, graphErrors, type RequestIds } from './graph-errors.js';
import { groupMatches, parseSearch, SEARCHABLE_GROUP_PROPERTIES } from './group-search.js';
import { isGuid } from './ids.js';
import { type SigningKey, verifyJwt } from './jwt.js';
import { type IndexRange, rangesSize, sliceRanges } from './ranges.js';
import type { TenantRegistry, TenantState } from './tenants.js';

export interface GraphDeps {
  registry: TenantRegistry;
  signingKey: SigningKey;
  /** Scheme + host (+ port) the simulator is reached at; links are built on it. */
  origin: string;
  /**
   * Clock skew tolerated on exp/nbf. Graph's token validation allows 300 s
   * (the Microsoft.IdentityModel default ClockSkew), so a token works for up
   * to five minutes past its `exp`; tests set 0 to see expiry exactly.
   */
  clockSkewSeconds: number;
}

/** Who is calling, from a validated access token. */
export interface GraphCaller {
  tenant: TenantState;
  appId: string;
  roles: ReadonlySet<string>;
}

export type GraphAuthResult =
  | { ok: true; caller: GraphCaller }
  | { ok: false; response: GraphResponse; tenantId: string | null; appId: string | null };

/** Graph's challenge header on 401, as seen on real responses. */
export function wwwAuthenticate(origin: string): string {
  return `Bearer realm="", authorization_uri="${origin}/common/oauth2/authorize", client_id="${GRAPH_APP_ID}"`;
}

/**
 * Validates the bearer token the way Graph does for app-only tokens:
 * signature, audience, issuer/tenant and lifetime. A token issued before
 * the tenant's tokens were invalidated fails as an expired one would.
 */
export function authenticateGraph(
  authorization: string | undefined,
  deps: GraphDeps,
  ids: RequestIds,
  now: Date,
): GraphAuthResult {
  const challenge = wwwAuthenticate(deps.origin);
  const deny = (
    response: GraphResponse,
    tenantId: string | null = null,
    appId: string | null = null,
  ) => ({ ok: false, response, tenantId, appId }) as const;
  const match = /^\s*bearer\s+(.*)$/i.exec(authorization ?? '');
  const token = match?.[1]?.trim() ?? '';
  if (!token) return deny(graphErrors.emptyToken(ids, now, challenge));
  const checked = verifyJwt(token, deps.signingKey);
  if (!checked.ok) {
    return deny(
      checked.reason === 'malformed'
        ? graphErrors.unparsableToken(ids, now, challenge)
        : graphErrors.invalidToken(ids, now, challenge),
    );
  }
  const c = checked.claims;
  const tid = typeof c.tid === 'string' ? c.tid : null;
  const appId = typeof c.appid === 'string' ? c.appid : null;
  const aud = typeof c.aud === 'string' ? c.aud.replace(/\/$/, '') : '';
  if (aud !== GRAPH_RESOURCE && aud.toLowerCase() !== GRAPH_APP_ID) {
    return deny(graphErrors.invalidToken(ids, now, challenge, 'Invalid audience.'), tid, appId);
  }
  const tenant = tid ? deps.registry.resolve(tid) : undefined;
  if (!tenant || !appId || c.iss !== `https://sts.windows.net/${tenant.directory.tenantId}/`) {
    return deny(graphErrors.invalidToken(ids, now, challenge), tid, appId);
  }
  const nowS = now.getTime() / 1000;
  const skew = deps.clockSkewSeconds;
  if (typeof c.exp !== 'number' || nowS > c.exp + skew) {
    return deny(graphErrors.expiredToken(ids, now, challenge), tid, appId);
  }
  if (typeof c.nbf === 'number' && nowS + skew < c.nbf) {
    return deny(graphErrors.notYetValidToken(ids, now, challenge), tid, appId);
  }
  if ((tokenSerial(c.uti) ?? 0) < tenant.tokensValidFromSerial) {
    return deny(graphErrors.expiredToken(ids, now, challenge), tid, appId);
  }
  const roles = Array.isArray(c.roles)
    ? c.roles.filter((r): r is string => typeof r === 'string')
    : [];
  return { ok: true, caller: { tenant, appId, roles: new Set(roles) } };
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'MERGE']);

export function isWriteMethod(method: string): boolean {
  return WRITE_METHODS.has(method.toUpperCase());
}

// Application permissions that allow each read, from the Permissions tables of
// https://learn.microsoft.com/en-us/graph/api/group-get,
// https://learn.microsoft.com/en-us/graph/api/group-list-transitivemembers and
// https://learn.microsoft.com/en-us/graph/api/user-list
const GROUP_READ = [
  'GroupMember.Read.All',
  'Group.Read.All',
  'GroupMember.ReadWrite.All',
  'Group.ReadWrite.All',
  'Directory.Read.All',
  'Directory.ReadWrite.All',
];
const USER_READ = [
  'User.Read.All',
  'User.ReadWrite.All',
  'Directory.Read.All',
  'Directory.ReadWrite.All',
];

const hasAny = (roles: ReadonlySet<string>, wanted: readonly string[]) =>
  wanted.some((r) => roles.has(r));

const USER_PROPS = [
  'id',
  'displayName',
  'givenName',
  'surname',
  'mail',
  'userPrincipalName',
  'accountEnabled',
  'businessPhones',
  'jobTitle',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
] as const;
// v1.0 returns only this set unless $select asks for more (accountEnabled is
// not in it): https://learn.microsoft.com/en-us/graph/api/resources/user
const USER_DEFAULT = [
  'businessPhones',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
  'id',
];
const GROUP_PROPS = [
  'id',
  'displayName',
  'description',
  'mail',
  'mailEnabled',
  'mailNickname',
  'securityEnabled',
  'groupTypes',
  'visibility',
  'createdDateTime',
] as const;
const DIRECTORY_OBJECT_PROPS = [...new Set<string>([...USER_PROPS, ...GROUP_PROPS])];

function userValue(u: DirectoryUser, prop: string): unknown {
  switch (prop) {
    case 'id':
    case 'displayName':
    case 'givenName':
    case 'surname':
    case 'mail':
    case 'userPrincipalName':
    case 'accountEnabled':
      return u[prop];
    case 'businessPhones':
      return [];
    case 'jobTitle':
    case 'mobilePhone':
    case 'officeLocation':
    case 'preferredLanguage':
      return null;
    default:
      return undefined;
  }
}

function groupValue(g: DirectoryGroup, prop: string): unknown {
  switch (prop) {
    case 'id':
    case 'displayName':
    case 'description':
      return g[prop];
    case 'mail':
    case 'visibility':
      return null;
    case 'mailEnabled':
      return false;
    case 'securityEnabled':
      return true;
    case 'mailNickname':
      return g.displayName.replace(/[^A-Za-z0-9]/g, '');
    case 'groupTypes':
      return [];
    case 'createdDateTime':
      return '2024-01-01T00:00:00Z';
    default:
      return undefined;
  }
}

interface Projection {
  /** Properties to emit (canonical names), or null for the type's default set. */
  select: string[] | null;
  /** Emit @odata.type (collections of mixed directoryObjects). */
  withType: boolean;
  /** Caller may not read users: id and type only, other properties null. */
  limitedUsers: boolean;
}

function projectUser(u: DirectoryUser, p: Projection): Record<string, unknown> {
  const props = (p.select ?? USER_DEFAULT).filter((x) => userValue(u, x) !== undefined);
  const out: Record<string, unknown> = {};
  if (p.withType || p.limitedUsers) out['@odata.type'] = '#microsoft.graph.user';
  if (p.limitedUsers) {
    // https://learn.microsoft.com/en-us/graph/permissions-overview#limited-information-returned-for-inaccessible-member-objects
    out.id = u.id;
    for (const x of props) if (x !== 'id') out[x] = null;
    return out;
  }
  for (const x of props) out[x] = userValue(u, x);
  return out;
}

function projectGroup(g: DirectoryGroup, p: Projection): Record<string, unknown> {
  const props = (p.select ?? [...GROUP_PROPS]).filter((x) => groupValue(g, x) !== undefined);
  const out: Record<string, unknown> = {};
  if (p.withType) out['@odata.type'] = '#microsoft.graph.group';
  for (const x of props) out[x] = groupValue(g, x);
  return out;
}

interface QueryOptions {
  select: string[] | null;
  top: number | null;
  count: boolean;
  skiptoken: string | null;
  /** The `$search` value, URL-decoded (served on `GET /groups` only). */
  search: string | null;
}

const UNSIMULATED_OPTIONS = new Set([
  'filter',
  'orderby',
  'expand',
  'skip',
  'format',
  'apply',
  'compute',
]);

type Step<T> = { ok: true; value: T } | { ok: false; response: GraphResponse };

function parseQuery(search: URLSearchParams, ids: RequestIds, now: Date): Step<QueryOptions> {
  const q: QueryOptions = { select: null, top: null, count: false, skiptoken: null, search: null };
  for (const [name, value] of search) {
    // v1.0 accepts system query options with or without the $ prefix.
    const key = (name.startsWith('$') ? name.slice(1) : name).toLowerCase();
    if (key === 'select') {
      q.select = value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    } else if (key === 'top') {
      const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
      if (!(n >= 1 && n <= 999)) {
        return { ok: false, response: graphErrors.invalidPageSize(value, ids, now) };
      }
      q.top = n;
    } else if (key === 'count') {
      const v = value.toLowerCase();
      if (v !== 'true' && v !== 'false') {
        return { ok: false, response: graphErrors.notSimulated(`$count=${value}`, ids, now) };
      }
      q.count = v === 'true';
    } else if (key === 'skiptoken') {
      q.skiptoken = value;
    } else if (key === 'search' && name.startsWith('$')) {
      q.search = value;
    } else if (UNSIMULATED_OPTIONS.has(key) && name.startsWith('$')) {
      return {
        ok: false,
        response: graphErrors.notSimulated(`the $${key} query option`, ids, now),
      };
    }
  }
  return { ok: true, value: q };
}

function canonicalSelect(
  select: string[] | null,
  allowed: readonly string[],
  typeName: string,
  ids: RequestIds,
  now: Date,
): Step<string[] | null> {
  if (select === null || select.length === 0) return { ok: true, value: null };
  const byLower = new Map(allowed.map((p) => [p.toLowerCase(), p]));
  const out: string[] = [];
  for (const s of select) {
    const p = byLower.get(s.toLowerCase());
    if (!p) return { ok: false, response: graphErrors.unknownProperty(s, typeName, ids, now) };
    if (!out.includes(p)) out.push(p);
  }
  return { ok: true, value: out };
}

/** Opaque, stateless paging position: which phase (groups, then users) and where in it. */
interface Cursor {
  v: 1;
  /** The request this cursor belongs to; a cursor is rejected anywhere else. */
  r: string;
  ph: 'g' | 'u';
  i: number;
}

/** Short fingerprint of the request a cursor belongs to (tenant + path). */
function routeKey(tenantId: string, path: string): string {
  return createHash('sha256').update(`${tenantId}|${path}`).digest('base64url').slice(0, 16);
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeCursor(token: string, route: string): Cursor | null {
  try {
    const c = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<Cursor>;
    if (
      c.v === 1 &&
      c.r === route &&
      (c.ph === 'g' || c.ph === 'u') &&
      typeof c.i === 'number' &&
      Number.isInteger(c.i) &&
      c.i >= 0
    ) {
      return c as Cursor;
    }
  } catch {
    // Falls through to "invalid".
  }
  return null;
}

/** Where a `$skiptoken` resumes: null for a first page; refused unless this route issued it. */
function resumeAt(q: QueryOptions, route: string, ids: RequestIds, now: Date): Step<Cursor | null> {
  if (!q.skiptoken) return { ok: true, value: null };
  const cursor = decodeCursor(q.skiptoken, route);
  return cursor
    ? { ok: true, value: cursor }
    : { ok: false, response: graphErrors.invalidSkipToken(ids, now) };
}

const ODATA_JSON =
  'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';

function ok(body: unknown): GraphResponse {
  return { status: 200, headers: { 'content-type': ODATA_JSON }, body };
}

function context(origin: string, set: string, select: string[] | null, entity = false): string {
  return `${origin}/v1.0/$metadata#${set}${select ? `(${select.join(',')})` : ''}${entity ? '/$entity' : ''}`;
}

export interface GraphRequest {
  method: string;
  /** Decoded pathname, e.g. /v1.0/groups/{id}/members. */
  pathname: string;
  search: URLSearchParams;
  headers: IncomingHttpHeaders;
}

interface PageInput {
  req: GraphRequest;
  q: QueryOptions;
  route: string;
  cursor: Cursor | null;
  /** Where a first page starts: groups then users, or users only. */
  startPhase: 'g' | 'u';
  groups: DirectoryGroup[];
  userRanges: IndexRange[];
  dir: Directory;
  projection: Projection;
  contextUrl: string;
  origin: string;
  countAllowed: boolean;
}

function nextLink(
  origin: string,
  pathname: string,
  q: QueryOptions,
  top: number,
  token: string,
): string {
  const parts: string[] = [];
  if (q.select) parts.push(`$select=${q.select.join(',')}`);
  if (q.search !== null) parts.push(`$search=${encodeURIComponent(q.search)}`);
  parts.push(`$top=${top}`);
  parts.push(`$skiptoken=${token}`);
  return `${origin}${pathname}?${parts.join('&')}`;
}

/** One page: groups first, then users by index. O(page + log ranges). */
function page(p: PageInput): GraphResponse {
  const top = p.q.top ?? 100;
  const items: Record<string, unknown>[] = [];
  let phase: 'g' | 'u' = p.cursor?.ph ?? p.startPhase;
  let at = p.cursor?.i ?? 0;
  let next: Cursor | null = null;
  if (phase === 'g') {
    const slice = p.groups.slice(at, at + top);
    for (const g of slice) items.push(projectGroup(g, p.projection));
    const after = at + slice.length;
    if (after < p.groups.length) {
      next = { v: 1, r: p.route, ph: 'g', i: after };
    } else {
      phase = 'u';
      at = 0;
    }
  }
  if (phase === 'u' && next === null) {
    if (items.length < top) {
      const { indexes, next: resume } = sliceRanges(p.userRanges, at, top - items.length);
      for (const ix of indexes) items.push(projectUser(p.dir.userAt(ix), p.projection));
      if (resume !== null) next = { v: 1, r: p.route, ph: 'u', i: resume };
    } else if (sliceRanges(p.userRanges, at, 1).indexes.length > 0) {
      next = { v: 1, r: p.route, ph: 'u', i: at };
    }
  }
  const body: Record<string, unknown> = { '@odata.context': p.contextUrl };
  if (!p.cursor && p.q.count && p.countAllowed) {
    body['@odata.count'] = p.groups.length + rangesSize(p.userRanges);
  }
  if (next)
    body['@odata.nextLink'] = nextLink(p.origin, p.req.pathname, p.q, top, encodeCursor(next));
  body.value = items;
  return ok(body);
}

/**
 * Advanced query parameters: without `ConsistencyLevel: eventual`, Graph
 * answers the request but leaves out @odata.count
 * (https://github.com/microsoftgraph/microsoft-graph-docs/issues/8586,
 * https://github.com/microsoftgraph/microsoft-graph-docs-contrib/issues/3370);
 * the user cast itself is served either way
 * (https://github.com/microsoftgraph/microsoft-graph-docs-contrib/issues/3790).
 */
function eventualConsistency(headers: IncomingHttpHeaders): boolean {
  const v = headers.consistencylevel;
  const s = Array.isArray(v) ? v[0] : v;
  return typeof s === 'string' && s.trim().toLowerCase() === 'eventual';
}

/**
 * `GET /groups`, optionally with `$search` (see group-search.ts): an
 * advanced query, so Graph refuses `$search` without `ConsistencyLevel:
 * eventual` (400 Request_UnsupportedQuery, in Graph's words; quoted in
 * https://github.com/microsoftgraph/microsoft-graph-docs-contrib/issues/3495).
 * Deleted groups are left out. Paged like the member lists.
 */
function listGroups(
  req: GraphRequest,
  q: QueryOptions,
  caller: GraphCaller,
  deps: GraphDeps,
  ids: RequestIds,
  now: Date,
): GraphResponse {
  const tenant = caller.tenant;
  // https://learn.microsoft.com/en-us/graph/api/group-list (Permissions)
  if (!hasAny(caller.roles, GROUP_READ)) return graphErrors.forbidden(ids, now);
  const sel = canonicalSelect(q.select, GROUP_PROPS, 'microsoft.graph.group', ids, now);
  if (!sel.ok) return sel.response;
  let groups = tenant.directory.groups().filter((g) => !tenant.faults.isGroupDeleted(g.id));
  if (q.search !== null) {
    if (!eventualConsistency(req.headers)) return graphErrors.searchNeedsEventual(ids, now);
    const parsed = parseSearch(q.search);
    if (!parsed.ok) {
      return graphErrors.notSimulated(
        parsed.reason === 'parentheses'
          ? 'parentheses in $search'
          : 'this $search syntax (clauses are "property:text" in double quotes, joined by AND or OR)',
        ids,
        now,
      );
    }
    const known = new Map(SEARCHABLE_GROUP_PROPERTIES.map((p) => [p.toLowerCase(), p]));
    for (const clause of parsed.expression.clauses) {
      if (!known.has(clause.property.toLowerCase())) {
        return graphErrors.unknownProperty(clause.property, 'microsoft.graph.group', ids, now);
      }
    }
    groups = groups.filter((g) => groupMatches(g, parsed.expression));
  }
  // The cursor belongs to this search: another $search cannot reuse it.
  const route = routeKey(tenant.directory.tenantId, `groups|${q.search ?? ''}`);
  const resumed = resumeAt(q, route, ids, now);
  if (!resumed.ok) return resumed.response;
  return page({
    req,
    q,
    route,
    cursor: resumed.value,
    startPhase: 'g',
    groups,
    userRanges: [],
    dir: tenant.directory,
    projection: { select: sel.value, withType: false, limitedUsers: false },
    contextUrl: context(deps.origin, 'groups', sel.value),
    origin: deps.origin,
    countAllowed: eventualConsistency(req.headers),
  });
}

/**
 * Serves an authenticated Graph v1.0 GET. Checks run in the order Graph
 * applies them: route, permission, identifier syntax, query options,
 * existence.
 */
export function serveGraph(
  req: GraphRequest,
  caller: GraphCaller,
  deps: GraphDeps,
  ids: RequestIds,
  now: Date,
): GraphResponse {
  const segments = req.pathname.split('/').filter(Boolean);
  const [version, entitySet, id, relation, cast, ...rest] = segments;
  if (version !== 'v1.0')
    return graphErrors.notSimulated(`the ${version ?? ''} endpoint`, ids, now);
  if (!entitySet) return graphErrors.notSimulated('the service document', ids, now);
  const set = entitySet.toLowerCase();
  const tenant = caller.tenant;
  const dir = tenant.directory;
  const hidden = (gid: string) => tenant.faults.isGroupDeleted(gid);

  const parsed = parseQuery(req.search, ids, now);
  if (!parsed.ok) return parsed.response;
  const q = parsed.value;

  if (q.search !== null && !(set === 'groups' && id === undefined)) {
    return graphErrors.notSimulated('$search outside GET /groups', ids, now);
  }

  if (set === 'users') {
    if (id !== undefined) return graphErrors.notSimulated('reading a single user', ids, now);
    if (!hasAny(caller.roles, USER_READ)) return graphErrors.forbidden(ids, now);
    const sel = canonicalSelect(q.select, USER_PROPS, 'microsoft.graph.user', ids, now);
    if (!sel.ok) return sel.response;
    const route = routeKey(dir.tenantId, 'users');
    const resumed = resumeAt(q, route, ids, now);
    if (!resumed.ok) return resumed.response;
    return page({
      req,
      q,
      route,
      cursor: resumed.value,
      startPhase: 'u',
      groups: [],
      userRanges: dir.userCount > 0 ? [{ start: 0, end: dir.userCount }] : [],
      dir,
      projection: { select: sel.value, withType: false, limitedUsers: false },
      contextUrl: context(deps.origin, 'users', sel.value),
      origin: deps.origin,
      countAllowed: eventualConsistency(req.headers),
    });
  }

  if (set !== 'groups') return graphErrors.unknownSegment(entitySet, ids, now);
  if (id === undefined) return listGroups(req, q, caller, deps, ids, now);
  const rel = relation?.toLowerCase();
  const castType = cast?.toLowerCase();
  if (rest.length > 0) return graphErrors.unknownSegment(rest[0]!, ids, now);
  if (rel !== undefined && rel !== 'members' && rel !== 'transitivemembers') {
    return graphErrors.unknownSegment(relation!, ids, now);
  }
  if (
    castType !== undefined &&
    castType !== 'microsoft.graph.user' &&
    castType !== 'microsoft.graph.group'
  ) {
    return graphErrors.unknownSegment(cast!, ids, now);
  }
  if (!hasAny(caller.roles, GROUP_READ)) return graphErrors.forbidden(ids, now);
  if (!isGuid(id)) return graphErrors.invalidId(id, ids, now);

  if (rel === undefined) {
    const sel = canonicalSelect(q.select, GROUP_PROPS, 'microsoft.graph.group', ids, now);
    if (!sel.ok) return sel.response;
    const group = dir.group(id);
    if (!group || hidden(id)) return graphErrors.notFound(id, ids, now);
    return ok({
      '@odata.context': context(deps.origin, 'groups', sel.value, true),
      ...projectGroup(group, { select: sel.value, withType: false, limitedUsers: false }),
    });
  }

  const includeUsers = castType !== 'microsoft.graph.group';
  const includeGroups = castType !== 'microsoft.graph.user';
  const [allowed, typeName, setName] =
    castType === 'microsoft.graph.user'
      ? [USER_PROPS, 'microsoft.graph.user', 'users']
      : castType === 'microsoft.graph.group'
        ? [GROUP_PROPS, 'microsoft.graph.group', 'groups']
        : [DIRECTORY_OBJECT_PROPS, 'microsoft.graph.directoryObject', 'directoryObjects'];
  const sel = canonicalSelect(q.select, allowed, typeName, ids, now);
  if (!sel.ok) return sel.response;
  const route = routeKey(dir.tenantId, req.pathname.toLowerCase());
  const resumed = resumeAt(q, route, ids, now);
  if (!resumed.ok) return resumed.response;
  const group = dir.group(id);
  // Checked on every page, so a group deleted mid-paging fails the next page.
  if (!group || hidden(id)) return graphErrors.notFound(id, ids, now);
  const m: Membership =
    rel === 'members'
      ? directMembership(dir, group, hidden)
      : transitiveMembership(dir, group, hidden);
  return page({
    req,
    q,
    route,
    cursor: resumed.value,
    startPhase: 'g',
    groups: includeGroups ? m.groups : [],
    userRanges: includeUsers ? m.userRanges : [],
    dir,
    projection: {
      select: sel.value,
      withType: castType === undefined,
      limitedUsers: !hasAny(caller.roles, USER_READ),
    },
    contextUrl: context(deps.origin, setName, sel.value),
    origin: deps.origin,
    countAllowed: eventualConsistency(req.headers),
  });
}
