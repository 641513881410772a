import {
  AuthenticationHandler,
  AuthenticationHandlerOptions,
  type AuthenticationProvider,
  Client,
  GraphError,
  HTTPMessageHandler,
} from '@microsoft/microsoft-graph-client';
import { type GraphUser, graphUsersPageSchema } from '@pinnacle/domain';
import { z } from 'zod';
import type { GraphTokenSource } from './token.js';

/** A Graph call failed for good (after retries when it was transient). */
export class GraphRequestError extends Error {
  readonly code = 'graph_request_failed';
  constructor(
    /** HTTP status; 0 when no response arrived (network, timeout). */
    readonly status: number,
    /** Graph's `error.code`, e.g. `Authorization_RequestDenied`. */
    readonly graphCode: string | null,
    /** Seconds from `Retry-After`, when Graph sent one. */
    readonly retryAfterSeconds: number | null,
    readonly transient: boolean,
    message: string,
  ) {
    super(message);
    this.name = 'GraphRequestError';
  }
}

const groupSchema = z.object({ id: z.string(), displayName: z.string().nullable().optional() });
const groupPageSchema = z.object({ value: z.array(groupSchema) });

/** One page of a group's members. */
export interface GroupMemberPage {
  users: GraphUser[];
  /** The group's transitive user members, from `@odata.count` (first page only; else null). */
  count: number | null;
}

export interface GraphReaderStats {
  requests: number;
  throttled: number;
}

export type GraphReaderOptions = GraphReaderCommonOptions &
  (
    | {
        /** Where each request's token comes from (GraphTokenProvider): renewed as it nears expiry, refreshed on a 401. */
        tokens: GraphTokenSource;
        accessToken?: never;
      }
    | {
        /** One fixed token for every request (no renewal, no refresh). */
        accessToken: string;
        tokens?: never;
      }
  );

interface GraphReaderCommonOptions {
  /** e.g. https://graph.microsoft.com */
  baseUrl: string;
  /** Per request. The longest Graph call sizes the job lock, so keep it bounded. */
  timeoutMs?: number;
  /** Retries of one request on 429/503/5xx/network before giving up. */
  maxRetries?: number;
  /** Longest single wait, whatever Retry-After says. */
  maxRetryDelayMs?: number;
  /** For tests: a clock-free sleep. */
  sleep?: (ms: number) => Promise<void>;
}

const USER_SELECT = 'id,displayName,mail,userPrincipalName,accountEnabled';
const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function retryAfterSeconds(error: GraphError): number | null {
  const raw = error.headers?.get('retry-after');
  if (!raw) return null;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(raw);
  return Number.isFinite(date) ? Math.max(0, (date - Date.now()) / 1000) : null;
}

/**
 * Read-only Microsoft Graph access for one sync: every call is a GET. Built
 * on the Graph SDK with only the auth and HTTP handlers in its middleware,
 * so retries happen here, where they are counted and bounded.
 * Every request carries a token taken from the token source just before it
 * is sent, so a sync that outlives a token's lifetime keeps working; a
 * request Graph answers 401 InvalidAuthenticationToken is sent once more
 * with a refreshed token before it counts as failed.
 */
