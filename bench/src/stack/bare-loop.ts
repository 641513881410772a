/**
 * The baseline of the sync figures: the same requests the worker's sync
 * sends, at the same concurrency, with nothing done with the answers but
 * parsing them. Metadata discovery and the token request (as MSAL sends
 * them for an authority that is not Microsoft's), the group checks as JSON
 * `$batch` requests of up to 20, then each group's members pages to the end,
 * `concurrency` groups at once. Runs in a process of its own
 * (bare-loop-main.ts) so its CPU time is its own.
 */

export interface BareSyncOptions {
  authorityHost: string;
  graphBaseUrl: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  groupIds: string[];
  concurrency: number;
}

export interface BareSyncResult {
  wallMs: number;
  /** This process's CPU over the loop alone. */
  cpuMs: number;
  /** HTTP requests sent (discovery, token, batches, pages). */
  requests: number;
  users: number;
  /** This process's peak RSS. */
  peakRssMb: number;
}

const USER_SELECT = 'id,displayName,mail,userPrincipalName,accountEnabled';

async function json(res: Response, what: string): Promise<unknown> {
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

export async function bareSync(o: BareSyncOptions): Promise<BareSyncResult> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  let requests = 0;
  let users = 0;

  await json(
    await fetch(`${o.authorityHost}/${o.tenantId}/v2.0/.well-known/openid-configuration`),
    'discovery',
  );
  const token = (await json(
    await fetch(`${o.authorityHost}/${o.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: o.clientId,
        client_secret: o.clientSecret,
        scope: 'https://graph.microsoft.com/.default',
      }),
    }),
    'token',
  )) as { access_token: string };
  requests += 2;
  const authorization = `Bearer ${token.access_token}`;

  for (let i = 0; i < o.groupIds.length; i += 20) {
    const batch = (await json(
      await fetch(`${o.graphBaseUrl}/v1.0/$batch`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify({
          requests: o.groupIds.slice(i, i + 20).map((id, n) => ({
            id: String(n),
            method: 'GET',
            url: `/groups/${id}?$select=id,displayName`,
          })),
        }),
      }),
      'group checks',
    )) as { responses: { status: number }[] };
    requests++;
    if (batch.responses.some((r) => r.status !== 200)) throw new Error('a group check failed');
  }

  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(o.concurrency, o.groupIds.length) }, async () => {
      while (next < o.groupIds.length) {
        const groupId = o.groupIds[next++] as string;
        let url: string | undefined =
          `${o.graphBaseUrl}/v1.0/groups/${groupId}/transitiveMembers/microsoft.graph.user` +
          `?$select=${USER_SELECT}&$top=999&$count=true`;
        while (url) {
          const page = (await json(
            await fetch(url, { headers: { authorization, consistencylevel: 'eventual' } }),
            'members page',
          )) as { value: unknown[]; '@odata.nextLink'?: string };
          requests++;
          users += page.value.length;
          url = page['@odata.nextLink'];
        }
      }
    }),
  );

  const used = process.cpuUsage(cpu);
  return {
    wallMs: performance.now() - start,
    cpuMs: (used.user + used.system) / 1000,
    requests,
    users,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 102.4) / 10,
  };
}
