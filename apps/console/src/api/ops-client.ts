import createClient from 'openapi-fetch';
import type { paths } from './schema.gen.js';

/** The ops user and password (OPS_USER / OPS_PASSWORD), held in memory only. */
export interface OpsCredentials {
  user: string;
  password: string;
}

/** `Basic base64(user:password)`, UTF-8 (btoa alone refuses non-Latin-1 text). */
export function basicAuthorization({ user, password }: OpsCredentials): string {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return `Basic ${btoa(binary)}`;
}

export type OpsClient = ReturnType<typeof createClient<paths>>;

/**
 * The typed client of the ops endpoints (`/ops/orgs`), with HTTP Basic
 * credentials on every request. `credentials: 'omit'`: no cookies go, and
 * a refused login comes back as a 401 for the page to show instead of the
 * browser's own login prompt (browsers prompt only for requests that
 * include credentials).
 */
export function createOpsClient(baseUrl: string, credentials: OpsCredentials): OpsClient {
  const client = createClient<paths>({ baseUrl, credentials: 'omit' });
  client.use({
    onRequest({ request }) {
      request.headers.set('Authorization', basicAuthorization(credentials));
      return request;
    },
  });
  return client;
}
