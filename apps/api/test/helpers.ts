import { randomBytes, randomUUID } from 'node:crypto';
import { type Run, runSchema, syncAcceptedSchema } from '@pinnacle/domain';
import type { Simulator, TenantInput } from '@pinnacle/entra-simulator';
import { createLogger, type Logger } from '@pinnacle/logging';
import { type TestRedis, waitFor } from '@pinnacle/testing';
import { SignJWT } from 'jose';
import { type ApiEnv, type ApiRole, type StartApiOptions, startApiRole } from '../src/index.js';

export const AUTH_SECRET = 'test-only-api-auth-secret-0123456789abcdef';
export const ENCRYPTION_KEY = randomBytes(32).toString('base64');

export interface TokenOptions {
  sub?: string;
  org?: string;
  role?: string;
  /** Seconds from now; negative for an expired token. */
  expiresIn?: number;
  secret?: string;
  alg?: 'HS256' | 'HS384' | 'HS512';
  extra?: Record<string, unknown>;
  omit?: ('sub' | 'org' | 'role' | 'exp' | 'iat')[];
  /** `iat`, in seconds from now (negative: in the past). Default now. */
  issuedAt?: number;
  issuer?: string;
  audience?: string | string[];
}

export async function signToken(options: TokenOptions = {}): Promise<string> {
  const claims: Record<string, unknown> = {
    sub: options.sub ?? 'admin@portal',
    org: options.org ?? '*',
    role: options.role ?? 'admin',
    ...options.extra,
  };
  for (const key of options.omit ?? []) delete claims[key];
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: options.alg ?? 'HS256' });
  if (!options.omit?.includes('iat')) {
    jwt.setIssuedAt(Math.floor(Date.now() / 1000) + (options.issuedAt ?? 0));
  }
  if (options.issuer !== undefined) jwt.setIssuer(options.issuer);
  if (options.audience !== undefined) jwt.setAudience(options.audience);
  if (!options.omit?.includes('exp')) {
    jwt.setExpirationTime(Math.floor(Date.now() / 1000) + (options.expiresIn ?? 3600));
  }
  return jwt.sign(new TextEncoder().encode(options.secret ?? AUTH_SECRET));
}

/** An unsecured JWT (`alg: none`): header and claims, empty signature. */
export function unsignedToken(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body; tests read it through the API's own schemas. */
  json: unknown;
}

export interface RequestOptions {
  token?: string | null;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as is (with `contentType`, default application/json). */
  rawBody?: string | Buffer;
  contentType?: string | null;
  headers?: Record<string, string>;
}

export interface TestApi {
  role: ApiRole;
  url: string;
  /** Every log line the app wrote. */
  logs: string[];
  /** Every response body this harness received. */
  bodies: string[];
  request(method: string, path: string, options?: RequestOptions): Promise<ApiResponse>;
  close(): Promise<void>;
}

export function testEnv(r: Pick<TestRedis, 'env'>, overrides: Partial<ApiEnv> = {}): ApiEnv {
  return {
    ...r.env,
    PORT: 0,
    SYNC_ATTEMPTS: 3,
    SYNC_BACKOFF_MS: 1000,
    API_AUTH_SECRET: AUTH_SECRET,
    SECRET_ENCRYPTION_KEY: ENCRYPTION_KEY,
    // Never Microsoft's hosts from a test: a closed local port unless a test brings the simulator.
    ENTRA_AUTHORITY_HOST: 'https://127.0.0.1:9',
    GRAPH_BASE_URL: 'https://127.0.0.1:9',
    ...overrides,
  };
}

/** A logger whose JSON lines land in `lines`. */
export function captureLogger(name = 'api'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({
    name,
    level: 'debug',
    destination: {
      write(chunk: string) {
        lines.push(chunk);
      },
    },
  });
  return { logger, lines };
}

/** The real api role on a free port, against the test's Redis and prefix. */
export async function startTestApi(
  r: Pick<TestRedis, 'env'>,
  options: StartApiOptions & { env?: Partial<ApiEnv> } = {},
): Promise<TestApi> {
  const { logger, lines } = captureLogger();
  const { env, ...startOptions } = options;
  const role = await startApiRole(testEnv(r, env), logger, { host: '127.0.0.1', ...startOptions });
  const url = `http://127.0.0.1:${role.port}`;
  const bodies: string[] = [];
  return {
    role,
    url,
    logs: lines,
    bodies,
    request: (method, path, requestOptions) =>
      send(url, method, path, requestOptions, (text) => bodies.push(text)),
    close: () => role.close(),
  };
}

/**
 * Sync Now through the API's own route (`POST /orgs/{orgId}/syncs`): the
 * one way the API's tests request a sync. Answers the run's ID; anything
 * but 202 throws.
 */
