/**
 * `pnpm demo`: the whole service on embedded defaults, on this machine only.
 * A local Redis (the one on 6379 if it answers, else a spawned redis-server),
 * the Entra ID / Graph simulator with its demo tenants, an SMTP capture that
 * prints what it receives, all three roles in one process, and one demo org
 * per demo tenant, put in the state its tenant is for (healthy, expired
 * secret, secret expiring, missing consent, deleted group, never synced).
 *
 * Its Redis data lives under one prefix (DEMO_PREFIX, default
 * `entra-sync-demo`), cleared when the demo starts and again when it stops,
 * so demo after demo leaves nothing behind.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoDefaults, loadEnv } from '@pinnacle/config';
import { demoTenants, startSimulator, trustSimulatorCa } from '@pinnacle/entra-simulator';
import { createLogger } from '@pinnacle/logging';
import { startAllRoles } from '@pinnacle/standalone';
import { getFreePort, pingRedis, startRedisServer, startSmtpSink } from '@pinnacle/testing';
import { Redis } from 'ioredis';
import { SignJWT } from 'jose';
import { setUpDemoOrgs } from './demo-orgs.js';
import { clearPrefix, demoPrefix } from './demo-prefix.js';

const out = (line = '') => process.stdout.write(`${line}\n`);
const CONSOLE_INDEX = fileURLToPath(new URL('../../console/dist/index.html', import.meta.url));

/** The console's static build, made once if this checkout has none (the api serves it). */
function ensureConsoleBuilt(): void {
  if (existsSync(CONSOLE_INDEX)) return;
  out('Building the admin console (first run only)…');
  const built = spawnSync('pnpm', ['--filter', '@pinnacle/console', 'build'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (built.status !== 0) out('  the console could not be built: /console/ will answer 503');
}

async function main() {
  const prefix = demoPrefix(process.env.DEMO_PREFIX);
  ensureConsoleBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'pinnacle-demo-'));
  let redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  let ownRedis: Awaited<ReturnType<typeof startRedisServer>> | null = null;
  if (!(await pingRedis(redisUrl))) {
    ownRedis = await startRedisServer({ appendonly: false });
    redisUrl = ownRedis.url;
  }
  const redis = new Redis(redisUrl);
  // Whatever an earlier demo left (one killed before it could clean up).
  await clearPrefix(redis, prefix);

  const sim = await startSimulator({
    caPath: join(dir, 'ca.pem'),
    tenants: demoTenants().map((d) => d.tenant),
  });
  trustSimulatorCa(sim.caCertPem);
  const smtp = await startSmtpSink();

  const port = process.env.PORT === '0' ? await getFreePort() : Number(process.env.PORT ?? 3000);
  const api = `http://127.0.0.1:${port}`;
  const env = loadEnv(
    {
      // Demo mode is refused with NODE_ENV=production; this is a laptop.
      NODE_ENV: 'development',
      DEMO_MODE: 'true',
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefix,
      PORT: String(port),
      ENTRA_AUTHORITY_HOST: sim.authorityHost,
      GRAPH_BASE_URL: sim.graphBaseUrl,
      SMTP_URL: smtp.url,
      MAIL_FROM: 'Pinnacle Series <no-reply@pinnacle.example>',
      // No portal here: the emails' links open the console.
      PORTAL_BASE_URL: process.env.PORTAL_BASE_URL ?? `${api}/console`,
      // The demo's own lines say what happens; its failures are on purpose.
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
    },
    'all',
  );
  const logger = createLogger({ name: 'demo', level: env.LOG_LEVEL });
  const roles = await startAllRoles(env, logger);

  let stopping = false;
  let mailTimer: NodeJS.Timeout | undefined;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    clearInterval(mailTimer);
    out('Stopping the demo…');
    await roles.close().catch(() => {});
    await smtp.stop().catch(() => {});
    await sim.close().catch(() => {});
    // The roles are closed: nothing writes under the prefix any more.
    const removed = await clearPrefix(redis, prefix).catch(() => -1);
    out(
      removed >= 0
        ? `Removed the demo's ${removed} Redis keys (prefix ${prefix}).`
        : `Could not remove the demo's Redis keys (prefix ${prefix}).`,
    );
    await redis.quit().catch(() => {});
    await ownRedis?.stop();
    rmSync(dir, { recursive: true, force: true });
    out('Demo stopped.');
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  const sign = (org: string) =>
    new SignJWT({ sub: 'demo-admin', org, role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .setExpirationTime('12h')
      .sign(new TextEncoder().encode(env.API_AUTH_SECRET));
  const portalToken = await sign('*');
  const demos = demoTenants();

  // The console links first: one sign-in link per demo org, ready to open.
  out('Pinnacle Series — Entra ID sync service demo');
  out();
  out('Admin console (sign-in links, valid 12 hours):');
  for (const demo of demos) {
    const orgId = `demo-${demo.key}`;
    out(`  ${orgId.padEnd(15)} ${demo.description}`);
    out(`    ${api}/console/orgs/${orgId}#token=${await sign(orgId)}`);
  }
  out(`  every org (the portal's "*" token)`);
  out(`    ${api}/console/#token=${portalToken}`);
  out(
    `  fleet view     ${api}/console/fleet   (ops user ${demoDefaults.OPS_USER}, password ${demoDefaults.OPS_PASSWORD})`,
  );
  out();
  out(`  API            ${api}/api/v1   (OpenAPI: ${api}/openapi.json)`);
  out(
    `  Bull Board     ${api}/admin/queues   (user ${demoDefaults.OPS_USER}, password ${demoDefaults.OPS_PASSWORD})`,
  );
  out(
    `  Simulator      ${sim.url}   Redis ${redisUrl} (prefix ${prefix})   SMTP capture ${smtp.url}`,
  );
  out();
  out(`  export TOKEN=${portalToken}`);
  out(`  curl -s -H "authorization: Bearer $TOKEN" ${api}/api/v1/orgs/demo-contoso/sync-overview`);
  out(
    `  curl -s -X POST -H "authorization: Bearer $TOKEN" ${api}/api/v1/orgs/demo-woodgrove/syncs`,
  );
  out();
  out('Emails the notifier sends are printed here. Ctrl-C stops everything and removes its data.');

  let printed = 0;
  mailTimer = setInterval(() => {
    const mails = smtp.messages();
    for (; printed < mails.length; printed++) {
      const m = mails[printed];
      if (m) out(`  ✉ to ${m.envelope.to.join(', ')}: ${m.parsed.subject ?? '(no subject)'}`);
    }
  }, 500);

  // Each demo org through the API, as an admin would, then into its state.
  try {
    await setUpDemoOrgs({
      api,
      token: portalToken,
      sim,
      demos,
      report: (line) => out(`  ${line}`),
    });
    out('Every demo org is in its state.');
  } catch (error) {
    out(
      `Setting up the demo orgs failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

await main();
