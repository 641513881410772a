import { spawnNodeProcess } from '@pinnacle/testing';
import type { BareSyncOptions, BareSyncResult } from './bare-loop.js';
import { fromRoot } from './paths.js';

/** Runs the bare loop in a process of its own (trusting the simulator's CA) and returns what it measured. */
export async function runBareSync(
  options: BareSyncOptions,
  caPath: string,
  nodeArgs: string[] = [],
): Promise<BareSyncResult & { pid: number }> {
  const child = spawnNodeProcess(fromRoot('bench/src/stack/bare-loop-main.ts'), {
    env: { BARE_SYNC: JSON.stringify(options), NODE_EXTRA_CA_CERTS: caPath },
    nodeArgs,
  });
  const line = await child.waitForLine(/"bareSync"/, 30 * 60_000);
  await child.exited;
  return { ...(JSON.parse(line) as { bareSync: BareSyncResult }).bareSync, pid: child.pid };
}
