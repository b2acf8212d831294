import { simpleParser, type AddressObject } from 'mailparser';
import type { OutboxItem } from '#contracts/outbound';
import { sanitizeEmailHtml } from '../../mail/sanitize.ts';
import { notFound } from '../http/errors.ts';
import { readOutbox, type Mailer } from '../delivery/mailer.ts';
import { requireRole, type Actor } from '../tenancy.ts';

const addresses = (a: AddressObject | AddressObject[] | undefined) =>
  (Array.isArray(a) ? a : a ? [a] : []).map((x) => x.text).join(', ');

/**
 * The development outbox: with no relay and no mailbox SMTP server, outgoing mail is kept as .eml files instead of
 * being sent. Admins see their workspace's (newest first); with a relay configured there is nothing to show.
 */
export async function listOutbox(actor: Actor, mailer: Mailer, limit = 100): Promise<OutboxItem[]> {
  if (!mailer.outboxDir) throw notFound('Outbox');
  requireRole(actor, 'owner', 'admin');
  const files = readOutbox(mailer.outboxDir, { tenantId: actor.tenantId }).reverse().slice(0, limit);
  return Promise.all(
    files.map(async ({ file, raw }) => {
      const mail = await simpleParser(raw, { skipImageLinks: true });
      const refs = mail.references;
      return {
        id: file,
        keptAt: new Date(Number(file.split('-')[0])).toISOString(),
        from: addresses(mail.from),
        to: addresses(mail.to),
        cc: addresses(mail.cc),
        subject: mail.subject ?? '',
        messageId: mail.messageId ?? null,
        inReplyTo: mail.inReplyTo ?? null,
        references: Array.isArray(refs) ? refs : refs ? [refs] : [],
        text: mail.text ?? '',
        html: typeof mail.html === 'string' ? sanitizeEmailHtml(mail.html, { cidUrl: () => null }).html : null,
        attachments: mail.attachments.map((a) => ({
          fileName: a.filename ?? 'attachment',
          contentType: a.contentType,
          size: a.size,
        })),
        dkimSigned: mail.headers.has('dkim-signature'),
        size: Buffer.byteLength(raw),
      };
    }),
  );
}
