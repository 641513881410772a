import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestingError } from './errors.js';
import { getFreePort } from './ports.js';
import { onProcessExit } from './process-exit.js';
import { redisProcessId } from './redis-ping.js';
import { exitOf, spawnTied } from './spawn-tied.js';

export interface RedisServerOptions {
  /** AOF persistence with fsync on every write. Default true. */
  appendonly?: boolean;
  /** Data directory. Default: a fresh temp dir, removed by `stop()`. A given dir is left in place. */
  dir?: string;
  /** Port to listen on. Default: a free port. */
  port?: number;
  /** redis-server binary. Default: `REDIS_SERVER_BIN` or `redis-server` on PATH. */
  bin?: string;
  /** Extra redis-server arguments, e.g. `['--maxmemory', '64mb']`. */
  extraArgs?: string[];
  /** How long to wait for the server to answer PING. Default 10000. */
  startTimeoutMs?: number;
}

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Pid of the running server; undefined while it is down. */
  readonly pid: number | undefined;
  /** Graceful shutdown (SIGTERM: redis flushes AOF), then removes the temp dir. Final. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would: no flush, the dir stays for `restart()`. */
  kill(): Promise<void>;
  /** Starts again on the same port and dir (shutting down first if running). */
  restart(): Promise<void>;
}

const bindRetries = 3;
const gracefulExitMs = 10_000;

/**
 * Spawns a private redis-server for tests that restart or crash Redis. Each instance
 * has its own port and dir, so it never touches a shared Redis.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const appendonly = options.appendonly ?? true;
  const bin = options.bin ?? process.env.REDIS_SERVER_BIN ?? 'redis-server';
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'pinnacle-redis-'));
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;

  let child: ChildProcess | undefined;
  let port = options.port ?? 0;
  let stopped = false;

  const unregisterDirCleanup = ownsDir
    ? onProcessExit(() => rmSync(dir, { recursive: true, force: true }))
    : () => {};

  const args = (): string[] => [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    // AOF alone decides persistence here: no RDB snapshots to blur what a test proves.
    '--save',
    '',
    '--appendonly',
    appendonly ? 'yes' : 'no',
    ...(appendonly ? ['--appendfsync', 'always'] : []),
    '--daemonize',
    'no',
    '--protected-mode',
    'no',
    '--logfile',
    '',
    ...(options.extraArgs ?? []),
  ];

  const launch = async (): Promise<void> => {
    const output: string[] = [];
    const spawned = spawnTied(bin, args(), { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer): void => {
      output.push(chunk.toString('utf8'));
      if (output.length > 50) output.shift();
    };
    spawned.stdout?.on('data', keep);
    spawned.stderr?.on('data', keep);
    let spawnError: Error | undefined;
    spawned.once('error', (error) => {
      spawnError = error;
    });
    const exited = exitOf(spawned);
    let hasExited = false;
    void exited.then(() => {
      hasExited = true;
    });

    const url = `redis://127.0.0.1:${port}`;
    const deadline = Date.now() + startTimeoutMs;
    while (!hasExited && Date.now() < deadline) {
      // Checking the pid, not just PING: whoever won a race for the port must not pass for ours.
      if ((await redisProcessId(url, 250)) === spawned.pid) {
        child = spawned;
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    spawned.kill('SIGKILL');
    await exited;
    const log = output.join('').trim().split('\n').slice(-10).join('\n');
    throw new TestingError(
      'redis_server_failed',
      `redis-server (${bin}) on port ${port} did not answer PING${
        hasExited ? ' before it exited' : ` within ${startTimeoutMs} ms`
      }${spawnError ? `: ${spawnError.message}` : ''}\n${log}`,
      { cause: spawnError },
    );
  };

  const firstLaunch = async (): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      if (options.port === undefined) port = await getFreePort();
      try {
        await launch();
        return;
      } catch (error) {
        // The free port can be taken between choosing and binding it: choose again.
        const portRace =
          error instanceof TestingError && /Address already in use/i.test(error.message);
        if (!portRace || options.port !== undefined || attempt >= bindRetries) throw error;
      }
    }
  };

  const shutdown = async (signal: NodeJS.Signals): Promise<void> => {
    const running = child;
    child = undefined;
    if (running === undefined) return;
    const exited = exitOf(running);
    running.kill(signal);
    const timer = setTimeout(() => running.kill('SIGKILL'), gracefulExitMs);
    await exited;
    clearTimeout(timer);
  };

  try {
    await firstLaunch();
  } catch (error) {
    if (ownsDir) await rm(dir, { recursive: true, force: true });
    unregisterDirCleanup();
    throw error;
  }

  return {
    get url() {
      return `redis://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    dir,
    get pid() {
      return child?.pid;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await shutdown('SIGTERM');
      if (ownsDir) await rm(dir, { recursive: true, force: true });
      unregisterDirCleanup();
    },
    async kill() {
      await shutdown('SIGKILL');
    },
    async restart() {
      if (stopped) {
        throw new TestingError('invalid_usage', 'restart() after stop(): the server is gone');
      }
      await shutdown('SIGTERM');
      await launch();
    },
  };
}
