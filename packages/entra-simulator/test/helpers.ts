import { ClientSecretCredential } from '@azure/identity';
import { Client, type Options } from '@microsoft/microsoft-graph-client';
import { type Simulator, trustSimulatorCa } from '../src/index.js';

export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';

/** How the service calls Entra: custom authority, instance discovery off. */
export function credential(
  sim: Simulator,
  tenant: string,
  clientId: string,
  secret: string,
): ClientSecretCredential {
  return new ClientSecretCredential(tenant, clientId, secret, {
    authorityHost: sim.authorityHost,
    disableInstanceDiscovery: true,
  });
}

/**
 * Where a ClientSecretCredential failure carries Entra's answer: the thrown
 * AuthenticationRequiredError wraps MSAL's ServerError as `cause`, with the
 * OAuth error in `errorCode` and error_codes[0] in `errorNo`.
 */
export function entraFailure(err: unknown): { error: string; code: number; status: number } {
  const cause = (err as { cause?: { errorCode?: unknown; errorNo?: unknown; status?: unknown } })
    .cause;
  return {
    error: String(cause?.errorCode),
    code: Number(cause?.errorNo),
    status: Number(cause?.status),
  };
}

export async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

/** The Graph JS client pointed at the simulator, with a fixed token. */
export function graphClient(sim: Simulator, token: string, options: Partial<Options> = {}): Client {
  return Client.init({
    authProvider: (done) => done(null, token),
    baseUrl: sim.graphBaseUrl,
    // The client only attaches the token to Graph hosts or these (host names, no port).
    customHosts: new Set([new URL(sim.graphBaseUrl).hostname]),
    ...options,
  });
}

/** The Graph client's error for a failed call. */
export interface GraphClientError {
  statusCode: number;
  code: string | null;
  message: string;
  requestId: string | null;
  headers?: Headers;
  body?: string;
}

export function decodeJwt(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
}

export function trust(sim: Simulator): void {
  trustSimulatorCa(sim.caCertPem);
}
