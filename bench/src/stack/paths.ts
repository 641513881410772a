import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A path from the repository's root. */
export const fromRoot = (path: string) =>
  fileURLToPath(new URL(`../../../${path}`, import.meta.url));

/** A built entry point; the benchmarks measure what is deployed, so they need `pnpm build` first. */
export function builtEntry(path: string): string {
  const entry = fromRoot(path);
  if (!existsSync(entry))
    throw new Error(`${path} is missing: run pnpm build first (pnpm bench does)`);
  return entry;
}
