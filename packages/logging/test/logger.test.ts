import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, secretScrubber } from '../src/index.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, logger: createLogger({ name: 'test', destination }) };
}

describe('createLogger', () => {
  it('writes structured JSON with the role and context fields', () => {
    const { lines, logger } = capture();
    logger.child({ orgId: 'org-1', runId: 'run-1' }).info({ jobId: 'j1' }, 'sync started');
    const entry = JSON.parse(lines[0] ?? '{}');
    expect(entry).toMatchObject({
      level: 'info',
      role: 'test',
      orgId: 'org-1',
      runId: 'run-1',
      jobId: 'j1',
      msg: 'sync started',
    });
  });

  it('redacts secret fields by name', () => {
    const { lines, logger } = capture();
    logger.info(
      {
        clientSecret: 'abc~very-secret',
        settings: { clientSecret: 'abc~very-secret' },
        req: { headers: { authorization: 'Bearer x.y.z' } },
      },
      'saved',
    );
    const line = lines.join('\n');
    expect(line).not.toContain('very-secret');
    expect(line).not.toContain('Bearer x.y.z');
    expect(line).toContain('[REDACTED]');
  });

  it('scrubs a held secret from messages, nested values and errors', () => {
    const { lines, logger } = capture();
    const secret = 'Zq8~held.secret-value_123';
    const release = secretScrubber.track(secret);
    logger.error(
      { err: new Error(`upstream echoed ${secret}`), detail: { text: `x${secret}y` } },
      `failed with ${secret}`,
    );
    release();
    logger.info(`after release ${secret}`);
    expect(lines[0]).not.toContain(secret);
    expect(lines[0]).toContain('[REDACTED]');
    // Once released the value is ordinary text again (nothing held forever).
    expect(lines[1]).toContain(secret);
    expect(secretScrubber.size).toBe(0);
  });
});
