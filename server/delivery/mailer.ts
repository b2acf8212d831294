import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import type { Logger } from '../logger.ts';
import { SmtpTargetPolicy } from './smtp-target.ts';

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** A calendar invitation: sent as the text/calendar alternative (and an .ics attachment), as clients expect. */
  icalEvent?: { method: 'REQUEST' | 'CANCEL' | 'PUBLISH'; filename?: string; content: string };
}

/** A mailbox's own SMTP server (the password already decrypted, held only for the send). */
export interface SmtpSettings {
  host: string;
  port: number;
  secure: boolean;
  user: string | null;
  password: string | null;
}

export interface Delivery {
  /** mailbox: its own SMTP server; relay: SMTP_RELAY_URL; outbox: kept in the development outbox, not sent. */
  transport: 'mailbox' | 'relay' | 'outbox';
  messageId: string;
  /** The server's answer (or where the message was kept). */
  response: string;
}

export interface Mailer {
  /** Filo's own mail (invitations, notices); `tenantId` tags it for that workspace's development outbox. */
  send(mail: OutgoingMail, opts?: { tenantId?: string }): Promise<{ messageId: string }>;
  /**
   * A complete message (headers, DKIM and all): through the mailbox's SMTP server when given, else the relay,
   * else into the development outbox, tagged with the workspace so that its outbox screen shows only its mail.
   */
  deliver(message: Mail.Options, opts?: { smtp?: SmtpSettings | null; tenantId?: string }): Promise<Delivery>;
  /** Where development mail went instead of being sent (null when a relay is configured). */
  outboxDir: string | null;
  /** Which mailbox SMTP servers may be reached (never the operator's own networks unless listed). */
  smtpTargets: SmtpTargetPolicy;
}

/** A send through a mailbox's SMTP server that failed before the server answered: the detail is logged only. */
export class MailboxTransportError extends Error {
  override name = 'MailboxTransportError';
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

const TIMEOUTS = { connectionTimeout: 20_000, greetingTimeout: 15_000, socketTimeout: 60_000 };

/**
 * Outbound mail through nodemailer: `SMTP_RELAY_URL` when set; otherwise (development) each message is
 * written as an .eml file to `$DATA_DIR/outbox` and not sent anywhere.
 */
export function createMailer(opts: {
  relayUrl: string | undefined;
  from: string;
  dataDir: string;
  log: Logger;
  smtpTargets?: SmtpTargetPolicy;
}): Mailer {
  const smtpTargets = opts.smtpTargets ?? new SmtpTargetPolicy();
  let transport: Transporter;
  let outboxDir: string | null = null;
  if (opts.relayUrl) {
    transport = nodemailer.createTransport(opts.relayUrl);
  } else {
    outboxDir = path.join(opts.dataDir, 'outbox');
    mkdirSync(outboxDir, { recursive: true });
    mkdirSync(path.join(opts.dataDir, 'outbox.partial'), { recursive: true });
    transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  }

  async function keep(info: { messageId: string; message?: unknown }, tenantId: string | undefined) {
    const tag = tenantId ? `t_${tenantId}-` : '';
    const file = path.join(outboxDir!, `${Date.now()}-${tag}${info.messageId.replace(/[^\w.-]/g, '_')}.eml`);
    // Written beside the outbox, then renamed in: a reader of the outbox never sees half a message.
    const partial = path.join(outboxDir!, '..', 'outbox.partial', path.basename(file));
    await writeFile(partial, info.message as Buffer);
    await rename(partial, file);
    return file;
  }

  return {
    outboxDir,
    smtpTargets,
    async send(mail, { tenantId } = {}) {
      const info = await transport.sendMail({ from: opts.from, ...mail });
      if (outboxDir) {
        const file = await keep(info, tenantId);
        opts.log.info({ to: mail.to, subject: mail.subject, file }, 'mail kept in the development outbox (not sent)');
      }
      return { messageId: info.messageId };
    },
    async deliver(message, { smtp, tenantId } = {}) {
      if (smtp) {
        // Checked at every send, not only when saved: the name may resolve elsewhere now.
        const target = await smtpTargets.resolve(smtp.host);
        const own = nodemailer.createTransport({
          host: target.address,
          ...(target.servername ? { servername: target.servername } : {}),
          port: smtp.port,
          secure: smtp.secure,
          // The password goes only over TLS, unless the operator allows plain AUTH to a listed local relay.
          ...(smtp.user && !smtp.secure && !(target.local && smtpTargets.allowPlainAuth) ? { requireTLS: true } : {}),
          ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.password ?? '' } } : {}),
          ...TIMEOUTS,
        });
        try {
          const info = await own.sendMail(message);
          return { transport: 'mailbox', messageId: info.messageId, response: String(info.response ?? '') };
        } catch (err) {
          const e = err as { responseCode?: number; code?: string; message?: string };
          opts.log.warn({ host: smtp.host, address: target.address, err }, 'mailbox SMTP send failed');
          if (e.code === 'ETLS')
            throw new MailboxTransportError(
              'ETLS',
              'TLS with the mailbox’s SMTP server failed or is not offered (a password goes only over TLS)',
            );
          // The server's own SMTP answer is the user's to see; how a connection failed is for the log only.
          if (typeof e.responseCode === 'number') throw err;
          throw new MailboxTransportError(e.code ?? 'ECONNECTION', 'Could not reach the mailbox’s SMTP server');
        } finally {
          own.close();
        }
      }
      const info = await transport.sendMail(message);
      if (outboxDir) {
        const file = await keep(info, tenantId);
        opts.log.info({ file }, 'mail kept in the development outbox (not sent)');
        return { transport: 'outbox', messageId: info.messageId, response: `kept in ${path.basename(file)}` };
      }
      return { transport: 'relay', messageId: info.messageId, response: String(info.response ?? '') };
    },
  };
}

/** The messages of a development outbox, oldest first (for the outbox screen and tests); optionally one workspace's. */
export function readOutbox(dir: string, filter: { tenantId?: string } = {}): { file: string; raw: string }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.eml') && (!filter.tenantId || f.includes(`-t_${filter.tenantId}-`)))
    .sort()
    .map((file) => ({ file, raw: readFileSync(path.join(dir, file), 'utf8') }));
}
