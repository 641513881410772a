import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { spawnNodeProcess, waitFor } from '../src/index.js';

const script = fileURLToPath(new URL('./fixtures/leave-redis-running.ts', import.meta.url));

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function redisOf(proc: ReturnType<typeof spawnNodeProcess>) {
  const line = await proc.waitForLine(/^redis \d+ /);
  const [, pid, dir] = line.split(' ');
  return { pid: Number(pid), dir: dir ?? '' };
}

describe('fixtures never outlive the test process', () => {
  it('a redis-server left running is killed, and its temp dir removed, at exit', async () => {
    const proc = spawnNodeProcess(script, { args: ['exit'] });
    const redis = await redisOf(proc);
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    await waitFor(() => !isAlive(redis.pid), { description: 'redis-server to be gone' });
    expect(existsSync(redis.dir)).toBe(false);
  });

  // PR_SET_PDEATHSIG through util-linux setpriv: the only way a SIGKILLed parent takes
  // its children along. Machines without setpriv fall back to the exit handler alone.
  it.runIf(existsSync('/usr/bin/setpriv'))(
    'a redis-server dies with its parent even when the parent is SIGKILLed',
    async () => {
      const proc = spawnNodeProcess(script);
      const redis = await redisOf(proc);
      await proc.waitForLine(/^ready$/);
      expect(isAlive(redis.pid)).toBe(true);
      await proc.kill('SIGKILL');
      await waitFor(() => !isAlive(redis.pid), { description: 'redis-server to be gone' });
      // Nothing in the killed process could remove it.
      rmSync(redis.dir, { recursive: true, force: true });
    },
  );
});
