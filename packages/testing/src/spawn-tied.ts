import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { onProcessExit } from './process-exit.js';

const setpriv = '/usr/bin/setpriv';

/**
 * Spawns a child that cannot outlive this process: killed at normal exit, and
 * where util-linux's setpriv exists, also when this process is killed outright
 * (PR_SET_PDEATHSIG). setpriv execs the command, so `child.pid` is the command's
 * own pid and signals reach it directly.
 */
export function spawnTied(command: string, args: string[], options: SpawnOptions): ChildProcess {
  const child = existsSync(setpriv)
    ? spawn(setpriv, ['--pdeathsig', 'KILL', '--', command, ...args], options)
    : spawn(command, args, options);
  const unregister = onProcessExit(() => {
    child.kill('SIGKILL');
  });
  child.once('exit', unregister);
  child.once('error', unregister);
  return child;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Resolves once the child has exited (or failed to start: code null, no signal). */
export function exitOf(child: ChildProcess): Promise<ExitInfo> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: child.exitCode, signal: child.signalCode }));
  });
}
