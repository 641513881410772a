/**
 * Sync benchmark (issue: worker memory and wall time).
 *
 * Runs the real worker process against the simulator (in its own process)
 * and a real Redis, for a 10,000- and a 100,000-user tenant. Reports:
 * - the worker's peak RSS (VmHWM) per size, and its growth from 10k to 100k;
 * - the sync's wall time against a baseline measured in the same run: a bare
 *   loop that fetches the same Graph pages at the same group concurrency and
 *   does nothing with them.
 * Goals: RSS < 250 MB at 100k, growth < 20 %, wall time within 1.3x of the bare loop.
 */

import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { envSchema } from '@pinnacle/config';
import { integrationSettingsInputSchema, newQueuedRun } from '@pinnacle/domain';
import { seededGroupId, trustSimulatorCa } from '@pinnacle/entra-simulator';
import { TypedQueue } from '@pinnacle/queue-runtime';
import { createStores } from '@pinnacle/redis-store';
import {
  getFreePort,
  ownCpuMs,
  peakRssMb,
  processCpuMs,
  redisCpuMs,
  spawnNodeProcess,
  startCpuMeter,
  useTestRedis,
  waitFor,
} from '@pinnacle/testing';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const GROUPS = 4;
const CONCURRENCY = 4;
const SIZES = [10_000, 100_000];

