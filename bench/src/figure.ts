import type { Stack } from './stack/stack.js';

/** One run's measurements: flat, numeric, so runs combine key by key. */
export type Sample = Record<string, number>;

/** A line of the results table. */
export interface Row {
  /** What this line measures, e.g. "wall time, 100,000 users". */
  measure: string;
  /** The figure's median, formatted with its unit. */
  value: string;
  /** The baseline's median from the same runs, formatted; "–" when the line has none. */
  baseline: string;
  /** Median of the per-run ratios of value to baseline; null when the line has none. */
  ratio: number | null;
  /** The goal as the issue states it; "report only" when there is none. */
  goal: string;
  /** Whether the median meets the goal; null for report-only lines. */
  met: boolean | null;
}

export interface FigureContext {
  /** The processes every figure shares: the simulator and a private Redis. */
  stack: Stack;
  /** Progress for the person watching (stderr). */
  log(message: string): void;
}

/**
 * One figure of `pnpm bench`: set up once, run `BENCH_RUNS` times (each run
 * measures the figure and its baseline, so every ratio compares runs made
 * under the same load), then summarised from the medians.
 */
export interface Figure<State = unknown> {
  /** "1" to "9": the numbering. */
  id: string;
  /** For BENCH_FIGURES, e.g. "network-sync". */
  key: string;
  title: string;
  /** What is measured against what, one sentence for the table's notes. */
  about: string;
  setup(ctx: FigureContext): Promise<State>;
  run(state: State, ctx: FigureContext, index: number): Promise<Sample>;
  teardown(state: State, ctx: FigureContext): Promise<void>;
  rows(median: Sample): Row[];
  /** Anything more the JSON should carry (profiles, sizes), from the last run's state. */
  details?(state: State): Record<string, unknown>;
}

/** A figure, type-erased for the runner's list. */
// biome-ignore lint/suspicious/noExplicitAny: each figure's state type is its own business.
export type AnyFigure = Figure<any>;
