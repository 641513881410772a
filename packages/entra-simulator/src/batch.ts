import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import { type GraphResponse, graphError, type RequestIds } from './graph-errors.js';

/**
 * Microsoft Graph JSON batching (`POST /v1.0/$batch`), as
 * https://learn.microsoft.com/en-us/graph/json-batching describes it: up to
 * 20 requests, each `{ id, method, url (relative to the version), headers? }`;
 * the batch answers 200 once it parses, and each response carries its own
 * `status`, `headers` and `body`, in any order (the `id` correlates them).
 * Throttling applies to each request inside as if it were sent alone
 * (https://learn.microsoft.com/en-us/graph/throttling): a throttled one is a
 * 429 response with its own `Retry-After`.
 */
export const MAX_BATCH_REQUESTS = 20;

const batchRequestSchema = z.object({
  requests: z
    .array(
      z.object({
        id: z.string().min(1),
        method: z.string().min(1),
        url: z.string().min(1),
        headers: z.record(z.string(), z.string()).optional(),
        body: z.unknown().optional(),
        dependsOn: z.array(z.string()).optional(),
      }),
    )
    .min(1),
});

export type BatchedRequest = z.infer<typeof batchRequestSchema>['requests'][number];

/** One request of a batch, ready to serve: method upper-cased, URL resolved under /v1.0. */
export interface InnerRequest {
  id: string;
  method: string;
  /** As logged: /v1.0 plus the request's URL. */
  path: string;
  pathname: string;
  search: URLSearchParams;
  headers: IncomingHttpHeaders;
}

const badRequest = (message: string, ids: RequestIds, now: Date): GraphResponse =>
  graphError(400, 'BadRequest', message, ids, now);

/**
 * The batch's requests, or the 400 Graph answers a batch it cannot take as a
 * whole (the simulator's wording: Microsoft documents the status, not the text).
 */
export function parseBatch(
  text: string,
  origin: string,
  ids: RequestIds,
  now: Date,
): { ok: true; requests: InnerRequest[] } | { ok: false; response: GraphResponse } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, response: badRequest('Invalid batch payload format.', ids, now) };
  }
  const parsed = batchRequestSchema.safeParse(json);
  if (!parsed.success) {
    return { ok: false, response: badRequest('Invalid batch payload format.', ids, now) };
  }
  const { requests } = parsed.data;
  if (requests.length > MAX_BATCH_REQUESTS) {
    return {
      ok: false,
      response: badRequest(
        `The batch holds ${requests.length} requests; the limit is ${MAX_BATCH_REQUESTS}.`,
        ids,
        now,
      ),
    };
  }
  const seen = new Set<string>();
  const inner: InnerRequest[] = [];
  for (const r of requests) {
    const key = r.id.toLowerCase();
    if (seen.has(key)) {
      return {
        ok: false,
        response: badRequest(`The batch holds request ID '${r.id}' more than once.`, ids, now),
      };
    }
    seen.add(key);
    if (r.dependsOn !== undefined && r.dependsOn.length > 0) {
      return {
        ok: false,
        response: graphError(
          400,
          'Request_UnsupportedQuery',
          'The Entra simulator does not implement dependsOn in a batch.',
          ids,
          now,
        ),
      };
    }
    // Relative to the version: "/groups/{id}" or "groups/{id}".
    if (/^[a-z][a-z0-9+.-]*:/i.test(r.url)) {
      return {
        ok: false,
        response: badRequest(`The batch request URL '${r.url}' must be relative.`, ids, now),
      };
    }
    const path = `/v1.0${r.url.startsWith('/') ? '' : '/'}${r.url}`;
    const url = new URL(path, origin);
    const headers: IncomingHttpHeaders = {};
    for (const [name, value] of Object.entries(r.headers ?? {})) {
      headers[name.toLowerCase()] = value;
    }
    inner.push({
      id: r.id,
      method: r.method.toUpperCase(),
      path,
      pathname: decodePath(url.pathname),
      search: url.searchParams,
      headers,
    });
  }
  return { ok: true, requests: inner };
}

function decodePath(pathname: string): string {
  try {
    return decodeURIComponent(pathname);
  } catch {
    return pathname;
  }
}

/** Header names in a batch's responses as Graph writes them: "Retry-After", "Content-Type". */
function headerName(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('-');
}

/** One response of a batch, as it goes into `responses`. */
export function batchResponse(id: string, response: GraphResponse) {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) headers[headerName(name)] = value;
  return { id, status: response.status, headers, body: response.body };
}
