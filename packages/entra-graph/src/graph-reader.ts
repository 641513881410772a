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

/** A group as the group check reads it. */
export interface GraphGroup {
  id: string;
  displayName: string | null;
}

/** One group of `getGroups`: found, or why not (404 `Request_ResourceNotFound` when it does not exist). */
export type GroupLookup =
  | { groupId: string; group: GraphGroup }
  | { groupId: string; error: GraphRequestError };

/** Requests Graph takes in one JSON batch. */
export const GRAPH_BATCH_LIMIT = 20;

// https://learn.microsoft.com/en-us/graph/json-batching: each response
// carries its own status, headers and body, in any order.
const batchResponseSchema = z.object({
  responses: z.array(
    z.object({
      id: z.string(),
      status: z.number().int(),
      headers: z.record(z.string(), z.string()).optional(),
      body: z.unknown().optional(),
    }),
  ),
});
const graphErrorBodySchema = z.object({ error: z.object({ code: z.string().optional() }) });

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
  return parseRetryAfter(error.headers?.get('retry-after'));
}

function parseRetryAfter(raw: string | null | undefined): number | null {
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
  async getGroup(groupId: string): Promise<GraphGroup> {
    const body = await this.get(groupPath(groupId), {});
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
   * The groups, in the order asked, each found or failed on its own: JSON
   * `$batch` requests of up to 20 GETs (one request for a typical org's
   * selection instead of one a group). A request inside answered 429, 503 or
   * another transient status is sent again in a new batch with the others
   * that were, after the longest `Retry-After` among them, as Microsoft's
   * throttling guidance says for batches; one that still fails after the
   * retries ends as its GraphRequestError. Trouble with a batch as a whole
   * (its own 429, 5xx, network, an unusable answer) throws, as `getGroup`.
   */
  async getGroups(groupIds: readonly string[]): Promise<GroupLookup[]> {
    const results = new Map<string, GroupLookup>();
    const chunks: string[][] = [];
    const unique = [...new Set(groupIds)];
    for (let i = 0; i < unique.length; i += GRAPH_BATCH_LIMIT) {
      chunks.push(unique.slice(i, i + GRAPH_BATCH_LIMIT));
    }
    await Promise.all(
      chunks.map(async (chunk) => {
        for (const lookup of await this.getGroupBatch(chunk)) results.set(lookup.groupId, lookup);
      }),
    );
    return groupIds.map((groupId) => results.get(groupId) as GroupLookup);
  }

  /** Up to 20 groups through one `$batch`, and new ones for the requests inside that were throttled. */
  private async getGroupBatch(groupIds: string[]): Promise<GroupLookup[]> {
    const done: GroupLookup[] = [];
    let pending = groupIds;
    for (let attempt = 0; pending.length > 0; attempt++) {
      // The batch's request IDs are positions in `pending`.
      const body = {
        requests: pending.map((groupId, i) => ({
          id: String(i),
          method: 'GET',
          url: groupPath(groupId),
        })),
      };
      const answer = batchResponseSchema.safeParse(await this.send('POST', '/$batch', {}, body));
      if (!answer.success) {
        throw new GraphRequestError(
          0,
          null,
          null,
          true,
          'Microsoft Graph answered a batch with something that is not a batch response',
        );
      }
      const byId = new Map(answer.data.responses.map((r) => [r.id, r]));
      const retry: { groupId: string; error: GraphRequestError }[] = [];
      pending.forEach((groupId, i) => {
        const response = byId.get(String(i));
        if (response === undefined) {
          // Left out of the answer: as if it never reached Graph.
          retry.push({
            groupId,
            error: new GraphRequestError(
              0,
              null,
              null,
              true,
              'Microsoft Graph left a request out of a batch',
            ),
          });
          return;
        }
        if (response.status >= 200 && response.status < 300) {
          const group = groupSchema.parse(response.body);
          done.push({ groupId, group: { id: group.id, displayName: group.displayName ?? null } });
          return;
        }
        const error = innerRequestError(response);
        if (error.status === 429) this.stats.throttled++;
        if (error.transient && attempt < this.maxRetries) retry.push({ groupId, error });
        else done.push({ groupId, error });
      });
      pending = retry.map((r) => r.groupId);
      if (pending.length > 0) {
        const backoff = Math.min(this.maxRetryDelayMs, 500 * 2 ** attempt);
        const asked = retry.map((r) => r.error.retryAfterSeconds ?? -1);
        const longest = Math.max(...asked);
        await this.sleep(
          longest >= 0
            ? Math.min(this.maxRetryDelayMs, longest * 1000)
            : backoff / 2 + Math.random() * (backoff / 2),
        );
      }
    }
    return done;
  }

  /** Pages of the group's transitive user members, following `@odata.nextLink` to the end. */
  async *groupUserPages(groupId: string): AsyncGenerator<GraphUser[]> {
    for await (const page of this.groupMemberPages(groupId)) yield page.users;
  }

  /**
   * The same pages, each with the group's member count as Graph gave it
   * (`@odata.count`, on the first page only: null on later pages, and when
   * Graph left it out). It counts the group's transitive user members, so
   * one group's count is a lower bound of the users a sync of it stages.
   * The next page is asked for as soon as this one's link is read, before
   * this one is validated and handed on, so Graph serves it while the caller
   * stores this one: a page in hand and the next in flight, whatever the
   * group's size.
   */
  async *groupMemberPages(groupId: string): AsyncGenerator<GroupMemberPage> {
    let body: Promise<unknown> | undefined = this.getMembersBody(
      `/groups/${encodeURIComponent(groupId)}/transitiveMembers/microsoft.graph.user` +
        `?$select=${USER_SELECT}&$top=999&$count=true`,
    );
    while (body) {
      const { next, ...page } = await this.takeMembersPage(body);
      body = next;
      yield page;
    }
  }

  /** A members page as Graph sent it; rejections are also left for whoever awaits it. */
  private getMembersBody(pathOrUrl: string): Promise<unknown> {
    // The OData cast with $count is an advanced query: Graph wants both.
    const body = this.get(pathOrUrl, { ConsistencyLevel: 'eventual' });
    // Asked for ahead: if the caller stops first, nobody awaits it.
    body.catch(() => undefined);
    return body;
  }

  /**
   * One members page: its next page asked for, then its users validated.
   * Its own function so the raw body is only ever referenced from a frame
   * that is gone once the page is parsed: the generator above suspends
   * between pages, and whatever its frame still referenced would live
   * through the next page's fetch.
   */
  private async takeMembersPage(
    body: Promise<unknown>,
  ): Promise<GroupMemberPage & { next: Promise<unknown> | undefined }> {
    const raw = await body;
    const link = (raw as { '@odata.nextLink'?: unknown } | null)?.['@odata.nextLink'];
    let next: Promise<unknown> | undefined;
    if (typeof link === 'string') {
      // Follow only links back to the Graph host we were configured with.
      if (!link.startsWith(`${this.origin}/`)) {
        throw new GraphRequestError(
          0,
          null,
          null,
          false,
          'Microsoft Graph returned a nextLink to another host',
        );
      }
      next = this.getMembersBody(link);
    }
    const page = graphUsersPageSchema.parse(raw);
    return { users: page.value, count: page['@odata.count'] ?? null, next };
  }

  private get(pathOrUrl: string, headers: Record<string, string>): Promise<unknown> {
    return this.send('GET', pathOrUrl, headers);
  }

  /** One Graph request with its retries; a POST only ever carries a `$batch` of GETs. */
  private async send(
    method: 'GET' | 'POST',
    pathOrUrl: string,
    headers: Record<string, string>,
    body?: unknown,
  ): Promise<unknown> {
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
        const request = this.client
          .api(pathOrUrl)
          .headers(headers)
          .middlewareOptions([
            new AuthenticationHandlerOptions({ getAccessToken: async () => token }),
          ])
          .option('signal', abort.signal);
        return await (method === 'POST' ? request.post(body) : request.get());
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

function groupPath(groupId: string): string {
  return `/groups/${encodeURIComponent(groupId)}?$select=id,displayName`;
}

/** A failed response inside a batch, as the error the same request sent alone would throw. */
function innerRequestError(response: {
  status: number;
  headers?: Record<string, string> | undefined;
  body?: unknown;
}): GraphRequestError {
  const { status } = response;
  const body = graphErrorBodySchema.safeParse(response.body);
  const code = body.success ? (body.data.error.code ?? null) : null;
  const retryAfter = Object.entries(response.headers ?? {}).find(
    ([name]) => name.toLowerCase() === 'retry-after',
  )?.[1];
  return new GraphRequestError(
    status,
    code,
    parseRetryAfter(retryAfter),
    RETRYABLE_STATUS.has(status),
    `Microsoft Graph answered HTTP ${status}${code ? ` (${code})` : ''}`,
  );
}
