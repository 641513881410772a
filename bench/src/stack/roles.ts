import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { exitOf, spawnTied } from '@pinnacle/testing';
import { builtEntry } from './paths.js';
import { peakRssMb, processCpuMs, resetPeakRss, rssMb } from './proc.js';

export type RoleName = 'api' | 'worker' | 'notifier';

/** A JSON log line of a role (pino). */
export type LogLine = Record<string, unknown> & { msg?: string };

const READY: Record<RoleName, string> = {
  api: 'api listening',
  worker: 'worker ready',
  notifier: 'notifier ready',
};

/**
 * A role started from its production build (`node apps/<role>/dist/main.js`,
 * as `pnpm start:<role>` does), its stdout read as JSON log lines.
 */
export class RoleProcess {
  private readonly listeners = new Set<(line: LogLine) => void>();

  private constructor(
    readonly role: RoleName,
    readonly pid: number,
    private readonly kill: (signal: NodeJS.Signals) => void,
    private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  ) {}

  static async start(
    role: RoleName,
    env: Record<string, string>,
    nodeArgs: string[] = [],
  ): Promise<RoleProcess> {
    // BENCH_WORKER_NODE_ARGS, BENCH_API_NODE_ARGS, BENCH_NOTIFIER_NODE_ARGS: Node flags for
    // every process of that role (e.g. --cpu-prof --cpu-prof-dir=/tmp/prof, --trace-gc).
    const extra = (process.env[`BENCH_${role.toUpperCase()}_NODE_ARGS`] ?? '')
      .split(' ')
      .filter(Boolean);
    const child = spawnTied(
      process.execPath,
      [...extra, ...nodeArgs, builtEntry(`apps/${role}/dist/main.js`)],
      { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = exitOf(child);
    const started = new RoleProcess(role, child.pid ?? -1, (s) => child.kill(s), exited);
    const stderrTail: string[] = [];
    // BENCH_ROLE_LOG_DIR: each role's stdout also goes to <dir>/<role>-<pid>.log (e.g. with --trace-gc).
    const logDir = process.env.BENCH_ROLE_LOG_DIR;
    if (logDir) {
      mkdirSync(logDir, { recursive: true });
      child.stdout?.pipe(createWriteStream(join(logDir, `${role}-${child.pid}.log`)));
    }
    createInterface({ input: child.stdout! }).on('line', (text) => {
      const failing = text.includes('"level":"error"') || text.includes('"level":"fatal"');
      if (failing) {
        stderrTail.push(text);
        if (process.env.BENCH_VERBOSE) process.stderr.write(`${role}: ${text}\n`);
      }
      // Parsed only when someone listens: under load (the api's request lines)
      // this process must not compete for the cores with the one measured.
      if (started.listeners.size === 0) return;
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        return;
      }
      for (const listener of started.listeners) listener(line);
    });
    await started
      .waitForLine((l) => l.msg === READY[role], 60_000)
      .catch((error: unknown) => {
        throw new Error(`${role} did not start: ${String(error)}\n${stderrTail.join('\n')}`);
      });
    return started;
  }

  /** Calls `listener` with every log line from now on, until the returned function is called. */
  onLine(listener: (line: LogLine) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The first log line from now on that matches. */
  waitForLine(match: (line: LogLine) => boolean, timeoutMs = 30 * 60_000): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`${this.role}: no matching log line within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (line: LogLine) => {
        if (!match(line)) return;
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(line);
      };
      this.listeners.add(listener);
      void this.exited.then((e) => {
        if (!this.listeners.has(listener)) return;
        clearTimeout(timer);
        this.listeners.delete(listener);
        reject(new Error(`${this.role} exited (${e.code ?? e.signal})`));
      });
    });
  }

  cpuMs(): number {
    return processCpuMs(this.pid);
  }

  rssMb(): number {
    return rssMb(this.pid);
  }

  peakRssMb(): number {
    return peakRssMb(this.pid);
  }

  resetPeakRss(): void {
    resetPeakRss(this.pid);
  }

  signal(signal: NodeJS.Signals): void {
    this.kill(signal);
  }

  /** SIGTERM, as a deployment stops it; a role that does not exit cleanly is an error. */
  async stop(): Promise<void> {
    this.kill('SIGTERM');
    const exit = await this.exited;
    if (exit.code !== 0) throw new Error(`${this.role} exited with ${exit.code ?? exit.signal}`);
  }
}
