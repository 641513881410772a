import { type AddressObject, type EmailAddress, type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { TestingError } from './errors.js';
import { getFreePort } from './ports.js';

export interface MailAddress {
  address: string;
  name: string;
}

export interface ReceivedMail {
  /** What the client said in MAIL FROM / RCPT TO ('' for the null sender). */
  envelope: { from: string; to: string[] };
  /** The message as transferred (headers and body). */
  raw: string;
  parsed: {
    subject: string | undefined;
    text: string | undefined;
    html: string | undefined;
    from: MailAddress | undefined;
    to: MailAddress[];
    messageId: string | undefined;
    /** Lower-case header name → unfolded value; the first occurrence when a header repeats. */
    headers: Record<string, string>;
  };
  receivedAt: Date;
}

export interface SmtpSinkOptions {
  /** Default: a free port. */
  port?: number;
}

export interface SmtpSink {
  /** `smtp://127.0.0.1:<port>`: no auth, no TLS. */
  readonly url: string;
  readonly port: number;
  /** A copy of what was accepted so far, oldest first. */
  messages(): ReceivedMail[];
  /** Resolves with the messages once at least `count` were accepted; `timeout` error otherwise. */
  waitForMessages(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  /** Forgets the messages accepted so far. */
  clear(): void;
  /** Refuses the next `n` messages at end of DATA with `responseCode` (default 451), so senders retry. */
  failNext(n: number, responseCode?: number): void;
  /** How many messages were refused by `failNext`. */
  rejectedCount(): number;
  isRunning(): boolean;
  /** Stops listening and drops open connections (pending ones get 421). */
  stop(): Promise<void>;
  /** Listens again on the same port, keeping the messages received so far. */
  start(): Promise<void>;
}

interface Waiter {
  count: number;
  resolve: (messages: ReceivedMail[]) => void;
}

/** A real SMTP server on 127.0.0.1 that keeps every message it accepts, parsed. */
export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  let received: ReceivedMail[] = [];
  const waiters = new Set<Waiter>();
  let failuresLeft = 0;
  let failureCode = 451;
  let rejected = 0;
  let server: SMTPServer | undefined;
  let port = options.port ?? (await getFreePort());

  const settleWaiters = (): void => {
    for (const waiter of waiters) {
      if (received.length >= waiter.count) {
        waiters.delete(waiter);
        waiter.resolve([...received]);
      }
    }
  };

  const onData = (
    stream: SMTPServerDataStream,
    session: SMTPServerSession,
    callback: (error?: Error | null) => void,
  ): void => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      if (failuresLeft > 0) {
        failuresLeft--;
        rejected++;
        callback(smtpError(failureCode, 'Temporary failure injected by the test SMTP sink'));
        return;
      }
      const raw = Buffer.concat(chunks);
      simpleParser(raw).then(
        (parsed) => {
          // Stored before the 250 reply, so a resolved sendMail() means messages() has it.
          received.push(toReceivedMail(session, raw, parsed));
          callback();
          settleWaiters();
        },
        (error: unknown) => {
          callback(smtpError(554, `The test SMTP sink could not parse the message: ${error}`));
        },
      );
    });
  };

  const listen = async (): Promise<void> => {
    const created = new SMTPServer({
      secure: false,
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      // stop() should look like a server going down, not wait 30 s for idle clients.
      closeTimeout: 200,
      onData,
    });
    // Client-side resets and the like: a test sink has nobody to report them to.
    created.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      created.server.once('error', reject);
      created.listen(port, '127.0.0.1', () => {
        created.server.off('error', reject);
        resolve();
      });
    });
    server = created;
  };

  const listenFirst = async (): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        await listen();
        return;
      } catch (error) {
        // The free port can be taken between choosing and binding it: choose again.
        const taken = (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
        if (!taken || options.port !== undefined || attempt >= 3) {
          throw new TestingError('smtp_sink_failed', `SMTP sink cannot listen on ${port}`, {
            cause: error,
          });
        }
        port = await getFreePort();
      }
    }
  };

  await listenFirst();

  return {
    get url() {
      return `smtp://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    messages: () => [...received],
    waitForMessages(count, timeoutMs = 5000) {
      if (received.length >= count) return Promise.resolve([...received]);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(
            new TestingError(
              'timeout',
              `waited ${timeoutMs} ms for ${count} messages; ${received.length} arrived`,
            ),
          );
        }, timeoutMs);
        const waiter: Waiter = {
          count,
          resolve: (messages) => {
            clearTimeout(timer);
            resolve(messages);
          },
        };
        waiters.add(waiter);
      });
    },
    clear() {
      received = [];
    },
    failNext(n, responseCode = 451) {
      if (!Number.isInteger(n) || n < 0) {
        throw new TestingError('invalid_usage', `failNext count must be a whole number, got ${n}`);
      }
      if (!Number.isInteger(responseCode) || responseCode < 400 || responseCode > 599) {
        throw new TestingError(
          'invalid_usage',
          `failNext code must be 4xx or 5xx, got ${responseCode}`,
        );
      }
      failuresLeft = n;
      failureCode = responseCode;
    },
    rejectedCount: () => rejected,
    isRunning: () => server !== undefined,
    async stop() {
      const running = server;
      server = undefined;
      if (running === undefined) return;
      await new Promise<void>((resolve) => running.close(resolve));
    },
    async start() {
      if (server !== undefined) return;
      try {
        await listen();
      } catch (error) {
        throw new TestingError('smtp_sink_failed', `SMTP sink cannot listen again on ${port}`, {
          cause: error,
        });
      }
    },
  };
}

function smtpError(responseCode: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode });
}

function toReceivedMail(session: SMTPServerSession, raw: Buffer, mail: ParsedMail): ReceivedMail {
  const { mailFrom, rcptTo } = session.envelope;
  const from = mail.from === undefined ? [] : addresses(mail.from);
  return {
    envelope: {
      from: mailFrom === false ? '' : mailFrom.address,
      to: rcptTo.map((rcpt) => rcpt.address),
    },
    raw: raw.toString('utf8'),
    parsed: {
      subject: mail.subject,
      text: mail.text,
      html: mail.html === false ? undefined : mail.html,
      from: from[0],
      to: mail.to === undefined ? [] : addresses(mail.to),
      messageId: mail.messageId,
      headers: headerRecord(mail.headerLines),
    },
    receivedAt: new Date(),
  };
}

function addresses(field: AddressObject | AddressObject[]): MailAddress[] {
  const flatten = (entries: EmailAddress[]): MailAddress[] =>
    entries.flatMap((entry) =>
      entry.group !== undefined
        ? flatten(entry.group)
        : entry.address === undefined
          ? []
          : [{ address: entry.address, name: entry.name }],
    );
  return (Array.isArray(field) ? field : [field]).flatMap((object) => flatten(object.value));
}

function headerRecord(lines: ParsedMail['headerLines']): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const { key, line } of lines) {
    if (Object.hasOwn(headers, key)) continue;
    const value = line.slice(line.indexOf(':') + 1);
    headers[key] = value.replace(/\r?\n[ \t]+/g, ' ').trim();
  }
  return headers;
}
