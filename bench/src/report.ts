import { cpus, loadavg, totalmem } from 'node:os';
import type { Row, Sample } from './figure.js';
import { LIMITS_OUT_OF_THE_WAY } from './stack/limits.js';

export interface FigureResult {
  id: string;
  key: string;
  title: string;
  about: string;
  runs: Sample[];
  median: Sample;
  rows: Row[];
  details?: Record<string, unknown>;
  /** Set when the figure could not run to the end. */
  error?: string;
}

export interface BenchResults {
  startedAt: string;
  finishedAt: string;
  runs: number;
  machine: {
    cpus: number;
    cpuModel: string;
    memoryGb: number;
    node: string;
    /** 1-minute load average when the bench started and ended (other work on the machine shows here). */
    loadAverageAtStart: number;
    loadAverageAtEnd: number;
  };
  /** Abuse limits raised out of the way for the roles the figures start. */
  limits: Record<string, string>;
  figures: FigureResult[];
}

export function machine(loadAverageAtStart: number): BenchResults['machine'] {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    loadAverageAtStart,
    loadAverageAtEnd: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

export function currentLoad(): number {
  return Math.round((loadavg()[0] ?? 0) * 100) / 100;
}

export const limitsOutOfTheWay = (): Record<string, string> => ({ ...LIMITS_OUT_OF_THE_WAY });

const cell = (text: string) => text.replaceAll('|', '\\|');

function verdict(met: boolean | null): string {
  if (met === null) return 'report';
  return met ? 'met' : '**missed**';
}

/** A Markdown table, its columns padded as the repository's formatter (Biome) writes them. */
function table(rows: string[][]): string[] {
  const widths = (rows[0] ?? []).map((_, c) =>
    Math.max(3, ...rows.map((row) => (row[c] ?? '').length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((text, c) => text.padEnd(widths[c] ?? 3)).join(' | ')} |`;
  const [header, ...body] = rows;
  return [line(header ?? []), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)];
}

/** The results as the Markdown table `bench/results/latest.md` holds. */
export function toMarkdown(results: BenchResults): string {
  const m = results.machine;
  const lines = [
    '# pnpm bench: latest results',
    '',
    `Run ${results.startedAt} to ${results.finishedAt}, each figure the median of ${results.runs} runs, ` +
      'every baseline measured in the same runs (ratios are medians of the per-run ratios).',
    '',
    `Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGb} GB, Node ${m.node}; ` +
      `1-minute load average ${m.loadAverageAtStart} at the start and ${m.loadAverageAtEnd} at the end ` +
      `(above ${m.cpus} means other work shared the cores).`,
    '',
    `Rate limits and email caps configured out of the way: ${Object.entries(results.limits)
      .map(([k, v]) => `\`${k}=${v}\``)
      .join(', ')}.`,
    '',
  ];
  const rows: string[][] = [
    ['#', 'figure', 'measure', 'measured', 'baseline', 'ratio', 'goal', ''],
  ];
  for (const f of results.figures) {
    if (f.error) {
      rows.push([f.id, cell(f.title), `failed: ${cell(f.error)}`, '', '', '', '', '']);
      continue;
    }
    for (const r of f.rows) {
      rows.push([
        f.id,
        cell(f.title),
        cell(r.measure),
        cell(r.value),
        cell(r.baseline),
        r.ratio === null ? '' : `${r.ratio.toFixed(2)}x`,
        cell(r.goal),
        verdict(r.met),
      ]);
    }
  }
  lines.push(...table(rows), '', '## What each figure measures', '');
  for (const f of results.figures) lines.push(`${f.id}. **${f.title}**: ${f.about}`);
  lines.push('');
  return lines.join('\n');
}
