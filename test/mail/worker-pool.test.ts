import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, describe, expect, it } from 'vitest';
import { BudgetExceeded, MailReaders, ReadersClosed, type ReadHooks } from '../../server/inbox/inbound/worker-pool.ts';
import { tempDir } from '../support/harness.ts';

const dir = tempDir('filo-readers-');
afterAll(() => dir.remove());

function spool(name: string, raw: string): string {
  const file = path.join(dir.dir, name);
  writeFileSync(file, raw);
  return file;
}

const envelope = { ip: '192.0.2.1', helo: 'mx.sender.example', mailFrom: 'alice@sender.example' };
const nxdomain = async () => {
  throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
};
const hooks = (over: Partial<ReadHooks> = {}): ReadHooks => ({
  resolve: nxdomain,
  storeAttachment: async (_meta, content) => ({ size: (await buffer(content)).length, stored: null }),
  ...over,
});

/** HTML nested this deep costs the sanitizer many seconds of one core (mailparser gives up on the text). */
const nestedHtml = (depth: number) =>
  spool(
    `nested-${depth}.eml`,
    'From: a@sender.example\r\nSubject: deep\r\nMIME-Version: 1.0\r\nContent-Type: text/html\r\n\r\n' +
      `${'<div>'.repeat(depth)}x${'</div>'.repeat(depth)}`.replace(/(.{900})/g, '$1\r\n') +
      '\r\n',
  );

describe('mail reader threads', () => {
  it('read a message in a thread: DNS and attachment storage asked of the caller, cid images pointed at its URL', async () => {
    const readers = new MailReaders({ threads: 1, budgetMs: 60_000, wallMs: 120_000 });
    const png = Buffer.alloc(200_000, 7);
    const file = spool(
      'related.eml',
      [
        'From: Alice <alice@sender.example>',
        'To: support@acme.filo.test',
        'Subject: With a logo',
        'MIME-Version: 1.0',
        'Content-Type: multipart/related; boundary="b"',
        '',
        '--b',
        'Content-Type: text/html',
        '',
        '<p onclick="x()">Hi <img src="cid:logo@x"></p>',
        '--b',
        'Content-Type: image/png',
        'Content-ID: <logo@x>',
        'Content-Transfer-Encoding: base64',
        '',
        png.toString('base64').replace(/(.{76})/g, '$1\r\n'),
        '--b--',
        '',
      ].join('\r\n'),
    );
    const queries: string[] = [];
    const received: Buffer[] = [];
    try {
      const result = await readers.read(
        { path: file, envelope, cidBase: '/api/inbox/messages/m1/cid/' },
        hooks({
          resolve: async (name, rrtype) => {
            queries.push(`${rrtype} ${name}`);
            if (rrtype === 'TXT' && name === 'sender.example') return [['v=spf1 ip4:192.0.2.1 -all']];
            return nxdomain();
          },
          storeAttachment: async (meta, content) => {
            received.push(await buffer(content));
            return { size: received[0]!.length, stored: { key: `blob-${meta.cid}` } };
          },
        }),
      );
      expect(queries).toContain('TXT sender.example');
      expect(result.auth).toMatchObject({ spf: 'pass', dkim: 'none' });
      expect(result.mail.subject).toBe('With a logo');
      expect(received[0]!.equals(png)).toBe(true);
      expect(result.mail.attachments).toMatchObject([{ cid: 'logo@x', stored: { key: 'blob-logo@x' } }]);
      expect(result.kind).toEqual({ kind: 'message' });
      expect(result.clean?.html).toBe('<p>Hi <img src="/api/inbox/messages/m1/cid/logo%40x" /></p>');
    } finally {
      await readers.close();
    }
  });

  it('terminate a thread that passes its busy-time budget, and go on with a fresh one', async () => {
    const readers = new MailReaders({ threads: 1, budgetMs: 1000, wallMs: 120_000 });
    try {
      const slow = readers.read({ path: nestedHtml(100_000), envelope, cidBase: '' }, hooks());
      await expect(slow).rejects.toBeInstanceOf(BudgetExceeded);
      await expect(slow).rejects.toThrow('processing took more than its budget of 1000 ms');
      const plain = spool('plain.eml', 'From: a@sender.example\r\nSubject: after\r\n\r\nhello\r\n');
      const next = await readers.read({ path: plain, envelope, cidBase: '' }, hooks());
      expect(next.mail.subject).toBe('after');
    } finally {
      await readers.close();
    }
  });

  it("counts a thread's CPU against the budget, not the time it is held up without a core", async () => {
    const readers = new MailReaders({ threads: 1, budgetMs: 500, wallMs: 120_000 });
    try {
      // first use of the thread's code paths, outside the measured read
      const warm = spool('warm.eml', 'From: a@sender.example\r\nSubject: warm\r\n\r\nhello\r\n');
      await readers.read({ path: warm, envelope, cidBase: '' }, hooks());
      // A named pipe: the thread's read of it blocks, its event loop busy but its CPU idle, as on a machine whose
      // cores are taken by other work, until the message is written into it 1.5 s (three budgets) later.
      const fifo = path.join(dir.dir, 'held.eml');
      execFileSync('mkfifo', [fifo]);
      const reading = readers.read({ path: fifo, envelope, cidBase: '' }, hooks());
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await writeFile(fifo, 'From: b@sender.example\r\nSubject: held up\r\n\r\nstill here\r\n');
      expect((await reading).mail.subject).toBe('held up');
    } finally {
      await readers.close();
    }
  });

  it('stop at once on close(): the message being read and those queued fail with ReadersClosed', async () => {
    const readers = new MailReaders({ threads: 1, budgetMs: 600_000, wallMs: 600_000 });
    const file = nestedHtml(100_000);
    let started = false;
    const reading = readers.read(
      { path: file, envelope, cidBase: '' },
      hooks({
        resolve: async () => {
          started = true;
          return nxdomain();
        },
      }),
    );
    const queued = readers.read({ path: file, envelope, cidBase: '' }, hooks());
    const outcomes = Promise.allSettled([reading, queued]);
    await expect.poll(() => started, { timeout: 30_000 }).toBe(true);
    await readers.close();
    for (const outcome of await outcomes) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(ReadersClosed);
    }
    await expect(readers.read({ path: file, envelope, cidBase: '' }, hooks())).rejects.toBeInstanceOf(ReadersClosed);
  });
});