function spawnBuiltWorker(env: Record<string, string>) {
  const entry = here('../dist/main.js');
  if (!existsSync(entry)) throw new Error('Build the worker first: pnpm build');
  // BENCH_WORKER_NODE_ARGS: extra Node flags for the worker (e.g. a heap profile).
  const nodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, entry], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (line.includes('worker ready')) resolve();
      if (line.includes('sync succeeded') && process.env.BENCH_VERBOSE)
        process.stderr.write(`${line}\n`);
    });
    child.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
  });
  return {
    pid: child.pid ?? -1,
    ready,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function main() {
  const caDir = mkdtempSync(join(tmpdir(), 'pinnacle-bench-'));
  const caPath = join(caDir, 'ca.pem');
  const simPort = await getFreePort();
  const sim = spawnNodeProcess(here('../../../packages/entra-simulator/src/cli.ts'), {
    env: { SIM_PORT: String(simPort), SIM_CA_PATH: caPath },
  });
  await sim.waitForLine(/listening on/, 60_000);
  const simUrl = `https://127.0.0.1:${simPort}`;
  const ca = readFileSync(caPath, 'utf8');
  const simulatorCpu = () => processCpuMs(sim.pid);
  trustSimulatorCa(ca);
  const control = async (path: string, body: unknown) => {
    const res = await fetch(`${simUrl}/_sim${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`control ${path}: ${res.status} ${await res.text()}`);
  };

  const redis = await useTestRedis('bench-sync');
  const key = randomBytes(32).toString('base64');
  const connection = redis.connect({ maxRetriesPerRequest: null });
  const stores = createStores(connection, redis.prefix, key);
  const queue = new TypedQueue('sync', {
    connection,
    prefix: redis.prefix,
    env: envSchema.parse({}),
  });
  const results: Record<string, unknown>[] = [];

  try {
    for (const size of SIZES) {
      const seed = `bench-${size}-${randomUUID()}`;
      const tenantId = randomUUID();
      const clientId = randomUUID();
      const secret = `Bn8~${randomUUID()}`;
      const per = size / GROUPS;
      const groups = Array.from({ length: GROUPS }, (_, g) => ({
        key: `g${g}`,
        displayName: `Group ${g}`,
        userRanges: [{ start: g * per, count: per }],
        memberGroups: [],
      }));
      await control('/tenants', {
        kind: 'seeded',
        seed,
        tenantId,
        displayName: `Bench ${size}`,
        domains: [`${seed}.onmicrosoft.com`],
        userCount: size,
        disabledShare: 0,
        applications: [
          {
            appId: clientId,
            roles: ['User.Read.All', 'GroupMember.Read.All'],
            secrets: [
              {
                keyId: randomUUID(),
                value: secret,
                expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
              },
            ],
          },
        ],
        groups,
      });
      const groupIds = groups.map((g) => seededGroupId(seed, g.key));

      // Baseline: the same pages, same concurrency, nothing done with them.
      const tokenRes = await fetch(`${simUrl}/${tenantId}/oauth2/v2.0/token`, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: clientId,
          client_secret: secret,
          scope: 'https://graph.microsoft.com/.default',
        }),
      });
      const { access_token: token } = (await tokenRes.json()) as { access_token: string };
      const bareCpu = await startCpuMeter({ loop: ownCpuMs, simulator: simulatorCpu });
      const bareStart = performance.now();
      let bareUsers = 0;
      await Promise.all(
        groupIds.slice(0, CONCURRENCY).map(async (gid) => {
          let url: string | undefined =
            `${simUrl}/v1.0/groups/${gid}/transitiveMembers/microsoft.graph.user?$select=id,displayName,mail,userPrincipalName,accountEnabled&$top=999&$count=true`;
          while (url) {
            const res = await fetch(url, {
              headers: { authorization: `Bearer ${token}`, consistencylevel: 'eventual' },
            });
            const page = (await res.json()) as { value: unknown[]; '@odata.nextLink'?: string };
            bareUsers += page.value.length;
            url = page['@odata.nextLink'];
          }
        }),
      );
      const bareMs = performance.now() - bareStart;
      const bareCpuMs = await bareCpu.stop();

      // The real worker process, from its production build (`pnpm build`).
      const worker = spawnBuiltWorker({
        REDIS_URL: redis.url,
        QUEUE_PREFIX: redis.prefix,
        SECRET_ENCRYPTION_KEY: key,
        ENTRA_AUTHORITY_HOST: simUrl,
        GRAPH_BASE_URL: simUrl,
        NODE_EXTRA_CA_CERTS: caPath,
        SYNC_GROUP_CONCURRENCY: String(CONCURRENCY),
        LOG_LEVEL: 'info',
      });
      await worker.ready;
      const orgId = `bench-${size}`;
      await stores.integrations.put(
        orgId,
        integrationSettingsInputSchema.parse({
          tenantId,
          clientId,
          clientSecret: secret,
          clientSecretExpiresAt: new Date(Date.now() + 86_400_000).toISOString(),
          groupIds,
        }),
      );
      const rssBefore = peakRssMb(worker.pid);
      const runId = randomUUID();
      await stores.runs.createIfIdle(
        newQueuedRun({ id: runId, orgId, trigger: 'manual', createdAt: new Date() }),
      );
      const syncCpu = await startCpuMeter({
        worker: () => processCpuMs(worker.pid),
        simulator: simulatorCpu,
        redis: () => redisCpuMs(connection),
      });
      const syncStart = performance.now();
      await queue.add({ orgId, runId, trigger: 'manual' });
      const run = await waitFor(
        async () => {
          const r = await stores.runs.get(orgId, runId);
          return r && (r.status === 'succeeded' || r.status === 'failed') ? r : null;
        },
        { timeoutMs: 600_000, intervalMs: 20 },
      );
      const syncMs = performance.now() - syncStart;
      const syncCpuMs = await syncCpu.stop();
      const fetchStart = run.startedAt ? Date.parse(run.startedAt) : Number.NaN;
      const peak = peakRssMb(worker.pid);
      await worker.stop();
      results.push({
        users: size,
        status: run.status,
        committedUsers: run.stats.users,
        bareLoopMs: Math.round(bareMs),
        bareLoopUsers: bareUsers,
        bareLoopCpuMs: bareCpuMs,
        syncMs: Math.round(syncMs),
        syncRunMs:
          Number.isFinite(fetchStart) && run.finishedAt
            ? Date.parse(run.finishedAt) - fetchStart
            : null,
        ratioToBareLoop: Math.round((syncMs / bareMs) * 100) / 100,
        syncCpuMs,
        workerIdleRssMb: rssBefore,
        workerPeakRssMb: peak,
      });
      await stores.snapshots.discard(orgId, runId).catch(() => undefined);
    }
    const [small, large] = results as { workerPeakRssMb: number; ratioToBareLoop: number }[];
    const summary = {
      benchmark: 'worker sync',
      groups: GROUPS,
      groupConcurrency: CONCURRENCY,
      results,
      rssGrowth10kTo100kPercent:
        small && large
          ? Math.round(
              ((large.workerPeakRssMb - small.workerPeakRssMb) / small.workerPeakRssMb) * 1000,
            ) / 10
          : null,
      goals: { peakRssMbAt100k: '< 250', rssGrowthPercent: '< 20', ratioToBareLoop: '<= 1.3' },
    };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } finally {
    await queue.close();
    await redis.cleanup();
    await sim.kill('SIGTERM');
    rmSync(caDir, { recursive: true, force: true });
  }
}

await main();
