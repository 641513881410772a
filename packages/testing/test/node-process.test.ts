import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { spawnNodeProcess, TestingError } from '../src/index.js';

const script = fileURLToPath(new URL('./fixtures/child-script.ts', import.meta.url));

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('spawnNodeProcess', () => {
  it('runs a TypeScript entry with Node 22, workspace sources, env and args', async () => {
    const proc = spawnNodeProcess(script, { env: { FIXTURE_WHO: 'tests' }, args: ['serve', 'x'] });
    try {
      await proc.waitForLine(/^ready$/);
      const lines = proc.stdoutLines();
      expect(lines).toContain('hello tests');
      expect(lines).toContain('args serve x');
      expect(lines.find((line) => line.startsWith('node '))).toMatch(/^node v22\./);
      expect(lines.find((line) => line.startsWith('port '))).toMatch(/^port \d+$/);
      expect(lines.find((line) => line.startsWith('resolved '))).toMatch(
        /^resolved file:.*\/packages\/testing\/src\/index\.ts$/,
      );
      // No wrapper in between: the pid we signal is the script's own.
      expect(lines).toContain(`pid ${proc.pid}`);
      expect(await proc.waitForLine(/^hello /)).toBe('hello tests');
    } finally {
      await proc.kill('SIGKILL');
    }
  });

  it('kill(SIGKILL) ends the script itself at once', async () => {
    const proc = spawnNodeProcess(script);
    await proc.waitForLine(/^ready$/);
    expect(isAlive(proc.pid)).toBe(true);
    expect(await proc.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    expect(isAlive(proc.pid)).toBe(false);
    expect(proc.stdoutLines()).not.toContain('got SIGTERM');
  });

  it('kill(SIGTERM) reaches the script, which can shut down gracefully', async () => {
    const proc = spawnNodeProcess(script);
    await proc.waitForLine(/^ready$/);
    expect(await proc.kill()).toEqual({ code: 0, signal: null });
    expect(proc.stdoutLines()).toContain('got SIGTERM');
  });

  it('waitForLine fails with process_exited when the script ends without the line', async () => {
    const proc = spawnNodeProcess(script, { args: ['exit-early'] });
    const error = await proc.waitForLine(/^ready$/).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TestingError);
    expect((error as TestingError).code).toBe('process_exited');
    expect((error as TestingError).message).toContain('leaving before ready');
    expect(await proc.exited).toEqual({ code: 3, signal: null });
    // Asked after the exit, too.
    await expect(proc.waitForLine(/^ready$/)).rejects.toMatchObject({ code: 'process_exited' });
  });

  it('waitForLine fails with timeout when the line never comes', async () => {
    const proc = spawnNodeProcess(script);
    try {
      await proc.waitForLine(/^ready$/);
      await expect(proc.waitForLine(/^never$/, 300)).rejects.toMatchObject({ code: 'timeout' });
    } finally {
      await proc.kill('SIGKILL');
    }
  });
});
