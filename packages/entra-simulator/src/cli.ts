import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoTenants } from './demo.js';
import { startSimulator } from './server.js';

/** The monorepo root: the nearest folder up from here with pnpm-workspace.yaml. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

function fail(message: string): never {
  process.stderr.write(`entra-simulator: ${message}\n`);
  process.exit(1);
}

const portText = process.env.SIM_PORT ?? '8443';
if (!/^\d+$/.test(portText) || Number(portText) > 65535)
  fail(`SIM_PORT must be a port number, got "${portText}"`);
const host = process.env.SIM_HOST ?? '127.0.0.1';
const caPath = resolve(repoRoot(), process.env.SIM_CA_PATH ?? '.sim/ca.pem');

const demos = demoTenants();
const sim = await startSimulator({
  host,
  port: Number(portText),
  caPath,
  tenants: demos.map((d) => d.tenant),
}).catch((err: unknown) =>
  fail(`could not start: ${err instanceof Error ? err.message : String(err)}`),
);

const lines: string[] = [
  `Entra ID + Microsoft Graph simulator listening on ${sim.url}`,
  `  CA certificate   ${sim.caPath}`,
  `  for the service  ENTRA_AUTHORITY_HOST=${sim.authorityHost} GRAPH_BASE_URL=${sim.graphBaseUrl} NODE_EXTRA_CA_CERTS=${sim.caPath}`,
  `  control API      ${sim.url}/_sim/health, /_sim/settings, /_sim/tenants, /_sim/requests, /_sim/counters`,
  '',
];
for (const d of demos) {
  const c = d.credentials;
  const name = 'displayName' in d.tenant ? d.tenant.displayName : d.key;
  lines.push(`${name}: ${d.description}`);
  lines.push(`  tenant ID      ${c.tenantId}`);
  lines.push(`  domain         ${c.domain}`);
  lines.push(`  client ID      ${c.clientId}`);
  lines.push(
    `  client secret  ${c.clientSecret}   (secret ID ${c.secretKeyId}, expires ${c.secretExpiresAt})`,
  );
  d.groups.forEach((g, i) => {
    lines.push(`  ${i === 0 ? 'groups        ' : '              '} ${g.id}  ${g.displayName}`);
  });
  lines.push('');
}
process.stdout.write(`${lines.join('\n')}\n`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`entra-simulator: ${signal}, shutting down\n`);
    sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
