import { readdirSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { simpleParser, type AddressObject } from 'mailparser';
import type { OutboxItem } from '#contracts/outbound';
import type { MikroORM } from '../../db/orm.ts';
import { sanitizeEmailHtml } from '../../mail/sanitize.ts';
import { notFound } from '../http/errors.ts';
import type { Mailer } from '../delivery/mailer.ts';
import { inTenant, requireRole, type Actor } from '../tenancy.ts';

const addresses = (a: AddressObject | AddressObject[] | undefined) =>
  (Array.isArray(a) ? a : a ? [a] : []).map((x) => x.text).join(', ');

/** A kept file's name: `<ms>-[t_<tenant>-]<message id>.eml`, nothing that could leave the folder. */
const FILE = /^\d{10,16}-[\w.-]{1,300}\.eml$/;
/** Enough of a file to read its headers (To and Cc) without reading a campaign's whole body. */
const HEAD_BYTES = 16 * 1024;
/** A raw message shown on the page: larger ones are cut (attachments are base64 text anyway). */
const RAW_MAX_BYTES = 512 * 1024;

/** The recipients named in a message's To and Cc headers, lower case. */
export function headerRecipients(head: string): string[] {
  const headers = head.split(/\r?\n\r?\n/, 1)[0]!.replace(/\r?\n[ \t]+/g, ' ');
  const out: string[] = [];
  for (const line of headers.split(/\r?\n/)) {
    if (!/^(to|cc):/i.test(line)) continue;
    for (const match of line.matchAll(/[^\s<>,;:"()]+@[^\s<>,;:"()]+/g)) out.push(match[0].toLowerCase());
  }
  return out;
}

async function readHead(file: string, bytes = HEAD_BYTES): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(bytes), 0, bytes, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

/**
 * The development outbox: with no relay and no mailbox SMTP server, outgoing mail is kept as .eml files instead of
 * being sent. An owner or admin sees, newest first, the mail kept for their workspace (campaigns, replies, meeting
 * invitations) and Filo's own mail to its people (team invitations, password resets, notices): mail with no
 * workspace tag addressed to one of its members or pending invitees. With a relay configured there is nothing.
 */
export class DevOutbox {
  readonly #orm: MikroORM;
  readonly #mailer: Mailer;

  constructor(deps: { orm: MikroORM; mailer: Mailer }) {
    this.#orm = deps.orm;
    this.#mailer = deps.mailer;
  }

  async list(actor: Actor, limit = 100): Promise<OutboxItem[]> {
    const files = await this.#visible(actor, limit);
    return Promise.all(files.map((file) => this.#item(file)));
  }

  /** One kept message as it was written, for the page's raw view (cut past {@link RAW_MAX_BYTES}). */
  async raw(actor: Actor, id: string): Promise<string> {
    if (!FILE.test(id)) throw notFound('Message');
    const files = await this.#visible(actor, Number.POSITIVE_INFINITY, id);
    if (!files.length) throw notFound('Message');
    return readHead(files[0]!, RAW_MAX_BYTES);
  }

  /** Paths of the messages this workspace's admins may read, newest first (only `only`, when given). */
  async #visible(actor: Actor, limit: number, only?: string): Promise<string[]> {
    const dir = this.#mailer.outboxDir;
    if (!dir) throw notFound('Outbox');
    requireRole(actor, 'owner', 'admin');
    const ours = await this.#addresses(actor);
    const names = readdirSync(dir)
      .filter((f) => FILE.test(f) && (!only || f === only))
      .sort()
      .reverse();
    const out: string[] = [];
    for (const name of names) {
      if (out.length >= limit) break;
      const file = path.join(dir, name);
      const tag = /^\d+-t_([0-9a-f-]{36})-/.exec(name)?.[1];
      if (tag) {
        if (tag === actor.tenantId) out.push(file);
        continue;
      }
      if (headerRecipients(await readHead(file)).some((a) => ours.has(a))) out.push(file);
    }
    return out;
  }

  /** The workspace's members and pending invitees: whose untagged mail its admins may read. */
  #addresses(actor: Actor): Promise<Set<string>> {
    return inTenant(this.#orm, actor, async ({ em }) => {
      const rows = (await em.execute(
        `select lower(u.email) as email from memberships m join users u on u.id = m.user_id where m.tenant_id = ?
         union select lower(i.email) from invitations i where i.tenant_id = ? and i.accepted_at is null`,
        [actor.tenantId, actor.tenantId],
      )) as { email: string }[];
      return new Set(rows.map((r) => r.email));
    });
  }

  async #item(file: string): Promise<OutboxItem> {
    const raw = await readFile(file);
    const mail = await simpleParser(raw, { skipImageLinks: true });
    const refs = mail.references;
    const name = path.basename(file);
    return {
      id: name,
      keptAt: new Date(Number(name.split('-')[0])).toISOString(),
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
      size: raw.length,
    };
  }
}
