import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { z } from 'zod';

const require = createRequire(import.meta.url);

// The parts of autocannon's JSON result read here.
const resultSchema = z.object({
  requests: z.object({ average: z.number(), total: z.number() }),
  latency: z.object({ average: z.number(), p50: z.number(), p99: z.number() }),
  // Response bytes (headers included) per second.
  throughput: z.object({ average: z.number() }),
  non2xx: z.number(),
  errors: z.number(),
  timeouts: z.number(),
});
export type LoadResult = z.infer<typeof resultSchema>;

/**
 * autocannon in a process of its own (its CLI), so the load generator's CPU
 * is not the server's: `connections` connections for `seconds` seconds
 * against `url`, after a short warm-up.
 */
export async function loadTest(options: {
  url: string;
  connections: number;
  seconds: number;
  headers?: Record<string, string>;
}): Promise<LoadResult> {
  const args = [
    require.resolve('autocannon'),
    '--json',
    '--connections',
    String(options.connections),
    '--duration',
    String(options.seconds),
    '--warmup',
    '[',
    '-c',
    String(options.connections),
    '-d',
    '1',
    ']',
  ];
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    args.push('--headers', `${name}=${value}`);
  }
  args.push(options.url);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`autocannon exited ${code}: ${err.slice(-500)}`);
  const result = resultSchema.parse(JSON.parse(out.trim().split('\n').at(-1) ?? '{}'));
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(
      `${options.url}: ${result.non2xx} non-2xx answers, ${result.errors} errors under load`,
    );
  }
  return result;
}
