/**
 * The mail bench/inbound.ts loads: real MIME (nodemailer's composer, text and HTML alternatives) from faker names,
 * in two shapes. `distinct`: every message from another sender on another domain, with its own subject and
 * Message-ID (each starts its own conversation and contact). `thread`: every message from one customer with one
 * subject, each a reply to the first (all land in one conversation, under its locks).
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fakerEN, fakerIT } from '@faker-js/faker';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';

export type Shape = 'distinct' | 'thread';

export interface SpooledMail {
  spoolKey: string;
  /** The spool file, for the baseline's parser. */
  file: string;
  mailFrom: string;
  size: number;
  sha256: string;
}

const compose = (options: ConstructorParameters<typeof MailComposer>[0]) =>
  new Promise<Buffer>((resolve, reject) =>
    new MailComposer(options).compile().build((err, message) => (err ? reject(err) : resolve(message))),
  );

/** Writes `count` messages of a shape into the spool (as the gateway's spool files), `round` keeping runs apart. */
export async function spoolMessages(
  spoolRoot: string,
  opts: { shape: Shape; count: number; round: string; to: string },
): Promise<SpooledMail[]> {
  const dir = path.join(spoolRoot, 'bench', opts.round);
  mkdirSync(dir, { recursive: true });
  const out: SpooledMail[] = [];
  // .example is reserved (RFC 2606): any resolver answers NXDOMAIN at once, as for a domain without SPF or DMARC.
  const threadFrom = { name: 'Giulia Bench', address: `giulia@${opts.round}.acme-bench.example` };
  const threadSubject = `Order ${opts.round}: delivery date`;
  const root = `<thread-${opts.round}@acme-bench.example>`;
  for (let i = 0; i < opts.count; i++) {
    const f = i % 2 ? fakerIT : fakerEN;
    const first = f.person.firstName();
    const last = f.person.lastName();
    const domain = `${f.internet.domainWord()}-${opts.round}-${i}.example`;
    const from =
      opts.shape === 'thread'
        ? threadFrom
        : {
            name: `${first} ${last}`,
            address: `${first}.${last}`.toLowerCase().replace(/[^a-z.]/g, '') + `@${domain}`,
          };
    const paragraphs = Array.from({ length: 3 }, () => f.lorem.paragraph(4));
    const raw = await compose({
      from,
      to: opts.to,
      subject: opts.shape === 'thread' ? `Re: ${threadSubject}` : `${f.company.catchPhrase()} (${opts.round}-${i})`,
      messageId: `<${randomUUID()}@${domain}>`,
      ...(opts.shape === 'thread' && i > 0 ? { inReplyTo: root, references: [root] } : {}),
      ...(opts.shape === 'thread' && i === 0 ? { messageId: root } : {}),
      date: new Date(),
      text: `${paragraphs.join('\n\n')}\n\n-- \n${from.name}\n${f.company.name()}\n`,
      html: `<div>${paragraphs.map((p) => `<p>${p}</p>`).join('')}<p>--<br><b>${from.name}</b><br>${f.company.name()}</p></div>`,
    });
    const key = `bench/${opts.round}/${i}.eml`;
    const file = path.join(spoolRoot, key);
    writeFileSync(file, raw);
    out.push({
      spoolKey: key,
      file,
      mailFrom: from.address,
      size: raw.length,
      sha256: createHash('sha256').update(raw).digest('hex'),
    });
  }
  return out;
}
