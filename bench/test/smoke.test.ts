import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnNodeProcess } from '@pinnacle/testing';
import { afterAll, expect, it } from 'vitest';
import type { BenchResults } from '../src/report.js';

const dir = mkdtempSync(join(tmpdir(), 'pinnacle-bench-smoke-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Sizes small enough for seconds a figure: this checks that each starts and prints its rows, not what they say. */
const TINY = {
  BENCH_RUNS: '1',
  BENCH_RESULTS_DIR: dir,
  BENCH_LATENCY_MS: '2',
  BENCH_JITTER_MS: '1',
  BENCH_NETWORK_USERS: '1500',
  BENCH_CPU_USERS: '1500',
  BENCH_MILLION_USERS: '3000',
  BENCH_MILLION_BASE_USERS: '1000',
  BENCH_COST_USERS: '1500',
  BENCH_SYNC_NOW_ORGS: '3',
  BENCH_SYNC_NOW_USERS: '20',
  BENCH_API_CONNECTIONS: '5',
  BENCH_API_SECONDS: '1',
  BENCH_ALERT_ORGS: '30',
  BENCH_SCHEDULER_ORGS: '100',
  BENCH_SNAPSHOT_SIZES: '200',
  BENCH_SNAPSHOT_DEMO_USERS: '300',
};

it('runs every figure on tiny sizes and prints its rows in the table', async () => {
  const bench = spawnNodeProcess(fileURLToPath(new URL('../src/main.ts', import.meta.url)), {
    env: TINY,
  });
  const exit = await bench.exited;
  const stderr = bench.stderrLines();
  expect(exit, stderr.slice(-30).join('\n')).toEqual({ code: 0, signal: null });

  const results = JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8')) as BenchResults;
  expect(results.figures.map((f) => f.id)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9']);
  const table = bench.stdoutLines().filter((line) => line.startsWith('| '));
  expect(readFileSync(join(dir, 'latest.md'), 'utf8')).toContain(table.join('\n'));
  const cells = table.map((line) => line.split('|').map((c) => c.trim()));
  for (const figure of results.figures) {
    expect(figure.error).toBeUndefined();
    expect(figure.rows.length).toBeGreaterThan(0);
    expect(figure.runs).toHaveLength(1);
    for (const row of figure.rows) {
      expect(cells.some(([, id, , measure]) => id === figure.id && measure === row.measure)).toBe(
        true,
      );
      expect(stderr).toContain(
        `bench row ${figure.id}: ${row.measure}: ${row.value} (baseline ${row.baseline})`,
      );
    }
  }
}, 300_000);
