import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  type FaultSpecInput,
  type RequestLogEntry,
  type SimulatorCounters,
  type TenantInput,
  trustSimulatorCa,
} from '@pinnacle/entra-simulator';
import { exitOf, getFreePort, spawnTied } from '@pinnacle/testing';
import { builtEntry } from './paths.js';
import { processCpuMs } from './proc.js';

/**
 * The Entra/Graph simulator in a process of its own (its built CLI, as
 * `pnpm sim` runs it), so its CPU is told apart from the worker's and the
 * bare loop's; driven through its control API.
 */
export class SimulatorProcess {
  private constructor(
    readonly url: string,
    readonly caPath: string,
    readonly pid: number,
    private readonly dir: string,
    private readonly exited: Promise<unknown>,
    private readonly kill: () => void,
  ) {}

  static async start(): Promise<SimulatorProcess> {
    const dir = mkdtempSync(join(tmpdir(), 'pinnacle-bench-sim-'));
    const caPath = join(dir, 'ca.pem');
    const port = await getFreePort();
    const child = spawnTied(
      process.execPath,
      [builtEntry('packages/entra-simulator/dist/cli.js')],
      {
        env: { ...process.env, SIM_PORT: String(port), SIM_CA_PATH: caPath },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const exited = exitOf(child);
    await new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout! });
      lines.on('line', (line) => {
        if (line.includes('listening on')) resolve();
      });
      void exited.then((e) => reject(new Error(`the simulator exited (${e.code ?? e.signal})`)));
    });
    child.stdout?.resume();
    // This process talks to it too (its control API, the bare loop's setup).
    trustSimulatorCa(readFileSync(caPath, 'utf8'));
    return new SimulatorProcess(
      `https://127.0.0.1:${port}`,
      caPath,
      child.pid ?? -1,
      dir,
      exited,
      () => child.kill('SIGTERM'),
    );
  }

  get ca(): string {
    return readFileSync(this.caPath, 'utf8');
  }

  cpuMs(): number {
    return processCpuMs(this.pid);
  }

  private async control<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.url}/_sim${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!res.ok) throw new Error(`simulator ${method} ${path}: ${res.status} ${await res.text()}`);
    return (res.status === 204 ? undefined : await res.json()) as T;
  }

  addTenant(tenant: TenantInput): Promise<unknown> {
    return this.control('POST', '/tenants', tenant);
  }

  setFaults(tenantId: string, faults: FaultSpecInput): Promise<unknown> {
    return this.control('PUT', `/tenants/${tenantId}/faults`, faults);
  }

  counters(): Promise<SimulatorCounters> {
    return this.control('GET', '/counters');
  }

  async requests(query: { tenantId?: string; afterSeq?: number } = {}): Promise<RequestLogEntry[]> {
    const params = new URLSearchParams();
    if (query.tenantId) params.set('tenant', query.tenantId);
    if (query.afterSeq !== undefined) params.set('afterSeq', String(query.afterSeq));
    const { entries } = await this.control<{ entries: RequestLogEntry[] }>(
      'GET',
      `/requests?${params}`,
    );
    return entries;
  }

  async stop(): Promise<void> {
    this.kill();
    await this.exited;
    rmSync(this.dir, { recursive: true, force: true });
  }
}
