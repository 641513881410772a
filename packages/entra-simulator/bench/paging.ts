/**
 * Pages through the seeded 100,000-user "All Staff" group of the demo tenant
 * (Woodgrove) at $top=999 over real HTTPS, three times, and reports wall time
 * and the simulator process's memory before, mid-way and after each pass.
 * The simulator runs in its own process (the `pnpm sim` CLI) so its memory is
 * measured apart from this client's.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoTenants } from '../src/demo.js';
import { trustSimulatorCa } from '../src/trust.js';

const PASSES = 3;
const TOP = 999;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

interface Memory {
  rssMiB: number;
  heapUsedMiB: number;
}

const mib = (n: number) => Math.round((n / 1024 / 1024) * 10) / 10;

const dir = mkdtempSync(join(tmpdir(), 'entra-sim-bench-'));
const caPath = join(dir, 'ca.pem');
const port = await freePort();
const url = `https://127.0.0.1:${port}`;
const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
const child = spawn(process.execPath, [tsxCli, '--conditions=@pinnacle/source', 'src/cli.ts'], {
  env: { ...process.env, SIM_PORT: String(port), SIM_CA_PATH: caPath, NODE_OPTIONS: '--expose-gc' },
  stdio: ['ignore', 'pipe', 'inherit'],
});

try {
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('Woodgrove Bank')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`simulator exited (${code}):\n${out}`)));
  });
  trustSimulatorCa(readFileSync(caPath, 'utf8'));

  const memory = async (): Promise<Memory> => {
    // Collect garbage first so the figure is what the simulator retains.
    const res = await fetch(`${url}/_sim/gc`, { method: 'POST' });
    const m = (await res.json()) as { ran: boolean; rss: number; heapUsed: number };
    if (!m.ran) throw new Error('the simulator was not started with --expose-gc');
    return { rssMiB: mib(m.rss), heapUsedMiB: mib(m.heapUsed) };
  };

  const woodgrove = demoTenants().find((d) => d.key === 'woodgrove')!;
  const c = woodgrove.credentials;
  const tokenRes = await fetch(`${url}/${c.tenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: c.clientId,
      client_secret: c.clientSecret,
      scope: 'https://graph.microsoft.com/.default',
    }),
  });
  const { access_token: token } = (await tokenRes.json()) as { access_token: string };
  const group = woodgrove.groups.find((g) => g.displayName === 'All Staff')!;
  const firstUrl = `${url}/v1.0/groups/${group.id}/transitiveMembers/microsoft.graph.user?$select=id,displayName,mail,userPrincipalName,accountEnabled&$top=${TOP}&$count=true`;

  const before = await memory();
  const passes: {
    pass: number;
    users: number;
    pages: number;
    wallMs: number;
    mid: Memory;
    after: Memory;
  }[] = [];
  for (let pass = 1; pass <= PASSES; pass++) {
    let next: string | undefined = firstUrl;
    let users = 0;
    let pages = 0;
    let mid: Memory | undefined;
    let wallMs = 0;
    while (next) {
      const t0 = performance.now();
      const res = await fetch(next, {
        headers: { authorization: `Bearer ${token}`, consistencylevel: 'eventual' },
      });
      if (res.status !== 200)
        throw new Error(`page ${pages + 1}: HTTP ${res.status} ${await res.text()}`);
      const body = (await res.json()) as { value: unknown[]; '@odata.nextLink'?: string };
      wallMs += performance.now() - t0;
      users += body.value.length;
      pages++;
      next = body['@odata.nextLink'];
      // Memory probes sit outside the timed section.
      if (pages === 50) mid = await memory();
    }
    passes.push({
      pass,
      users,
      pages,
      wallMs: Math.round(wallMs),
      mid: mid!,
      after: await memory(),
    });
  }
  const totalPages = passes.reduce((n, p) => n + p.pages, 0);
  const totalMs = passes.reduce((n, p) => n + p.wallMs, 0);
  process.stdout.write(
    `${JSON.stringify(
      {
        benchmark: 'entra-simulator paging',
        group: 'Woodgrove Bank / All Staff (100,000 users, transitive: nested + overlapping)',
        top: TOP,
        simulatorMemory: {
          before,
          passes: passes.map(({ pass, mid, after }) => ({ pass, mid, after })),
        },
        passes: passes.map(({ pass, users, pages, wallMs }) => ({
          pass,
          users,
          pages,
          wallMs,
          usersPerSecond: Math.round(users / (wallMs / 1000)),
        })),
        totalPages,
        meanPageMs: Math.round((totalMs / totalPages) * 100) / 100,
      },
      null,
      2,
    )}\n`,
  );
} finally {
  child.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
