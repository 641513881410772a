import createClient from 'openapi-fetch';
import { ApiError, failureOf, type RateLimit } from './errors.js';
import type { paths } from './schema.gen.js';

export type ApiClient = ReturnType<typeof createClient<paths>>;

/**
 * The typed client of /api/v1 (paths and bodies from the OpenAPI document).
 * Every request carries the held bearer token; a 401 tells the session,
 * which returns to sign-in with the reason.
 */
export function createApiClient(options: {
  baseUrl: string;
  token: () => string | null;
  onUnauthorized: () => void;
  /** A 429 of any call: which limit, and for how long (seconds; null when unsaid). */
  onRateLimited?: (limit: RateLimit | null, retryAfterSeconds: number | null) => void;
}): ApiClient {
  const client = createClient<paths>({ baseUrl: options.baseUrl });
  client.use({
    onRequest({ request }) {
      const token = options.token();
      if (token) request.headers.set('Authorization', `Bearer ${token}`);
      return request;
    },
    async onResponse({ response }) {
      if (response.status === 401) options.onUnauthorized();
      if (response.status === 429 && options.onRateLimited) {
        const body: unknown = await response
          .clone()
          .json()
          .catch(() => null);
        const failure = failureOf(429, body, response.headers.get('Retry-After'));
        if (failure.kind === 'rate_limited') {
          options.onRateLimited(failure.limit, failure.retryAfterSeconds);
        }
      }
      return response;
    },
  });
  return client;
}

/**
 * The answer of a call, or an ApiError saying why not. openapi-fetch gives
 * `{ data, error, response }` and throws only when the network fails.
 */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch {
    throw new ApiError({ kind: 'network' });
  }
  const { data, error, response } = result;
  if (!response.ok || data === undefined) {
    throw new ApiError(failureOf(response.status, error, response.headers.get('Retry-After')));
  }
  return data;
}

/** The same for a call answered 204 (no body): resolves when it succeeded. */
export async function unwrapNoContent(
  call: Promise<{ error?: unknown; response: Response }>,
): Promise<void> {
  let result: { error?: unknown; response: Response };
  try {
    result = await call;
  } catch {
    throw new ApiError({ kind: 'network' });
  }
  const { error, response } = result;
  if (!response.ok) {
    throw new ApiError(failureOf(response.status, error, response.headers.get('Retry-After')));
  }
}
