import nodemailer from 'nodemailer';
import { headerSafe, type RenderedEmail } from './render.js';

/** Sends one rendered email; rejects with the SMTP or connection error. */
export interface Mailer {
  send(message: RenderedEmail, to: string[]): Promise<void>;
  close(): void;
}

export interface SmtpMailerOptions {
  smtpUrl: string;
  /** MAIL_FROM. */
  from: string;
  /** Open SMTP connections at most. */
  maxConnections?: number;
}

/** A pooled nodemailer SMTP transport (SMTP_URL), with timeouts so a hung server cannot hold a job. */
export function createSmtpMailer(options: SmtpMailerOptions): Mailer {
  const transport = nodemailer.createTransport({
    url: options.smtpUrl,
    pool: true,
    maxConnections: options.maxConnections ?? 4,
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 60_000,
  });
  const from = headerSafe(options.from);
  return {
    async send(message, to) {
      await transport.sendMail({
        from,
        to,
        subject: message.subject,
        text: message.text,
        html: message.html,
        messageId: message.messageId,
        ...(message.references
          ? { references: message.references, inReplyTo: message.references }
          : {}),
        headers: message.headers,
      });
    },
    close() {
      transport.close();
    },
  };
}

export type SmtpFailure =
  /** The server refused for good (5xx): retrying sends the same refusal. */
  | { permanent: true; code: 'smtp_rejected'; responseCode: number }
  /** Connection trouble or a 4xx: the next attempt may work. */
  | { permanent: false; code: 'smtp_unavailable'; responseCode: number | null };

/** Whether an SMTP error is worth another attempt. */
export function classifySmtpError(error: unknown): SmtpFailure {
  const responseCode =
    typeof error === 'object' && error !== null && 'responseCode' in error
      ? Number((error as { responseCode: unknown }).responseCode)
      : Number.NaN;
  if (Number.isInteger(responseCode) && responseCode >= 500 && responseCode < 600) {
    return { permanent: true, code: 'smtp_rejected', responseCode };
  }
  return {
    permanent: false,
    code: 'smtp_unavailable',
    responseCode: Number.isInteger(responseCode) ? responseCode : null,
  };
}
