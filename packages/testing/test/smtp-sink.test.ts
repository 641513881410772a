import nodemailer from 'nodemailer';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type SmtpSink, startSmtpSink, TestingError } from '../src/index.js';

let sink: SmtpSink;

beforeAll(async () => {
  sink = await startSmtpSink();
});

afterAll(async () => {
  await sink.stop();
});

beforeEach(async () => {
  await sink.start();
  sink.failNext(0);
  sink.clear();
});

function transport() {
  // A fresh, non-pooled transport per send: each message is its own SMTP session.
  return nodemailer.createTransport(sink.url);
}

const mail = {
  from: '"Pinnacle Series" <noreply@pinnacle.test>',
  to: ['Ada Admin <ada@org.test>', 'bob@org.test'],
  subject: 'Entra ID sync failed: client secret expired',
  text: 'Generate a new client secret in Entra ID.',
  html: '<p>Generate a <b>new client secret</b> in Entra ID.</p>',
  headers: { 'X-Pinnacle-Run': 'run-42' },
};

describe('startSmtpSink', () => {
  it('listens on 127.0.0.1 without auth or TLS', () => {
    expect(sink.url).toBe(`smtp://127.0.0.1:${sink.port}`);
    expect(sink.isRunning()).toBe(true);
  });

  it('receives a message over the wire and parses it', async () => {
    const info = await transport().sendMail(mail);
    expect(info.accepted).toEqual(['ada@org.test', 'bob@org.test']);

    // Stored before the 250 reply, so no waiting is needed once sendMail resolved.
    const [received, ...rest] = sink.messages();
    expect(rest).toEqual([]);
    expect(received?.envelope).toEqual({
      from: 'noreply@pinnacle.test',
      to: ['ada@org.test', 'bob@org.test'],
    });
    expect(received?.parsed.subject).toBe(mail.subject);
    expect(received?.parsed.text?.trim()).toBe(mail.text);
    expect(received?.parsed.html).toBe(mail.html);
    expect(received?.parsed.from).toEqual({
      address: 'noreply@pinnacle.test',
      name: 'Pinnacle Series',
    });
    expect(received?.parsed.to).toEqual([
      { address: 'ada@org.test', name: 'Ada Admin' },
      { address: 'bob@org.test', name: '' },
    ]);
    expect(received?.parsed.headers['x-pinnacle-run']).toBe('run-42');
    expect(received?.parsed.messageId).toBe(info.messageId);
    expect(received?.raw).toContain(`Subject: ${mail.subject}`);
  });

  it('waitForMessages resolves when enough arrive and times out otherwise', async () => {
    const waiting = sink.waitForMessages(2, 5000);
    await transport().sendMail({ ...mail, subject: 'one' });
    await transport().sendMail({ ...mail, subject: 'two' });
    const messages = await waiting;
    expect(messages.map((m) => m.parsed.subject)).toEqual(['one', 'two']);

    const error = await sink.waitForMessages(3, 200).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TestingError);
    expect((error as TestingError).code).toBe('timeout');
  });

  it('failNext rejects the next messages with the 4xx, then accepts again', async () => {
    sink.failNext(2, 451);
    for (const attempt of [1, 2]) {
      const error = await transport()
        .sendMail({ ...mail, subject: `attempt ${attempt}` })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ responseCode: 451 });
    }
    await transport().sendMail({ ...mail, subject: 'attempt 3' });
    expect(sink.messages().map((m) => m.parsed.subject)).toEqual(['attempt 3']);
    expect(sink.rejectedCount()).toBe(2);
  });

  it('failNext refuses codes that are not 4xx or 5xx', () => {
    expect(() => sink.failNext(1, 250)).toThrow(TestingError);
  });

  it('stop() makes sends fail; start() brings it back on the same port', async () => {
    const port = sink.port;
    await sink.stop();
    expect(sink.isRunning()).toBe(false);
    const error = await transport()
      .sendMail(mail)
      .catch((e: unknown) => e);
    expect((error as Error).message).toContain('ECONNREFUSED');

    await sink.start();
    expect(sink.port).toBe(port);
    await transport().sendMail({ ...mail, subject: 'after restart' });
    expect(sink.messages().map((m) => m.parsed.subject)).toEqual(['after restart']);
  });

  it('stop() completes with a pooled sender still connected, whose next send fails', async () => {
    const pooled = nodemailer.createTransport({ url: sink.url, pool: true, maxConnections: 1 });
    try {
      await pooled.sendMail({ ...mail, subject: 'pooled' });
      await sink.stop();
      const error = await pooled.sendMail(mail).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
    } finally {
      pooled.close();
    }
  });
});
