import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { TestingError } from './errors.js';
import { type ExitInfo, spawnTied } from './spawn-tied.js';

export interface SpawnNodeProcessOptions {
  /** Added to (or, with undefined, removed from) this process's environment. */
  env?: Record<string, string | undefined>;
  /** Arguments after the entry file. */
  args?: string[];
  /** Node flags before the entry file, e.g. `['--max-old-space-size=256']`. */
  nodeArgs?: string[];
  cwd?: string;
}

export interface NodeProcess {
  child: ChildProcess;
  /** The entry script's own pid (no wrapper process in between). */
  readonly pid: number;
  /** Lines written to stdout so far. */
  stdoutLines(): string[];
  /** Lines written to stderr so far. */
  stderrLines(): string[];
  /**
   * Resolves with the first stdout line, already written or yet to come, that matches.
   * Rejects with `process_exited` if the process ends first, `timeout` otherwise.
   */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Sends `signal` (default SIGTERM) and resolves when the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<ExitInfo>;
  exited: Promise<ExitInfo>;
}

const require = createRequire(import.meta.url);

/**
 * Runs a TypeScript entry in a child Node (this process's binary: Node 22 under
 * pnpm), with workspace packages resolved to their sources.
 *
 * tsx is loaded with `node --import tsx` rather than through the tsx CLI: the CLI
 * runs the script in a second child and only relays SIGINT/SIGTERM, so a SIGKILL
 * meant to crash the script would kill the CLI and leave the script running.
 */
export function spawnNodeProcess(
  entryTsFile: string,
  options: SpawnNodeProcessOptions = {},
): NodeProcess {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  const tsxLoader = pathToFileURL(require.resolve('tsx')).href;
  const child = spawnTied(
    process.execPath,
    [
      '--conditions=@pinnacle/source',
      '--import',
      tsxLoader,
      ...(options.nodeArgs ?? []),
      entryTsFile,
      ...(options.args ?? []),
    ],
    { env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (child.pid === undefined) {
    throw new TestingError('process_exited', `could not start ${process.execPath}`);
  }
  const pid = child.pid;

  const stdout: string[] = [];
  const stderr: string[] = [];
  const lineListeners = new Set<(line: string) => void>();
  if (child.stdout !== null) {
    createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY }).on(
      'line',
      (line) => {
        stdout.push(line);
        for (const listener of lineListeners) listener(line);
      },
    );
  }
  if (child.stderr !== null) {
    createInterface({ input: child.stderr, crlfDelay: Number.POSITIVE_INFINITY }).on(
      'line',
      (line) => stderr.push(line),
    );
  }

  // 'close', not 'exit': it comes after stdout has ended, so every line is in by then.
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  let exitInfo: ExitInfo | undefined;
  void exited.then((info) => {
    exitInfo = info;
  });

  const describeExit = (info: ExitInfo): string =>
    `${entryTsFile} exited (code ${info.code}, signal ${info.signal})${
      stderr.length > 0 ? `; stderr:\n${stderr.slice(-20).join('\n')}` : ''
    }`;

  return {
    child,
    pid,
    stdoutLines: () => [...stdout],
    stderrLines: () => [...stderr],
    waitForLine(pattern, timeoutMs = 10_000) {
      const seen = stdout.find((line) => pattern.test(line));
      if (seen !== undefined) return Promise.resolve(seen);
      if (exitInfo !== undefined) {
        return Promise.reject(
          new TestingError(
            'process_exited',
            `no line matching ${pattern}: ${describeExit(exitInfo)}`,
          ),
        );
      }
      return new Promise((resolve, reject) => {
        const finish = (): void => {
          clearTimeout(timer);
          lineListeners.delete(onLine);
        };
        const onLine = (line: string): void => {
          if (!pattern.test(line)) return;
          finish();
          resolve(line);
        };
        const timer = setTimeout(() => {
          finish();
          reject(
            new TestingError(
              'timeout',
              `no line matching ${pattern} from ${entryTsFile} within ${timeoutMs} ms${
                stderr.length > 0 ? `; stderr:\n${stderr.slice(-20).join('\n')}` : ''
              }`,
            ),
          );
        }, timeoutMs);
        lineListeners.add(onLine);
        void exited.then((info) => {
          if (!lineListeners.has(onLine)) return;
          finish();
          reject(
            new TestingError(
              'process_exited',
              `no line matching ${pattern}: ${describeExit(info)}`,
            ),
          );
        });
      });
    },
    kill(signal = 'SIGTERM') {
      if (exitInfo === undefined) child.kill(signal);
      return exited;
    },
    exited,
  };
}
