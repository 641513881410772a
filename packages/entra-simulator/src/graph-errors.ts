/** Per-request correlation: Graph's request-id and the echoed client-request-id. */
export interface RequestIds {
  requestId: string;
  clientRequestId: string;
}

export interface GraphResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/**
 * Graph's error body: { error: { code, message, innerError: { date,
 * request-id, client-request-id } } }, per
 * https://learn.microsoft.com/en-us/graph/errors and the real responses
 * quoted for each code below.
 */
export function graphError(
  status: number,
  code: string,
  message: string,
  ids: RequestIds,
  now: Date,
  headers: Record<string, string> = {},
): GraphResponse {
  return {
    status,
    headers,
    body: {
      error: {
        code,
        message,
        innerError: {
          // Graph sends the date without fractional seconds or zone: "2022-03-17T16:05:41".
          date: now.toISOString().slice(0, 19),
          'request-id': ids.requestId,
          'client-request-id': ids.clientRequestId,
        },
      },
    },
  };
}

export const graphErrors = {
  // https://github.com/microsoftgraph/msgraph-sample-reactspa/issues/54
  emptyToken: (ids: RequestIds, now: Date, authHeader: string) =>
    graphError(401, 'InvalidAuthenticationToken', 'Access token is empty.', ids, now, {
      'www-authenticate': authHeader,
    }),
  // https://github.com/microsoftgraph/msgraph-training-dotnet/issues/31
  unparsableToken: (ids: RequestIds, now: Date, authHeader: string) =>
    graphError(
      401,
      'InvalidAuthenticationToken',
      'CompactToken parsing failed with error code: 80049217',
      ids,
      now,
      { 'www-authenticate': authHeader },
    ),
  // https://github.com/salvoravida/react-adal/issues/66 and
  // https://github.com/microsoftgraph/microsoft-graph-docs-contrib/issues/2362
  invalidToken: (ids: RequestIds, now: Date, authHeader: string, detail = '') =>
    graphError(
      401,
      'InvalidAuthenticationToken',
      `Access token validation failure.${detail ? ` ${detail}` : ''}`,
      ids,
      now,
      { 'www-authenticate': authHeader },
    ),
  // https://github.com/s1t5/mail-archiver/issues/267
  expiredToken: (ids: RequestIds, now: Date, authHeader: string) =>
    graphError(
      401,
      'InvalidAuthenticationToken',
      'Lifetime validation failed, the token is expired.',
      ids,
      now,
      { 'www-authenticate': authHeader },
    ),
  // https://github.com/microsofthackathons/tdi/issues/24
  notYetValidToken: (ids: RequestIds, now: Date, authHeader: string) =>
    graphError(
      401,
      'InvalidAuthenticationToken',
      'Access token has expired or is not yet valid.',
      ids,
      now,
      { 'www-authenticate': authHeader },
    ),
  // https://learn.microsoft.com/en-us/graph/api/group-get (403 for missing permissions);
  // message as Graph returns it for directory objects.
  forbidden: (ids: RequestIds, now: Date) =>
    graphError(
      403,
      'Authorization_RequestDenied',
      'Insufficient privileges to complete the operation.',
      ids,
      now,
    ),
  // https://github.com/microsoftgraph/microsoft-graph-docs/issues/8637
  notFound: (id: string, ids: RequestIds, now: Date) =>
    graphError(
      404,
      'Request_ResourceNotFound',
      `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
      ids,
      now,
    ),
  // https://github.com/OfficeDev/microsoft-teams-apps-incentives/issues/53
  invalidId: (id: string, ids: RequestIds, now: Date) =>
    graphError(400, 'Request_BadRequest', `Invalid object identifier '${id}'.`, ids, now),
  // Real response quoted in https://github.com/turbot/steampipe-plugin-azuread
  // (azuread/table_azuread_group.go): "unexpected status 400 with OData error:
  // Request_UnsupportedQuery: Invalid page size specified: '1000'. Must be between 1 and 999 inclusive."
  invalidPageSize: (top: string, ids: RequestIds, now: Date) =>
    graphError(
      400,
      'Request_UnsupportedQuery',
      `Invalid page size specified: '${top}'. Must be between 1 and 999 inclusive.`,
      ids,
      now,
    ),
  unknownProperty: (property: string, type: string, ids: RequestIds, now: Date) =>
    graphError(
      400,
      'Request_BadRequest',
      `Could not find a property named '${property}' on type '${type}'.`,
      ids,
      now,
    ),
  // Graph's OData layer for an unknown path segment.
  unknownSegment: (segment: string, ids: RequestIds, now: Date) =>
    graphError(400, 'BadRequest', `Resource not found for the segment '${segment}'.`, ids, now),
  // https://github.com/microsoftgraph/microsoft-graph-docs/issues/119 (directory service wording)
  methodNotAllowed: (ids: RequestIds, now: Date) =>
    graphError(
      405,
      'Request_BadRequest',
      'Specified HTTP method is not allowed for the request target.',
      ids,
      now,
      { allow: 'GET, HEAD' },
    ),
  // Directory (AAD) throttling as Graph returns it, e.g.
  // https://github.com/dafthack/GraphRunner/pull/11; Retry-After per
  // https://learn.microsoft.com/en-us/graph/throttling
  throttled: (appId: string, retryAfter: number, ids: RequestIds, now: Date) =>
    graphError(
      429,
      'TooManyRequests',
      `Too many requests from Identifier:${appId} under category:throttle.aad.ags.appId.large. Please try again later.`,
      ids,
      now,
      { 'retry-after': String(retryAfter) },
    ),
  // Code per the table in https://learn.microsoft.com/en-us/graph/errors
  unavailable: (retryAfter: number, ids: RequestIds, now: Date) =>
    graphError(
      503,
      'serviceNotAvailable',
      'The service is temporarily unavailable. Please retry after the interval given in the Retry-After header.',
      ids,
      now,
      { 'retry-after': String(retryAfter) },
    ),
  serverError: (ids: RequestIds, now: Date) =>
    graphError(500, 'generalException', 'An unspecified error has occurred.', ids, now),
  // The graphError fault: any status, with Graph's body when given a code;
  // without one, a gateway's HTML page (no Graph error code at all).
  injected: (
    f: { status: number; code: string | null; retryAfterSeconds: number | null },
    ids: RequestIds,
    now: Date,
  ): GraphResponse => {
    const headers: Record<string, string> =
      f.retryAfterSeconds !== null ? { 'retry-after': String(f.retryAfterSeconds) } : {};
    if (f.code !== null) {
      return graphError(
        f.status,
        f.code,
        `The Entra simulator was asked to answer ${f.status} (graphError fault).`,
        ids,
        now,
        headers,
      );
    }
    return {
      status: f.status,
      headers: { ...headers, 'content-type': 'text/html; charset=utf-8' },
      body: `<html><body><h1>${f.status}</h1><p>Entra simulator: graphError fault without a Graph code.</p></body></html>`,
    };
  },
  // Not Microsoft's: the simulator says plainly what it does not emulate,
  // rather than pretend an unsupported query worked.
  notSimulated: (what: string, ids: RequestIds, now: Date) =>
    graphError(
      400,
      'Request_UnsupportedQuery',
      `The Entra simulator does not implement ${what}.`,
      ids,
      now,
    ),
  // $search without the advanced-query header; real response quoted in
  // https://github.com/microsoftgraph/microsoft-graph-docs-contrib/issues/3495
  searchNeedsEventual: (ids: RequestIds, now: Date) =>
    graphError(
      400,
      'Request_UnsupportedQuery',
      "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
      ids,
      now,
    ),
  invalidSkipToken: (ids: RequestIds, now: Date) =>
    graphError(400, 'Request_BadRequest', 'The specified skip token is invalid.', ids, now),
};
