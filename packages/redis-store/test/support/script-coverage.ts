/**
 * Global setup: on a Cluster run (TEST_REDIS_CLUSTER=1), fails the run
 * unless every script the store defines (`defineScript({ name })` in src)
 * ran at least once — each then ran on a three-primary cluster without
 * CROSSSLOT, which is what the run proves.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../../src/', import.meta.url));

function definedScripts(): string[] {
  const names: string[] = [];
  for (const file of readdirSync(src).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(join(src, file), 'utf8');
    for (const m of text.matchAll(/defineScript\(\{\s*name:\s*'(\w+)'/g)) names.push(m[1] ?? '');
  }
  return names;
}

export default function setup(): (() => void) | undefined {
  const onCluster = ['1', 'true'].includes(process.env.TEST_REDIS_CLUSTER ?? '');
  if (!onCluster) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'pinnacle-script-log-'));
  const log = join(dir, 'scripts.log');
  writeFileSync(log, '');
  process.env.TEST_SCRIPT_LOG = log;
  return () => {
    const ran = new Set(readFileSync(log, 'utf8').split('\n').filter(Boolean));
    rmSync(dir, { recursive: true, force: true });
    const defined = definedScripts();
    const missing = defined.filter((name) => !ran.has(name));
    if (defined.length === 0 || missing.length > 0) {
      throw new Error(
        `scripts never run on the cluster: ${missing.join(', ') || '(no script found in src)'}`,
      );
    }
    console.log(`every store script ran on the cluster: ${defined.length} scripts`);
  };
}
