import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboundJob } from '../mail-gateway/inbound-store.ts';
import { apiClient, login, startTestFilo, type TestFilo } from './support/harness.ts';

// The worker's batch path, driven directly (no job is queued for these rows, so no worker takes them): which
// messages share a batch is then the test's choice, not pg-boss's.
let filo: TestFilo;
let db: pg.Client;
let tenantId: string;
let mailbox: { id: string; inboundAddress: string };

beforeAll(async () => {
  filo = await startTestFilo();
  const demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  mailbox = await demo.json('POST', '/api/inbox/mailboxes', { name: 'Batch', localPart: 'batch' });
  tenantId = (await demo.json('GET', '/api/auth/me')).workspace.id as string;
  // no DNS leaves the machine: every sender's domain has no SPF or DMARC record
  filo.services.inbound.resolver = async () => {
    throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  };
  db = new pg.Client({ connectionString: filo.databaseUrl });
  await db.connect();
});
afterAll(async () => {
  await db?.query(`drop trigger if exists batch_poison on messages`).catch(() => {});
  await db?.end();
  await filo?.close();
});

/** A message spooled and accepted as the gateway does (its row only: the test runs the batch itself). */
async function accept(
  mail: {
    from: string;
    subject: string;
    text: string;
    messageId?: string;
    inReplyTo?: string;
    attachments?: { filename: string; content: Buffer }[];
  },
  opts: { missingFile?: boolean } = {},
): Promise<InboundJob> {
  const raw = await new Promise<Buffer>((resolve, reject) =>
    new MailComposer({ ...mail, to: mailbox.inboundAddress, references: mail.inReplyTo })
      .compile()
      .build((err, message) => (err ? reject(err) : resolve(message))),
  );
  const id = randomUUID();
  const key = `batch-test/${id}.eml`;
  if (!opts.missingFile) {
    mkdirSync(path.dirname(filo.services.spool.path(key)), { recursive: true });
    writeFileSync(filo.services.spool.path(key), raw);
  }
  await db.query(
    `insert into inbound_messages (id, tenant_id, mailbox_id, mail_from, rcpt_to, remote_address, helo_name, size, sha256, spool_key)
     values ($1, $2, $3, $4, $5, '192.0.2.1', 'mx.test', $6, $7, $8)`,
    [
      id,
      tenantId,
      mailbox.id,
      mail.from,
      [mailbox.inboundAddress],
      raw.length,
      createHash('sha256').update(raw).digest('hex'),
      key,
    ],
  );
  return { inboundId: id, tenantId };
}

const rowOf = async (job: InboundJob) =>
  (
    await db.query<{ status: string; error: string | null; email_message_id: string | null }>(
      `select status, error, email_message_id from inbound_messages where id = $1`,
      [job.inboundId],
    )
  ).rows[0]!;

/** Messages and email.received activities written for these rows (each must be exactly one when processed). */
async function written(jobs: InboundJob[]) {
  const ids = jobs.map((j) => j.inboundId);
  const { rows: messages } = await db.query<{ inbound_message_id: string; n: number; conversation_id: string }>(
    `select inbound_message_id, count(*)::int as n, min(conversation_id::text) as conversation_id from messages
      where inbound_message_id = any($1::uuid[]) group by 1`,
    [ids],
  );
  const { rows: activities } = await db.query<{ id: string; n: number }>(
    `select a.metadata->>'emailMessageId' as id, count(*)::int as n from activities a
      where a.activity_type = 'email.received'
        and a.metadata->>'emailMessageId' in (select id::text from messages
                                               where inbound_message_id = any($1::uuid[]))
      group by 1`,
    [ids],
  );
  return { messages, activities };
}

