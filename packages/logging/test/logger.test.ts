import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, pemSecretParts, secretScrubber, withLogContext } from '../src/index.js';

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

  it('scrubs a held PEM key whole and line by line, never its armour lines', () => {
    const body = ['MIIEvQIBADANBgkqhkiG9w0BAQEFAASC', 'BKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj'];
    const pem = `-----BEGIN PRIVATE KEY-----\n${body.join('\n')}\n-----END PRIVATE KEY-----\n`;
    const { lines, logger } = capture();
    const releases = pemSecretParts(pem).map((part) => secretScrubber.track(part));
    logger.info(`a library logged ${body[1]} alone`);
    for (const release of releases) release();
    expect(lines[0]).not.toContain(body[1]);
    expect(pemSecretParts(pem)).not.toContain('-----END PRIVATE KEY-----');
    expect(secretScrubber.size).toBe(0);
  });
});

describe('withLogContext', () => {
  it('adds its fields to every line logged within it, awaited work included, and nowhere else', async () => {
    const { lines, logger } = capture();
    logger.info('before');
    await withLogContext({ requestId: 'r-1' }, async () => {
      logger.info('inside');
      await new Promise((resolve) => setTimeout(resolve, 5));
      await withLogContext({ orgId: 'org-1' }, async () => logger.child({ x: 1 }).warn('nested'));
      logger.info({ requestId: 'explicit' }, 'own field wins');
    });
    logger.info('after');
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries.map((e) => [e.msg, e.requestId, e.orgId])).toEqual([
      ['before', undefined, undefined],
      ['inside', 'r-1', undefined],
      ['nested', 'r-1', 'org-1'],
      ['own field wins', 'explicit', undefined],
      ['after', undefined, undefined],
    ]);
  });

  it("never carries one line's own fields into the next line of the same context", () => {
    const { lines, logger } = capture();
    withLogContext({ requestId: 'r-2' }, () => {
      logger.info({ audit: true, fields: ['a'] }, 'first');
      logger.info('second');
    });
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries[0]).toMatchObject({ requestId: 'r-2', audit: true, msg: 'first' });
    expect(entries[1]).toMatchObject({ requestId: 'r-2', msg: 'second' });
    expect(entries[1]).not.toHaveProperty('audit');
    expect(entries[1]).not.toHaveProperty('fields');
  });
});
