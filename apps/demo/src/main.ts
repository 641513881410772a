/**
 * `pnpm demo`: the whole service on embedded defaults, on this machine only.
 * A local Redis (the one on 6379 if it answers, else a spawned redis-server),
 * the Entra ID / Graph simulator with its demo tenants, an SMTP capture that
 * prints what it receives, all three roles in one process, and one demo org
 * per demo tenant, already configured.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoDefaults, loadEnv } from '@pinnacle/config';
import { integrationSettingsInputSchema } from '@pinnacle/domain';
import { demoTenants, startSimulator, trustSimulatorCa } from '@pinnacle/entra-simulator';
import { createLogger } from '@pinnacle/logging';
import { createStores } from '@pinnacle/redis-store';
import { startAllRoles } from '@pinnacle/standalone';
import { pingRedis, startRedisServer, startSmtpSink } from '@pinnacle/testing';
import { Redis } from 'ioredis';
import { SignJWT } from 'jose';

const out = (line = '') => process.stdout.write(`${line}\n`);

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'pinnacle-demo-'));
  let redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  let ownRedis: Awaited<ReturnType<typeof startRedisServer>> | null = null;
  if (!(await pingRedis(redisUrl))) {
    ownRedis = await startRedisServer({ appendonly: false });
    redisUrl = ownRedis.url;
  }
  // A prefix of its own, so the demo never touches anything else in that Redis.
  const prefix = `entra-sync-demo-${randomBytes(3).toString('hex')}`;

  const sim = await startSimulator({
    caPath: join(dir, 'ca.pem'),
    tenants: demoTenants().map((d) => d.tenant),
  });
  trustSimulatorCa(sim.caCertPem);
  const smtp = await startSmtpSink();

  const env = loadEnv(
    {
      // Demo mode is refused with NODE_ENV=production; this is a laptop.
      NODE_ENV: 'development',
      DEMO_MODE: 'true',
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefix,
      PORT: process.env.PORT ?? '3000',
      ENTRA_AUTHORITY_HOST: sim.authorityHost,
      GRAPH_BASE_URL: sim.graphBaseUrl,
      SMTP_URL: smtp.url,
      MAIL_FROM: 'Pinnacle Series <no-reply@pinnacle.example>',
      PORTAL_BASE_URL: process.env.PORTAL_BASE_URL ?? 'http://localhost:3000',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    },
    'all',
  );
  const logger = createLogger({ name: 'demo', level: env.LOG_LEVEL });
  const roles = await startAllRoles(env, logger);

  // One org per demo tenant, configured as an admin would.
  const redis = new Redis(redisUrl);
  const stores = createStores(redis, prefix, env.SECRET_ENCRYPTION_KEY);
  const orgs: string[] = [];
  for (const demo of demoTenants()) {
    const orgId = `demo-${demo.key}`;
    orgs.push(orgId);
    await stores.integrations.put(
      orgId,
      integrationSettingsInputSchema.parse({
        tenantId: demo.credentials.tenantId,
        clientId: demo.credentials.clientId,
        clientSecret: demo.credentials.clientSecret,
        clientSecretExpiresAt: demo.credentials.secretExpiresAt,
        groupIds: demo.groups.slice(0, 2).map((g) => g.id),
        schedule: { enabled: true, every: '6h' },
        notifications: {
          email: { enabled: true, recipients: [`admin@${demo.credentials.domain}`] },
        },
      }),
    );
  }
  const token = await new SignJWT({ sub: 'demo-admin', org: '*', role: 'admin' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime('12h')
    .sign(new TextEncoder().encode(env.API_AUTH_SECRET));
  const api = `http://127.0.0.1:${roles.apiPort}`;

  out('Pinnacle Series — Entra ID sync service demo');
  out(`  API            ${api}/api/v1   (OpenAPI: ${api}/openapi.json)`);
  out(
    `  Bull Board     ${api}/admin/queues   (user ${demoDefaults.OPS_USER}, password ${demoDefaults.OPS_PASSWORD})`,
  );
  out(
    `  Simulator      ${sim.url}   Redis ${redisUrl} (prefix ${prefix})   SMTP capture ${smtp.url}`,
  );
  out(`  Demo orgs      ${orgs.join(', ')}`);
  out();
  out('  export TOKEN=' + token);
  out(`  curl -s -X POST -H "authorization: Bearer $TOKEN" ${api}/api/v1/orgs/demo-contoso/syncs`);
  out(`  curl -s -H "authorization: Bearer $TOKEN" ${api}/api/v1/orgs/demo-contoso/sync-overview`);
  out(
    `  curl -s -X POST -H "authorization: Bearer $TOKEN" ${api}/api/v1/orgs/demo-fabrikam/syncs   # expired secret`,
  );
  out(`  curl -s -H "authorization: Bearer $TOKEN" ${api}/api/v1/orgs/demo-fabrikam/notifications`);
  out();
  out('Emails the notifier sends are printed here. Ctrl-C stops everything.');

  let printed = 0;
  const mailTimer = setInterval(() => {
    const mails = smtp.messages();
    for (; printed < mails.length; printed++) {
      const m = mails[printed]!;
      out(`  ✉ to ${m.envelope.to.join(', ')}: ${m.parsed.subject ?? '(no subject)'}`);
    }
  }, 500);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(mailTimer);
    await roles.close();
    await redis.quit();
    await smtp.stop();
    await sim.close();
    await ownRedis?.stop();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

await main();