describe('inbound processing in batches', () => {
  it('a message that cannot be read fails alone; the rest of its batch is processed once', async () => {
    const jobs = [
      await accept({ from: 'anna@one.example', subject: 'Batch read A', text: 'a' }),
      await accept({ from: 'poison@two.example', subject: 'Batch read poison', text: 'p' }, { missingFile: true }),
      await accept({ from: 'carlo@three.example', subject: 'Batch read C', text: 'c' }),
    ];
    const results = await filo.services.inbound.processBatch(jobs);
    expect(results.map((r) => (r.ok ? r.outcome : 'failed'))).toEqual(['processed', 'failed', 'processed']);
    expect((await rowOf(jobs[1]!)).status).toBe('failed');
    expect((await rowOf(jobs[1]!)).error).toMatch(/ENOENT|no such file/);
    const w = await written(jobs);
    expect(w.messages.map((m) => m.n)).toEqual([1, 1]);
    expect(w.activities.map((a) => a.n)).toEqual([1, 1]);
  });

  it('a message whose write fails takes the batch transaction down, is written alone, fails alone, and is retried', async () => {
    // A real failure inside PostgreSQL, for one message only: the batch's transaction rolls back at its insert.
    await db.query(`create or replace function batch_poison() returns trigger language plpgsql security definer as $$
      begin if new.subject = 'Batch poison' then raise exception 'poisoned message'; end if; return new; end $$`);
    await db.query(
      `create trigger batch_poison before insert on messages for each row execute function batch_poison()`,
    );
    const jobs = [
      await accept({ from: 'dora@four.example', subject: 'Batch write D', text: 'd' }),
      await accept({ from: 'eva@five.example', subject: 'Batch poison', text: 'p' }),
      await accept({ from: 'fabio@six.example', subject: 'Batch write F', text: 'f' }),
      await accept({ from: 'gina@seven.example', subject: 'Batch write G', text: 'g' }),
    ];
    const results = await filo.services.inbound.processBatch(jobs);
    expect(results.map((r) => (r.ok ? r.outcome : 'failed'))).toEqual([
      'processed',
      'failed',
      'processed',
      'processed',
    ]);
    const poisoned = results[1]!;
    expect(!poisoned.ok && String(poisoned.error)).toMatch(/poisoned message/);
    expect(await rowOf(jobs[1]!)).toMatchObject({ status: 'failed', email_message_id: null });
    for (const i of [0, 2, 3]) expect((await rowOf(jobs[i]!)).status).toBe('processed');
    let w = await written(jobs);
    expect(w.messages).toHaveLength(3);
    expect(w.messages.every((m) => m.n === 1)).toBe(true);
    expect(w.activities).toHaveLength(3);
    expect(w.activities.every((a) => a.n === 1)).toBe(true);
    // Nothing of the poisoned one half-written: no contact for its sender either.
    const contacts = await db.query(
      `select 1 from contacts where tenant_id = $1 and lower(email) = 'eva@five.example'`,
      [tenantId],
    );
    expect(contacts.rowCount).toBe(0);

    // The same jobs again (a retry, a duplicate job): done ones stay done, nothing is written twice.
    await db.query(`drop trigger batch_poison on messages`);
    const again = await filo.services.inbound.processBatch(jobs);
    expect(again.map((r) => (r.ok ? r.outcome : 'failed'))).toEqual([
      'already_done',
      'processed',
      'already_done',
      'already_done',
    ]);
    w = await written(jobs);
    expect(w.messages).toHaveLength(4);
    expect(w.messages.every((m) => m.n === 1)).toBe(true);
    expect(w.activities.every((a) => a.n === 1)).toBe(true);
    expect(w.activities).toHaveLength(4);
  });

  it('two messages of one new thread in one batch land in one conversation, others in their own', async () => {
    const first = `<batch-thread-${randomUUID()}@customer.example>`;
    const jobs = [
      await accept({ from: 'ugo@customer.example', subject: 'Batch thread', text: 'first', messageId: first }),
      await accept({ from: 'zoe@other.example', subject: 'Batch elsewhere', text: 'other' }),
      await accept({ from: 'ugo@customer.example', subject: 'Re: Batch thread', text: 'second', inReplyTo: first }),
    ];
    const results = await filo.services.inbound.processBatch(jobs);
    expect(results.map((r) => (r.ok ? r.outcome : 'failed'))).toEqual(['processed', 'processed', 'processed']);
    const { rows } = await db.query<{ inbound_message_id: string; conversation_id: string; contact_id: string }>(
      `select inbound_message_id, conversation_id, contact_id from messages where inbound_message_id = any($1::uuid[])`,
      [jobs.map((j) => j.inboundId)],
    );
    const conv = (i: number) => rows.find((r) => r.inbound_message_id === jobs[i]!.inboundId)!;
    expect(conv(0).conversation_id).toBe(conv(2).conversation_id);
    expect(conv(1).conversation_id).not.toBe(conv(0).conversation_id);
    // One contact made for the sender of both, not two.
    expect(conv(0).contact_id).toBe(conv(2).contact_id);
    const { rows: c } = await db.query<{ message_count: number }>(
      `select message_count from conversations where id = $1`,
      [conv(0).conversation_id],
    );
    expect(c[0]!.message_count).toBe(2);
    // Their timeline entries were numbered in one go, in the order written, with no gap or repeat.
    const { rows: seqs } = await db.query<{ seq: string }>(
      `select seq from activities where tenant_id = $1 and activity_type = 'email.received'
          and metadata->>'conversationId' = any($2::text[]) order by seq`,
      [tenantId, [conv(0).conversation_id, conv(1).conversation_id]],
    );
    expect(seqs).toHaveLength(3);
  });
  it('writes the new conversations of a batch of new customers in one insert per table', async () => {
    // counts the INSERT statements on conversations, messages and contacts (a statement trigger fires once each)
    await db.query(`create table if not exists batch_inserts (tbl text, at timestamptz default clock_timestamp())`);
    await db.query(`create or replace function batch_count() returns trigger language plpgsql security definer as $$
      begin insert into batch_inserts (tbl) values (tg_table_name); return null; end $$`);
    for (const t of ['conversations', 'messages', 'contacts'])
      await db.query(
        `create or replace trigger batch_count after insert on ${t} for each statement execute function batch_count()`,
      );
    try {
      await db.query(`delete from batch_inserts`);
      const jobs = [];
      for (let i = 0; i < 5; i++)
        jobs.push(
          await accept({
            from: `new${i}-${randomUUID().slice(0, 8)}@n${i}.example`,
            subject: `Hello ${i}`,
            text: 'hi',
          }),
        );
      const results = await filo.services.inbound.processBatch(jobs);
      expect(results.map((r) => (r.ok ? r.outcome : 'failed'))).toEqual(Array(5).fill('processed'));
      const { messages } = await written(jobs);
      expect(messages.map((m) => m.n)).toEqual([1, 1, 1, 1, 1]);
      expect(new Set(messages.map((m) => m.conversation_id)).size).toBe(5);
      const { rows } = await db.query<{ tbl: string; n: number }>(
        `select tbl, count(*)::int as n from batch_inserts group by tbl order by tbl`,
      );
      expect(rows).toEqual([
        { tbl: 'contacts', n: 1 },
        { tbl: 'conversations', n: 1 },
        { tbl: 'messages', n: 1 },
      ]);
    } finally {
      for (const t of ['conversations', 'messages', 'contacts'])
        await db.query(`drop trigger if exists batch_count on ${t}`);
    }
  });

  it('a reply under another subject finds, by its In-Reply-To, a message written earlier in the same batch', async () => {
    const first = `<batch-ref-${randomUUID()}@ref.example>`;
    const jobs = [
      await accept({ from: 'rita@ref.example', subject: 'Quote for the stand', text: 'first', messageId: first }),
      await accept({ from: 'sam@elsewhere.example', subject: 'Unrelated', text: 'other' }),
      await accept({
        from: 'rita@ref.example',
        subject: 'Changed my mind: two stands',
        text: 'second',
        inReplyTo: first,
      }),
    ];
    const results = await filo.services.inbound.processBatch(jobs);
    expect(results.map((r) => (r.ok ? r.outcome : 'failed'))).toEqual(['processed', 'processed', 'processed']);
    const { messages } = await written(jobs);
    const conv = (i: number) => messages.find((m) => m.inbound_message_id === jobs[i]!.inboundId)!.conversation_id;
    expect(conv(2)).toBe(conv(0));
    expect(conv(1)).not.toBe(conv(0));
  });

  it('a batch of mixed outcomes records each row its own (processed, duplicate, blocked), a blocklist entry holding at once', async () => {
    const demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
    const entry = await demo.json<{ id: string }>('POST', '/api/inbox/blocklist', {
      pattern: '@blocked-batch.example',
    });
    const messageId = `<batch-dup-${randomUUID()}@customer.example>`;
    // a subject with quotes and a backslash: the details travel inside an array of JSON texts
    const subject = 'Quoted "offer" \\ path';
    const jobs = [
      await accept({ from: 'ivo@customer.example', subject: 'Batch mixed', text: 'same text', messageId }),
      await accept({ from: 'ivo@customer.example', subject: 'Batch mixed', text: 'same text', messageId }),
      await accept({ from: 'spam@blocked-batch.example', subject, text: 'buy' }),
    ];
    const results = await filo.services.inbound.processBatch(jobs);
    expect(results.map((r) => (r.ok ? r.outcome : 'failed'))).toEqual(['processed', 'duplicate', 'blocked']);
    const { rows } = await db.query<{
      id: string;
      status: string;
      attempts: number;
      classification: string;
      email_message_id: string | null;
      details: Record<string, unknown>;
    }>(
      `select id, status, attempts, classification, email_message_id, details from inbound_messages where id = any($1::uuid[])`,
      [jobs.map((j) => j.inboundId)],
    );
    const row = (i: number) => rows.find((r) => r.id === jobs[i]!.inboundId)!;
    expect(rows.every((r) => r.status === 'processed' && r.attempts === 1)).toBe(true);
    expect(row(0)).toMatchObject({ classification: 'message', details: {} });
    expect(row(0).email_message_id).toBeTruthy();
    expect(row(1)).toMatchObject({
      classification: 'message',
      email_message_id: row(0).email_message_id,
      details: { duplicateOf: row(0).email_message_id },
    });
    expect(row(2)).toMatchObject({ classification: 'blocked', email_message_id: null, details: { subject } });
    // taken off the list, the next message from there is processed (the list is read per transaction, not kept)
    await demo.call('DELETE', `/api/inbox/blocklist/${entry.id}`);
    const again = await accept({ from: 'spam@blocked-batch.example', subject: 'Allowed now', text: 'hello' });
    const [result] = await filo.services.inbound.processBatch([again]);
    expect(result).toMatchObject({ ok: true, outcome: 'processed' });
  });

  it('reads a small message once into memory and streams a large one, their attachments stored whole either way', async () => {
    const small = Buffer.alloc(20_000, 7);
    // past the reader's in-memory size (1 MiB): read as streams of the file, twice
    const large = Buffer.from(Array.from({ length: 1_500_000 }, (_, i) => (i * 31) % 251));
    const jobs = [
      await accept({
        from: 'ada@files.example',
        subject: 'Small file',
        text: 'see attached',
        attachments: [{ filename: 'small.bin', content: small }],
      }),
      await accept({
        from: 'ada@files.example',
        subject: 'Large file',
        text: 'see attached',
        attachments: [{ filename: 'large.bin', content: large }],
      }),
    ];
    const results = await filo.services.inbound.processBatch(jobs);
    expect(results.map((r) => (r.ok ? r.outcome : 'failed'))).toEqual(['processed', 'processed']);
    const { rows } = await db.query<{ subject: string; attachments: { fileName: string; size: number }[] }>(
      `select subject, attachments from messages where inbound_message_id = any($1::uuid[]) order by subject`,
      [jobs.map((j) => j.inboundId)],
    );
    expect(rows.map((r) => [r.subject, r.attachments.map((a) => [a.fileName, a.size])])).toEqual([
      ['Large file', [['large.bin', large.length]]],
      ['Small file', [['small.bin', small.length]]],
    ]);
  });

  it('a thread reads in the order its mail was accepted, whichever batch wrote it first', async () => {
    const first = await accept({ from: 'lia@order.example', subject: 'Batch order', text: 'one' });
    const second = await accept({ from: 'lia@order.example', subject: 'Re: Batch order', text: 'two' });
    // the later message is processed first (another batch was quicker), the earlier one after it
    expect(await filo.services.inbound.processBatch([second])).toMatchObject([{ ok: true, outcome: 'processed' }]);
    expect(await filo.services.inbound.processBatch([first])).toMatchObject([{ ok: true, outcome: 'processed' }]);
    const { rows } = await db.query<{ text: string; conversation_id: string }>(
      `select m.text, m.conversation_id from messages m join inbound_messages i on i.id = m.inbound_message_id
        where i.id = any($1::uuid[]) order by m.created_at`,
      [[first.inboundId, second.inboundId]],
    );
    expect(new Set(rows.map((r) => r.conversation_id)).size).toBe(1);
    expect(rows.map((r) => r.text.trim())).toEqual(['one', 'two']);
  });

  it("hands each reader its sender domain's SPF and DMARC answers: the reader asks the main thread nothing more", async () => {
    const before = filo.services.inbound.readerDnsQuestions;
    const jobs = [
      await accept({ from: 'ann@ahead-one.example', subject: 'DNS ahead 1', text: 'x' }),
      await accept({ from: 'bob@ahead-two.example', subject: 'DNS ahead 2', text: 'y' }),
    ];
    const results = await filo.services.inbound.processBatch(jobs);
    expect(results.map((r) => (r.ok ? r.outcome : 'failed'))).toEqual(['processed', 'processed']);
    expect(filo.services.inbound.readerDnsQuestions - before).toBe(0);
  });

  it('a batch being written holds its own rows, never its mailbox: another writer of the mailbox goes on meanwhile', async () => {
    const jobs = [
      await accept({ from: 'hugo@eight.example', subject: 'Batch held H', text: 'h' }),
      await accept({ from: 'ines@nine.example', subject: 'Batch held I', text: 'i' }),
    ];
    // The workspace's activity counter held elsewhere: the batch writes every message, then waits at its last step.
    const holder = new pg.Client({ connectionString: filo.databaseUrl });
    const other = new pg.Client({ connectionString: filo.databaseUrl });
    await holder.connect();
    await other.connect();
    try {
      await holder.query('begin');
      await holder.query(`select 1 from tenants where id = $1 for no key update`, [tenantId]);
      const batch = filo.services.inbound.processBatch(jobs);
      const waiting = async () =>
        (
          await db.query<{ n: number }>(
            `select count(*)::int as n from pg_locks where not granted and $1::int = any(pg_blocking_pids(pid))`,
            [(await holder.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid],
          )
        ).rows[0]!.n;
      await expect.poll(waiting, { timeout: 30_000, interval: 50 }).toBeGreaterThan(0);
      // As an edit of the mailbox (its name, its members) locks it. The ORM's locking reads of the inbound row and the
      // conversation locked the mailbox's row FOR UPDATE too, to commit; the foreign keys' KEY SHARE does not stop this.
      await other.query('begin');
      await expect(
        other.query(`select 1 from mailboxes where id = $1 for no key update nowait`, [mailbox.id]),
      ).resolves.toMatchObject({ rowCount: 1 });
      await other.query('rollback');
      await holder.query('commit');
      const results = await batch;
      expect(results.map((r) => (r.ok ? r.outcome : 'failed'))).toEqual(['processed', 'processed']);
      expect((await written(jobs)).messages.map((m) => m.n)).toEqual([1, 1]);
    } finally {
      await holder.end();
      await other.end();
    }
  });
});