export class GraphReader {
  readonly stats: GraphReaderStats = { requests: 0, throttled: 0 };
  private readonly tokens: GraphTokenSource;
  private readonly client: Client;
  private readonly origin: string;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly maxRetryDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: GraphReaderOptions) {
    const fixed = options.accessToken;
    this.tokens = options.tokens ?? { getToken: async () => ({ token: fixed as string }) };
    // Each request passes the token it was given (see get()); this default
    // serves only requests that would not.
    const provider: AuthenticationProvider = {
      getAccessToken: async () => (await this.tokens.getToken()).token,
    };
    const auth = new AuthenticationHandler(provider);
    auth.setNext(new HTTPMessageHandler());
    const base = new URL(options.baseUrl);
    this.origin = base.origin;
    this.client = Client.initWithMiddleware({
      middleware: auth,
      baseUrl: base.origin,
      defaultVersion: 'v1.0',
      // The SDK attaches the token only to Graph's own hosts and these.
      customHosts: new Set([base.hostname]),
    });
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.maxRetries = options.maxRetries ?? 6;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 120_000;
    this.sleep = options.sleep ?? defaultSleep;
  }

  /** The group, or a GraphRequestError (404 `Request_ResourceNotFound` when it does not exist). */
  async getGroup(groupId: string): Promise<{ id: string; displayName: string | null }> {
    const body = await this.get(
      `/groups/${encodeURIComponent(groupId)}?$select=id,displayName`,
      {},
    );
    const group = groupSchema.parse(body);
    return { id: group.id, displayName: group.displayName ?? null };
  }

  /**
   * Groups whose display name matches `term` as Graph's `$search` does
   * (every word of the term starts a word of the name, in any order, any
   * case), at most `top` of them (1 to 999). An advanced query: Graph wants
   * `ConsistencyLevel: eventual` with it. Inside the quoted clause a `"` or
   * `\` is escaped with a backslash; the whole value is URL-encoded.
   * https://learn.microsoft.com/en-us/graph/search-query-parameter
   */
  async searchGroups(
    term: string,
    top = 25,
  ): Promise<{ id: string; displayName: string | null }[]> {
    const clause = `"displayName:${term.replace(/["\\]/g, '\\$&')}"`;
    const body = await this.get(
      `/groups?$search=${encodeURIComponent(clause)}&$select=id,displayName&$top=${top}`,
      { ConsistencyLevel: 'eventual' },
    );
    return groupPageSchema
      .parse(body)
      .value.map((g) => ({ id: g.id, displayName: g.displayName ?? null }));
  }

  /**
   * Pages of the group's transitive user members, following
   * `@odata.nextLink` to the end. One page in memory at a time.
   */
  async *groupUserPages(groupId: string): AsyncGenerator<GraphUser[]> {
    for await (const page of this.groupMemberPages(groupId)) yield page.users;
  }

  /**
   * The same pages, each with the group's member count as Graph gave it
   * (`@odata.count`, on the first page only: null on later pages, and when
   * Graph left it out). It counts the group's transitive user members, so
   * one group's count is a lower bound of the users a sync of it stages.
   */
  async *groupMemberPages(groupId: string): AsyncGenerator<GroupMemberPage> {
    let path: string | undefined =
      `/groups/${encodeURIComponent(groupId)}/transitiveMembers/microsoft.graph.user` +
      `?$select=${USER_SELECT}&$top=999&$count=true`;
    while (path) {
      const { users, count, next } = await this.getMembersPage(path);
      yield { users, count };
      // Follow only links back to the Graph host we were configured with.
      if (next !== undefined && !next.startsWith(`${this.origin}/`)) {
        throw new GraphRequestError(
          0,
          null,
          null,
          false,
          'Microsoft Graph returned a nextLink to another host',
        );
      }
      path = next;
    }
  }

  /**
   * One members page, parsed. Its own function so the raw body is only ever
   * referenced from a frame that is gone once the page is parsed: the
   * generator above suspends between pages, and whatever its frame still
   * referenced would live through the next page's fetch.
   */
  private async getMembersPage(
    path: string,
  ): Promise<GroupMemberPage & { next: string | undefined }> {
    // The OData cast with $count is an advanced query: Graph wants both.
    const page = graphUsersPageSchema.parse(await this.get(path, { ConsistencyLevel: 'eventual' }));
    return {
      users: page.value,
      count: page['@odata.count'] ?? null,
      next: page['@odata.nextLink'],
    };
  }

  private async get(pathOrUrl: string, headers: Record<string, string>): Promise<unknown> {
    let refreshed = false;
    for (let attempt = 0; ; ) {
      // Taken per request: the source answers from its cache and renews
      // ahead of expiry. A failure here is Entra's (EntraTokenError).
      const { token } = await this.tokens.getToken();
      this.stats.requests++;
      // Not AbortSignal.timeout(): its timer keeps the signal, and through
      // fetch's abort listener the whole response, alive for the full timeout,
      // so a fast sync of many pages would hold every page in memory.
      const abort = new AbortController();
      const timer = setTimeout(
        () => abort.abort(new DOMException('Graph request timed out', 'TimeoutError')),
        this.timeoutMs,
      );
      try {
        return await this.client
          .api(pathOrUrl)
          .headers(headers)
          .middlewareOptions([
            new AuthenticationHandlerOptions({ getAccessToken: async () => token }),
          ])
          .option('signal', abort.signal)
          .get();
      } catch (error) {
        const failure = this.toRequestError(error);
        // The token ran out (or was revoked) before Graph saw it: once per
        // request, get a fresh one and send the same request again.
        if (
          failure.status === 401 &&
          failure.graphCode === 'InvalidAuthenticationToken' &&
          !refreshed &&
          this.tokens.refresh
        ) {
          refreshed = true;
          await this.tokens.refresh(token);
          continue;
        }
        if (failure.status === 429) this.stats.throttled++;
        if (!failure.transient || attempt >= this.maxRetries) throw failure;
        const backoff = Math.min(this.maxRetryDelayMs, 500 * 2 ** attempt);
        const wait =
          failure.retryAfterSeconds !== null
            ? Math.min(this.maxRetryDelayMs, failure.retryAfterSeconds * 1000)
            : backoff / 2 + Math.random() * (backoff / 2);
        attempt++;
        await this.sleep(wait);
      } finally {
        clearTimeout(timer);
      }
    }
  }

  private toRequestError(error: unknown): GraphRequestError {
    // A body cut off mid-page surfaces as a GraphError carrying the 2xx status
    // of the response that was being read (code "TypeError", "terminated"):
    // that is a network failure, not an answer.
    if (error instanceof GraphError && error.statusCode >= 400) {
      const status = error.statusCode;
      return new GraphRequestError(
        status,
        error.code ?? null,
        retryAfterSeconds(error),
        RETRYABLE_STATUS.has(status),
        `Microsoft Graph answered HTTP ${status}${error.code ? ` (${error.code})` : ''}`,
      );
    }
    const name =
      error instanceof GraphError ? (error.code ?? '') : error instanceof Error ? error.name : '';
    const timedOut = name === 'TimeoutError' || name === 'AbortError';
    return new GraphRequestError(
      0,
      null,
      null,
      true,
      timedOut
        ? `A Microsoft Graph request timed out after ${this.timeoutMs} ms`
        : 'Microsoft Graph could not be reached',
    );
  }
}
