import { readFileSync, writeFileSync } from 'node:fs';

export { peakRssMb, processCpuMs, startCpuMeter } from '@pinnacle/testing';

function statusKb(pid: number, field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN);
}

/** Resident set size of process `pid` now (VmRSS), in MB (Linux). */
export function rssMb(pid: number): number {
  return Math.round((statusKb(pid, 'VmRSS') / 1024) * 10) / 10;
}

/**
 * Starts the process's peak RSS (VmHWM) again from its current RSS, so the
 * next reading is the peak of what happens from now on (Linux: writing 5 to
 * /proc/<pid>/clear_refs, allowed for one's own processes).
 */
export function resetPeakRss(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}
