import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { type Simulator, startSimulator, trustSimulatorCa } from '@pinnacle/entra-simulator';
import { test as base, expect } from 'vitest';
import { type SmtpSink, startSmtpSink } from './smtp-sink.js';
import { type TestRedis, useTestRedis } from './test-redis.js';

/** A suite's Redis: the cleanup is the fixture's, never the suite's. */
export type RedisFixture = Omit<TestRedis, 'cleanup'>;

/** The simulator, its CA trusted by this process and on disk at `caPath` for child processes. */
export type SimulatorFixture = Simulator & { caPath: string };

/**
 * The name a file's keys are filed under (`test:<file>:<random>`), so a key
 * left behind says which suite wrote it.
 */
function suiteName(): string {
  const path = expect.getState().testPath;
  return path === undefined ? 'suite' : basename(path).replace(/\.test\.ts$/, '');
}

/**
 * Vitest fixtures for the real things tests talk to, each set up once per
 * test file, only by the files that use it, and torn down after its last
 * test. Suite-level hooks get them too: `test.beforeAll(({ redis }) => ...)`.
 *
 * - `redis`: the shared Redis with a prefix unique to the file; its keys
 *   (and only those) are deleted at the end.
 * - `simulator`: the Entra/Graph simulator over HTTPS, its CA trusted.
 * - `smtp`: an SMTP server capturing what is sent (smtp-server).
 *
 * Apps extend this `test` with their stores and roles.
 */
export const test = base
  // biome-ignore lint/correctness/noEmptyPattern: vitest reads a fixture's dependencies from this pattern (none).
  .extend('redis', { scope: 'file' }, async ({}, { onCleanup }): Promise<RedisFixture> => {
    const redis = await useTestRedis(suiteName());
    onCleanup(() => redis.cleanup());
    return redis;
  })
  // biome-ignore lint/correctness/noEmptyPattern: vitest reads a fixture's dependencies from this pattern (none).
  .extend('simulator', { scope: 'file' }, async ({}, { onCleanup }): Promise<SimulatorFixture> => {
    const caDir = mkdtempSync(join(tmpdir(), 'pinnacle-sim-ca-'));
    const caPath = join(caDir, 'ca.pem');
    const sim = await startSimulator({ caPath });
    trustSimulatorCa(sim.caCertPem);
    onCleanup(async () => {
      await sim.close();
      rmSync(caDir, { recursive: true, force: true });
    });
    return Object.assign(sim, { caPath });
  })
  // biome-ignore lint/correctness/noEmptyPattern: vitest reads a fixture's dependencies from this pattern (none).
  .extend('smtp', { scope: 'file' }, async ({}, { onCleanup }): Promise<SmtpSink> => {
    const smtp = await startSmtpSink();
    onCleanup(() => smtp.stop());
    return smtp;
  });

export { describe, expect } from 'vitest';
