import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A V8 CPU profile (`--cpu-prof`), the parts read here. */
interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    hitCount?: number;
  }[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface SelfTime {
  /** Function name and where it is (package or file, line). */
  function: string;
  selfMs: number;
  percent: number;
}

/** Shortens a script URL to its package (node_modules) or repository path. */
function where(url: string, line: number): string {
  if (!url) return '';
  const pkg = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(
    url,
  );
  if (pkg) return `${pkg[1]}/${pkg[2]}:${line + 1}`;
  const repo = /\/(apps|packages)\/(.*)$/.exec(url);
  if (repo) return `${repo[1]}/${repo[2]}:${line + 1}`;
  return `${url.replace(/^file:\/\//, '')}:${line + 1}`;
}

/** The functions with the most self time in a CPU profile, heaviest first. */
export function topSelfTime(file: string, limit = 15): SelfTime[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (deltas[i] ?? 0));
  }
  const byFunction = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const node = byNode.get(id);
    if (!node) continue;
    const f = node.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${where(f.url, f.lineNumber)}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    total += us;
  }
  return [...byFunction.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, us]) => ({
      function: name,
      selfMs: Math.round(us / 1000),
      percent: Math.round((us / total) * 1000) / 10,
    }));
}

/** The newest `.cpuprofile` in `dir` (Node names them by time and pid). */
export function newestProfile(dir: string): string | null {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort();
  const last = files.at(-1);
  return last ? join(dir, last) : null;
}