export async function requestSyncViaApi(
  api: Pick<TestApi, 'request'>,
  token: string,
  orgId: string,
  body: unknown = {},
): Promise<string> {
  const res = await api.request('POST', `/api/v1/orgs/${orgId}/syncs`, { token, body });
  if (res.status !== 202) throw new Error(`Sync Now answered ${res.status}: ${res.text}`);
  return syncAcceptedSchema.parse(res.json).runId;
}

/** The run once it has finished (succeeded or failed), read through `GET /orgs/{orgId}/syncs/{runId}`. */
export function waitForRunViaApi(
  api: Pick<TestApi, 'request'>,
  token: string,
  orgId: string,
  runId: string,
  timeoutMs = 45_000,
): Promise<Run> {
  return waitFor(
    async () => {
      const res = await api.request('GET', `/api/v1/orgs/${orgId}/syncs/${runId}`, { token });
      const run = runSchema.parse(res.json);
      return run.status === 'succeeded' || run.status === 'failed' ? run : null;
    },
    { timeoutMs, intervalMs: 50, description: `run ${runId} of ${orgId} to finish` },
  );
}

/** Sync Now through the route, then the finished run. */
export async function syncViaApi(
  api: Pick<TestApi, 'request'>,
  token: string,
  orgId: string,
  body: unknown = {},
): Promise<Run> {
  return waitForRunViaApi(api, token, orgId, await requestSyncViaApi(api, token, orgId, body));
}

export async function send(
  baseUrl: string,
  method: string,
  path: string,
  options: RequestOptions = {},
  onBody: (text: string) => void = () => {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== null && options.token !== undefined) {
    headers.authorization = `Bearer ${options.token}`;
  }
  let body: string | Buffer | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined && options.contentType !== null) {
    headers['content-type'] = options.contentType ?? 'application/json';
  }
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body } : {}),
    // A bound so a hang fails the test instead of stalling it; no timing is asserted.
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  onBody(text);
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: response.status, headers: response.headers, text, json };
}

export const GROUP_A = '11111111-1111-4111-8111-111111111111';
export const GROUP_B = '22222222-2222-4222-8222-222222222222';
export const TENANT = '33333333-3333-4333-8333-333333333333';
export const CLIENT = '44444444-4444-4444-8444-444444444444';

export function settingsBody(patch: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    tenantId: TENANT,
    clientId: CLIENT,
    clientSecret: 'Abc8Q~first-secret-value-0001xyz',
    clientSecretExpiresAt: '2030-06-30T00:00:00Z',
    groupIds: [GROUP_A, GROUP_B],
    schedule: { enabled: true, every: '6h' },
    notifications: { email: { enabled: true, recipients: ['admin@contoso.com'] } },
    ...patch,
  };
}

/** A test tenant: `small` holds its first five users, `all` every one. */
export interface SmallAllTenant {
  tenantId: string;
  clientId: string;
  secret: string;
  secretKeyId: string;
  groups: { small: string; all: string };
  /** User IDs, in the order of the tenant's users (the small group is the first five). */
  users: string[];
}

export interface SmallAllTenantOptions {
  roles?: string[];
  secretExpiresAt?: Date;
  users?: number;
  /** The app's client secret (default: a fresh one). */
  secret?: string;
  displayName?: string;
}

/** Adds a {@link SmallAllTenant} of `options.users` (default 40) to the simulator. */
export function addSmallAllTenant(
  sim: Simulator,
  options: SmallAllTenantOptions = {},
): SmallAllTenant {
  const tenantId = randomUUID();
  const clientId = randomUUID();
  const secret = options.secret ?? `E2e~${randomUUID()}`;
  const secretKeyId = randomUUID();
  const domain = `e2e${tenantId.slice(0, 8)}.onmicrosoft.com`;
  const users = Array.from({ length: options.users ?? 40 }, (_, i) => ({
    id: randomUUID(),
    displayName: `User ${i}`,
    userPrincipalName: `user${i}@${domain}`,
    mail: `user${i}@${domain}`,
    accountEnabled: true,
    givenName: null,
    surname: null,
  }));
  const groups = { small: randomUUID(), all: randomUUID() };
  const input: TenantInput = {
    kind: 'fixture',
    tenantId,
    displayName: options.displayName ?? 'E2E',
    domains: [domain],
    applications: [
      {
        appId: clientId,
        displayName: 'Pinnacle Entra Sync',
        roles: options.roles ?? ['User.Read.All', 'GroupMember.Read.All'],
        secrets: [
          {
            keyId: secretKeyId,
            value: secret,
            expiresAt: options.secretExpiresAt ?? new Date(Date.now() + 90 * 86_400_000),
          },
        ],
      },
    ],
    users,
    groups: [
      {
        id: groups.small,
        displayName: 'Small',
        description: null,
        members: users.slice(0, 5).map((u) => u.id),
        memberGroups: [],
      },
      {
        id: groups.all,
        displayName: 'All',
        description: null,
        members: users.map((u) => u.id),
        memberGroups: [],
      },
    ],
  };
  sim.addTenant(input);
  return { tenantId, clientId, secret, secretKeyId, groups, users: users.map((u) => u.id) };
}
