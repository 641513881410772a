import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/** CPU time (user + system) process `pid` has used so far, in ms (Linux; 10 ms resolution). */
export function processCpuMs(pid: number): number {
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Peak resident set size (VmHWM) of process `pid`, in MB (Linux). */
export function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

/** CPU time (user + system) the Redis server has used so far, in ms. */
export async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)?.[1] ?? 0);
  return Math.round((field('used_cpu_user') + field('used_cpu_sys')) * 1000);
}

/** CPU time (user + system) this process has used so far, in ms. */
export function ownCpuMs(): number {
  const usage = process.cpuUsage();
  return Math.round((usage.user + usage.system) / 1000);
}

/**
 * Starts measuring CPU time over a window: `stop()` gives, per source, what
 * it used since the start (each source reads a running total in ms, e.g.
 * `() => processCpuMs(pid)` or `() => redisCpuMs(redis)`).
 */
export async function startCpuMeter<K extends string>(
  sources: Record<K, () => number | Promise<number>>,
): Promise<{ stop(): Promise<Record<K, number>> }> {
  const names = Object.keys(sources) as K[];
  const read = async () => Promise.all(names.map((name) => sources[name]()));
  const before = await read();
  return {
    async stop() {
      const after = await read();
      const used = {} as Record<K, number>;
      names.forEach((name, i) => {
        used[name] = (after[i] ?? 0) - (before[i] ?? 0);
      });
      return used;
    },
  };
}
