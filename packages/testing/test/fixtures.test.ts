import { readFileSync } from 'node:fs';
import nodemailer from 'nodemailer';
import { describe, expect, test } from '../src/fixtures.js';

let fromBeforeAll = '';

test.beforeAll(async ({ redis }) => {
  fromBeforeAll = redis.prefix;
});

describe('the redis fixture', () => {
  test('is one per file, named after it, and shared with suite-level hooks', async ({ redis }) => {
    expect(redis.prefix).toMatch(/^test:fixtures:[0-9a-f]{12}$/);
    expect(redis.prefix).toBe(fromBeforeAll);
    // What a role under test is given: the same Redis and prefix.
    expect(redis.env).toEqual({ REDIS_URL: redis.url, QUEUE_PREFIX: redis.prefix });
    await redis.redis.set(`${redis.prefix}:a`, '1');
  });

  test('keeps its keys between the tests of the file', async ({ redis }) => {
    expect(await redis.keys()).toEqual([`${redis.prefix}:a`]);
  });
});

test('the simulator answers over HTTPS with its CA, which is on disk for child processes', async ({
  simulator,
}) => {
  const response = await fetch(`${simulator.url}/_sim/health`);
  expect(response.status).toBe(200);
  expect(readFileSync(simulator.caPath, 'utf8')).toBe(simulator.caCertPem);
});

test('the smtp fixture captures what is sent', async ({ smtp }) => {
  await nodemailer.createTransport(smtp.url).sendMail({
    from: 'a@pinnacle.test',
    to: 'b@org.test',
    subject: 'hello',
    text: 'hi',
  });
  const [mail] = await smtp.waitForMessages(1);
  expect(mail?.parsed.subject).toBe('hello');
});
