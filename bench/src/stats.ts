import type { Sample } from './figure.js';

export function median(values: readonly number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Nearest-rank percentile (p in 0..100) of the values. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] as number;
}

/** Each key's median over the runs (a key missing from a run is left out of its median). */
export function medianSample(samples: readonly Sample[]): Sample {
  const keys = new Set(samples.flatMap((s) => Object.keys(s)));
  const out: Sample = {};
  for (const key of keys) {
    out[key] = median(samples.map((s) => s[key]).filter((v): v is number => v !== undefined));
  }
  return out;
}

export const round = (n: number, digits = 0) => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};

/** A ratio as the table shows it. */
export const ratioOf = (value: number, baseline: number) => round(value / baseline, 2);
