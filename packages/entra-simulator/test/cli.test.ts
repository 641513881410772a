import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { demoTenants, trustSimulatorCa } from '../src/index.js';

const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
const dir = mkdtempSync(join(tmpdir(), 'entra-sim-cli-'));
let child: ChildProcess | undefined;

afterAll(() => {
  child?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

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

describe('pnpm sim (src/cli.ts)', () => {
  it('serves the demo tenants, prints their credentials and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const caPath = join(dir, 'ca.pem');
    child = spawn(process.execPath, [tsxCli, '--conditions=@pinnacle/source', 'src/cli.ts'], {
      env: { ...process.env, SIM_PORT: String(port), SIM_CA_PATH: caPath },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr!.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const exited = new Promise<number | null>((resolve) =>
      child!.once('exit', (code) => resolve(code)),
    );
    await new Promise<void>((resolve, reject) => {
      const check = setInterval(() => {
        if (out.includes('Woodgrove Bank')) {
          clearInterval(check);
          resolve();
        }
      }, 50);
      exited.then(() => {
        clearInterval(check);
        reject(new Error(`simulator exited early:\n${out}`));
      });
    });

    const url = `https://127.0.0.1:${port}`;
    expect(out).toContain(`listening on ${url}`);
    const demos = demoTenants();
    for (const d of demos) {
      expect(out).toContain(d.credentials.clientId);
      expect(out).toContain(d.credentials.clientSecret);
      for (const g of d.groups) expect(out).toContain(g.id);
    }

    trustSimulatorCa(readFileSync(caPath, 'utf8'));
    const tenants = (await (await fetch(`${url}/_sim/tenants`)).json()) as {
      tenants: { tenantId: string; userCount: number }[];
    };
    expect(tenants.tenants.map((t) => t.tenantId).sort()).toEqual(
      demos.map((d) => d.credentials.tenantId).sort(),
    );
    expect(tenants.tenants.find((t) => t.userCount === 100_000)).toBeDefined();

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    child = undefined;
  });
});
