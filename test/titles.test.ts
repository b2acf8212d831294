import nodemailer from 'nodemailer';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codePoints, truncateFileName, truncateGraphemes } from '../server/text.ts';
import { splitName } from '../server/inbox/inbound/link.ts';
import {
  apiClient,
  createTestDatabase,
  login,
  startTestFilo,
  type ApiClient,
  type TestFilo,
} from './support/harness.ts';

/**
 * Titles derived from user text (a subject, a name) fit their varchar(255) columns: cut by whole graphemes
 * with an ellipsis, never a 500 and never half a character.
 */

// 300 graphemes, 500 code points, 700 UTF-16 units: a combining accent, a skin-toned emoji, a letter.
const SUBJECT = 'e\u0301👍🏽a'.repeat(100);
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const graphemes = (s: string) => [...segmenter.segment(s)].map((g) => g.segment);

/** `title` is `full` cut after a whole grapheme, with an ellipsis, within 255 code points. */
function expectCutTitle(title: string, full: string) {
  expect(codePoints(title)).toBeLessThanOrEqual(255);
  expect(title).not.toMatch(LONE_SURROGATE);
  expect(title).not.toContain('\uFFFD');
  expect(title.endsWith('…')).toBe(true);
  const kept = graphemes(title.slice(0, -1));
  expect(kept.length).toBeGreaterThan(50);
  expect(kept).toEqual(graphemes(full).slice(0, kept.length));
}

describe('truncateGraphemes', () => {
  it('keeps short text, cuts long text by whole graphemes within the code point budget', () => {
    expect(truncateGraphemes('abc', 3)).toBe('abc');
    expect(truncateGraphemes('abcd', 3)).toBe('ab…');
    const cut = truncateGraphemes(SUBJECT, 255);
    expect(codePoints(cut)).toBeLessThanOrEqual(255);
    expect(cut).not.toMatch(LONE_SURROGATE);
    expect(graphemes(cut).slice(0, -1).join('')).toBe(SUBJECT.slice(0, cut.length - 1));
    // A flag is two code points of one grapheme: never one regional indicator alone.
    expect(truncateGraphemes('🇮🇹🇮🇹🇮🇹', 4)).toBe('🇮🇹…');
    expect(truncateFileName(`${'x'.repeat(300)}.pdf`, 255)).toMatch(/^x+….pdf$/);
    expect(codePoints(truncateFileName(`${'👍🏽'.repeat(200)}.pdf`, 255))).toBeLessThanOrEqual(255);
  });
});

describe('splitName', () => {
  it('cuts a contact name made from a display name by whole graphemes', () => {
    // 180 UTF-16 units in one word: a cut at 100 units would end on half of an emoji.
    const { firstName } = splitName('👍a'.repeat(60), 'x@example.com');
    expect(codePoints(firstName)).toBeLessThanOrEqual(100);
    expect(firstName).not.toMatch(LONE_SURROGATE);
    expect(firstName.endsWith('…')).toBe(true);
    expect('👍a'.repeat(60).startsWith(firstName.slice(0, -1))).toBe(true);
  });
});

describe('titles from a long subject', () => {
  let filo: TestFilo;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let admin: pg.Client;
  let demo: ApiClient;
  let sara: ApiClient;
  let support: { id: string; inboundAddress: string };

  beforeAll(async () => {
    db = await createTestDatabase();
    filo = await startTestFilo({ DATABASE_URL: db.url });
    // The database owner's view, past row-level security: the stored titles themselves.
    admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
    sara = apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'sara@filo.local', password: 'filo-demo' }));
    support = await demo.json('POST', '/api/inbox/mailboxes', { name: 'Support', localPart: 'support' });
  });
  afterAll(async () => {
    await admin?.end();
    await filo?.close();
    await db?.drop();
  });

  it('keeps a message whose sender has a 300-character display name, the name cut whole', async () => {
    const name = 'Ŝ̌'.repeat(150);
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: filo.smtpPort!,
      secure: false,
      ignoreTLS: true,
    });
    await transport.sendMail({
      from: { name, address: 'long.name@customer.example' },
      to: support.inboundAddress,
      subject: 'A long name',
      text: 'Hello.',
    });
    transport.close();
    let lastFrom: string | null | undefined;
    await expect
      .poll(
        async () => {
          const page = await demo.json<{ items: { subject: string; lastFrom: string | null }[] }>(
            'GET',
            '/api/inbox/conversations',
          );
          lastFrom = page.items.find((c) => c.subject === 'A long name')?.lastFrom;
          return lastFrom;
        },
        { timeout: 20_000 },
      )
      .toBeTruthy();
    expect(codePoints(lastFrom!)).toBeLessThanOrEqual(255);
    expect(lastFrom!.endsWith('…')).toBe(true);
    expect(name.startsWith(lastFrom!.slice(0, -1))).toBe(true);
    expect(graphemes(lastFrom!.slice(0, -1)).every((g) => g === 'Ŝ̌')).toBe(true);
  }, 60_000);

  it('assigns and closes a conversation whose subject is 300 graphemes: titles cut whole, nothing lost', async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: filo.smtpPort!,
      secure: false,
      ignoreTLS: true,
    });
    await transport.sendMail({
      from: 'Carla Customer <carla@customer.example>',
      to: support.inboundAddress,
      subject: SUBJECT,
      text: 'A long subject.',
    });
    transport.close();
    let conversation: { id: string; subject: string; version: number } | undefined;
    await expect
      .poll(
        async () => {
          const page = await demo.json<{ items: { id: string; subject: string; version: number }[] }>(
            'GET',
            '/api/inbox/conversations',
          );
          return (conversation = page.items.find((c) => c.subject === SUBJECT))?.subject;
        },
        { timeout: 20_000 },
      )
      .toBe(SUBJECT);

    const saraId = (await sara.json('GET', '/api/auth/me')).user.id as string;
    const me = (await demo.json('GET', '/api/auth/me')).user.name as string;
    const path = `/api/inbox/conversations/${conversation!.id}`;
    const assigned = await demo.json<{ assigneeId: string; version: number }>('PATCH', path, {
      assigneeId: saraId,
      version: conversation!.version,
    });
    expect(assigned.assigneeId).toBe(saraId);
    const closed = await demo.json<{ status: string }>('PATCH', path, { status: 'closed', version: assigned.version });
    expect(closed.status).toBe('closed');

    const { items } = await sara.json<{ items: { type: string; title: string }[] }>('GET', '/api/notifications');
    const notification = items.find((n) => n.type === 'assignment');
    expectCutTitle(notification!.title, `${me} assigned you “${SUBJECT}”`);

    const { rows } = await admin.query<{ activity_type: string; title: string }>(
      `select activity_type, title from activities where metadata->>'conversationId' = $1 order by seq`,
      [conversation!.id],
    );
    const titles = Object.fromEntries(rows.map((r) => [r.activity_type, r.title]));
    expect(Object.keys(titles).sort()).toEqual([
      'conversation.assigned',
      'conversation.status_changed',
      'email.received',
    ]);
    expectCutTitle(titles['email.received']!, `Email from Carla Customer: ${SUBJECT}`);
    expectCutTitle(titles['conversation.assigned']!, `${me} assigned “${SUBJECT}” to Sara Bianchi`);
    expectCutTitle(titles['conversation.status_changed']!, `${me} closed “${SUBJECT}”`);
  }, 60_000);
});
