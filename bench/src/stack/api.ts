import { getFreePort } from '@pinnacle/testing';
import { SignJWT } from 'jose';
import { RoleProcess } from './roles.js';
import type { Stack } from './stack.js';

export interface ApiProcess {
  role: RoleProcess;
  /** e.g. http://127.0.0.1:41234 */
  url: string;
}

/** The api role alone, from its build, on a free port. */
export async function startApi(
  stack: Stack,
  extra: Record<string, string> = {},
): Promise<ApiProcess> {
  const port = await getFreePort();
  const role = await RoleProcess.start(
    'api',
    await stack.roleEnv({ PORT: String(port), ...extra }),
  );
  return { role, url: `http://127.0.0.1:${port}` };
}

/** A bearer token as the portal mints them: an org admin's, or the portal backend's (`org: "*"`). */
export function bearerToken(stack: Stack, org: string): Promise<string> {
  return new SignJWT({ sub: 'bench@portal', org, role: 'admin' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(new TextEncoder().encode(stack.apiAuthSecret));
}
