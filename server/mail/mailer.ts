import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from '../logger.ts';

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** A calendar invitation: sent as the text/calendar alternative (and an .ics attachment), as clients expect. */
  icalEvent?: { method: 'REQUEST' | 'CANCEL' | 'PUBLISH'; filename?: string; content: string };
}

export interface Mailer {
  send(mail: OutgoingMail): Promise<{ messageId: string }>;
  /** Where development mail went instead of being sent (null when a relay is configured). */
  outboxDir: string | null;
}

/**
 * Outbound mail through nodemailer: `SMTP_RELAY_URL` when set; otherwise (development) each message is
 * written as an .eml file to `$DATA_DIR/outbox` and not sent anywhere.
 */
export function createMailer(opts: {
  relayUrl: string | undefined;
  from: string;
  dataDir: string;
  log: Logger;
}): Mailer {
  let transport: Transporter;
  let outboxDir: string | null = null;
  if (opts.relayUrl) {
    transport = nodemailer.createTransport(opts.relayUrl);
  } else {
    outboxDir = path.join(opts.dataDir, 'outbox');
    mkdirSync(outboxDir, { recursive: true });
    transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  }
  return {
    outboxDir,
    async send(mail) {
      const info = await transport.sendMail({ from: opts.from, ...mail });
      if (outboxDir) {
        const { writeFile } = await import('node:fs/promises');
        const file = path.join(outboxDir, `${Date.now()}-${info.messageId.replace(/[^\w.-]/g, '_')}.eml`);
        await writeFile(file, (info as unknown as { message: Buffer }).message);
        opts.log.info({ to: mail.to, subject: mail.subject, file }, 'mail kept in the development outbox (not sent)');
      }
      return { messageId: info.messageId };
    },
  };
}

/** The messages of a development outbox, oldest first (for the outbox screen and tests). */
export function readOutbox(dir: string): { file: string; raw: string }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.eml'))
    .sort()
    .map((file) => ({ file, raw: readFileSync(path.join(dir, file), 'utf8') }));
}
