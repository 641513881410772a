/**
 * `pnpm bench`: every figure (or those BENCH_FIGURES names), each run
 * BENCH_RUNS times (default 3) beside its baseline; writes
 * bench/results/latest.json and latest.md (BENCH_RESULTS_DIR) and prints the
 * table. Expects the build (`pnpm bench` builds first).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FigureContext, Sample } from './figure.js';
import { figures } from './figures/index.js';
import { intKnob, listKnob } from './knobs.js';
import {
  type BenchResults,
  currentLoad,
  type FigureResult,
  limitsOutOfTheWay,
  machine,
  toMarkdown,
} from './report.js';
import { fromRoot } from './stack/paths.js';
import { Stack } from './stack/stack.js';
import { medianSample } from './stats.js';

const runs = intKnob('BENCH_RUNS', 3);
const wanted = listKnob('BENCH_FIGURES');
const outDir = process.env.BENCH_RESULTS_DIR ?? fromRoot('bench/results');
const selected = figures.filter((f) => !wanted || wanted.includes(f.id) || wanted.includes(f.key));
if (wanted && selected.length === 0) {
  throw new Error(
    `BENCH_FIGURES names no figure; choose from ${figures.map((f) => `${f.id} (${f.key})`).join(', ')}`,
  );
}

const startedAt = new Date().toISOString();
const loadAtStart = currentLoad();
const stack = new Stack();
const ctx: FigureContext = {
  stack,
  log: (message) => process.stderr.write(`bench: ${message}\n`),
};
const results: FigureResult[] = [];
let failed = false;

try {
  for (const figure of selected) {
    ctx.log(`figure ${figure.id} (${figure.key}): ${figure.title}`);
    const samples: Sample[] = [];
    let state: unknown;
    let done: FigureResult | undefined;
    try {
      state = await figure.setup(ctx);
      for (let i = 0; i < runs; i++) {
        const sample = await figure.run(state, ctx, i);
        samples.push(sample);
        ctx.log(`figure ${figure.id} run ${i + 1}/${runs}: ${JSON.stringify(sample)}`);
      }
      const median = medianSample(samples);
      const row: FigureResult = {
        id: figure.id,
        key: figure.key,
        title: figure.title,
        about: figure.about,
        runs: samples,
        median,
        rows: figure.rows(median),
      };
      done = row;
      results.push(row);
      for (const r of row.rows) {
        // The smoke test looks for these lines.
        process.stderr.write(
          `bench row ${figure.id}: ${r.measure}: ${r.value} (baseline ${r.baseline})\n`,
        );
      }
    } catch (error) {
      failed = true;
      const message = error instanceof Error ? error.message : String(error);
      ctx.log(`figure ${figure.id} failed: ${error instanceof Error ? error.stack : message}`);
      results.push({
        id: figure.id,
        key: figure.key,
        title: figure.title,
        about: figure.about,
        runs: samples,
        median: {},
        rows: [],
        error: message.split('\n')[0] ?? message,
      });
    } finally {
      if (state !== undefined) {
        await figure.teardown(state, ctx).catch((error: unknown) => {
          failed = true;
          ctx.log(`figure ${figure.id} teardown failed: ${String(error)}`);
        });
        // After the teardown: a profile, for one, is written as its process exits.
        const details = done ? figure.details?.(state) : undefined;
        if (done && details) done.details = details;
      }
      await stack.releaseRedis();
    }
  }
} finally {
  await stack.close();
}

const output: BenchResults = {
  startedAt,
  finishedAt: new Date().toISOString(),
  runs,
  machine: machine(loadAtStart),
  limits: limitsOutOfTheWay(),
  figures: results,
};
const markdown = toMarkdown(output);
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify(output, null, 2)}\n`);
writeFileSync(join(outDir, 'latest.md'), markdown);
process.stdout.write(`${markdown}\n`);
if (failed) process.exitCode = 1;
