import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { body, login, signUp, startTestFilo, type TestFilo } from './support/harness.ts';
import { LiveClient } from './support/live.ts';

let filo: TestFilo;
let demoCookie: string;
let saraCookie: string;
let saraId: string;
const clients: LiveClient[] = [];

const api = async (cookie: string, method: string, path: string, payload?: unknown) => {
  const res = await fetch(`${filo.baseUrl}${path}`, {
    method,
    headers: {
      cookie,
      origin: filo.baseUrl,
      ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: payload === undefined ? undefined : JSON.stringify(payload),
  });
  return { status: res.status, data: res.status === 204 ? null : await body(res) };
};

async function live(cookie: string) {
  const c = new LiveClient(filo.baseUrl, { cookie });
  clients.push(c);
  await c.ready();
  return c;
}

beforeAll(async () => {
  filo = await startTestFilo();
  demoCookie = await login(filo.baseUrl);
  saraCookie = await login(filo.baseUrl, { email: 'sara@filo.local', password: 'filo-demo' });
  saraId = (await api(saraCookie, 'GET', '/api/auth/me')).data.user.id;
});
afterAll(async () => {
  for (const c of clients) c.close();
  await filo?.close();
});

const newCompany = async (name: string) =>
  (await api(demoCookie, 'POST', '/api/crm/companies', { name, type: 'client' })).data as { id: string };

describe('watching a record', () => {
  it('refuses bad payloads and records of another workspace', async () => {
    const c = await live(demoCookie);
    expect(await c.socket.emitWithAck('record:watch', { type: 'planet', id: 'x' } as never)).toMatchObject({
      ok: false,
      error: { code: 'validation_failed' },
    });
    const other = await api(
      await signUp(filo, {
        workspace: 'Elsewhere',
        name: 'E',
        email: 'e@elsewhere.example',
        password: 'long enough pw',
      }),
      'POST',
      '/api/crm/companies',
      { name: 'Not yours', type: 'client' },
    );
    expect(await c.watch('company', other.data.id)).toEqual({
      ok: false,
      error: { code: 'not_found', message: 'No such company' },
    });
  });

  it('delivers activities of the company and of its contacts and deals, after commit only', async () => {
    const company = await newCompany('Live Spa');
    const watcher = await live(saraCookie);
    const ack = await watcher.watch('company', company.id);
    expect(ack).toMatchObject({ ok: true, missed: [], presence: [{ userId: saraId, state: 'viewing' }] });
    // A write that fails (a mention of nobody) must emit nothing; the next good write is the first event.
    const bad = await api(demoCookie, 'POST', '/api/crm/notes', {
      entityType: 'company',
      entityId: company.id,
      content: 'x',
      mentions: ['00000000-0000-4000-8000-000000000000'],
    });
    expect(bad.status).toBe(400);
    const contact = await api(demoCookie, 'POST', '/api/crm/contacts', {
      companyId: company.id,
      firstName: 'Carla',
      lastName: 'Live',
    });
    const first = await watcher.until(() => watcher.activities[0]);
    expect(first).toMatchObject({
      type: 'contact.created',
      entityType: 'contact',
      entityId: contact.data.id,
      companyId: company.id,
    });
    expect(first.actor).toMatchObject({ name: 'Demo Owner' });
    await api(demoCookie, 'PATCH', `/api/crm/companies/${company.id}`, { industry: 'Textiles' });
    const updated = await watcher.until(
      () => watcher.events.find((e) => e.name === 'record:updated')?.payload as { changes: object; version: number },
    );
    expect(updated).toMatchObject({ type: 'company', id: company.id, changes: { industry: 'Textiles' }, version: 2 });
  });
});

describe('presence', () => {
  it('shows who is viewing and typing, and drops a user who leaves', async () => {
    const company = await newCompany('Presence Srl');
    const owner = await live(demoCookie);
    await owner.watch('company', company.id);
    const sara = await live(saraCookie);
    const ack = await sara.watch('company', company.id);
    expect(ack.ok && ack.presence.map((u) => u.name)).toEqual(['Demo Owner', 'Sara Bianchi']);
    await owner.until(() => owner.presence.find((p) => p.users.length === 2));
    expect(await sara.socket.emitWithAck('presence:set', { type: 'company', id: company.id, state: 'typing' })).toEqual(
      { ok: true },
    );
    const typing = await owner.until(() =>
      owner.presence.find((p) => p.users.some((u) => u.name === 'Sara Bianchi' && u.state === 'typing')),
    );
    expect(typing.id).toBe(company.id);
    sara.close();
    const left = await owner.until(() => {
      const last = owner.presence.at(-1);
      return last && last.users.length === 1 ? last : undefined;
    });
    expect(left.users.map((u) => u.name)).toEqual(['Demo Owner']);
  });

  it('broadcasts a state set right after joining, never the list from before it', async () => {
    const company = await newCompany('Presence Race Srl');
    const owner = await live(demoCookie);
    await owner.watch('company', company.id);
    const sara = await live(saraCookie);
    for (let round = 0; round < 5; round++) {
      const state = round % 2 ? 'viewing' : 'typing';
      await sara.watch('company', company.id);
      await sara.socket.emitWithAck('presence:set', { type: 'company', id: company.id, state });
      // The last list the owner receives must carry Sara's latest state.
      await owner.until(() => {
        const last = owner.presence.at(-1);
        return last?.users.some((u) => u.name === 'Sara Bianchi' && u.state === state) ? last : undefined;
      });
      await sara.socket.emitWithAck('record:unwatch', { type: 'company', id: company.id });
      await owner.until(() => (owner.presence.at(-1)?.users.length === 1 ? true : undefined));
    }
  });

  it('refuses presence on a record one does not watch', async () => {
    const c = await live(demoCookie);
    const company = await newCompany('Unwatched');
    expect(
      await c.socket.emitWithAck('presence:set', { type: 'company', id: company.id, state: 'typing' }),
    ).toMatchObject({
      ok: false,
      error: { code: 'not_watching' },
    });
  });
});

describe('no missed events', () => {
  it('after a disconnect, re-watching with `since` returns exactly the 50 activities written meanwhile, in order', async () => {
    const company = await newCompany('Reconnect Srl');
    const first = await live(saraCookie);
    const ack = await first.watch('company', company.id);
    expect(ack.ok).toBe(true);
    const since = ack.ok ? ack.lastSeq : 0;
    first.close();
    const written: string[] = [];
    for (let i = 0; i < 50; i++) {
      const note = await api(demoCookie, 'POST', '/api/crm/notes', {
        entityType: 'company',
        entityId: company.id,
        content: `update ${i}`,
      });
      written.push(note.data.id);
    }
    // Activity elsewhere in the workspace must not leak into this record's catch-up.
    await newCompany('Noise Srl');
    const again = await live(saraCookie);
    const back = await again.watch('company', company.id, since);
    if (!back.ok) throw new Error(JSON.stringify(back));
    expect(back.missed).toHaveLength(50);
    expect(back.missed.map((a) => a.data.noteId)).toEqual(written);
    const seqs = back.missed.map((a) => a.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(50);
    expect(back.lastSeq).toBe(seqs.at(-1));
    expect(back.truncated).toBe(false);
  });
});

describe('mentions', () => {
  it('reach every open tab of the mentioned user at once, with the unread count', async () => {
    const company = await newCompany('Mention Live');
    const tabs = [await live(saraCookie), await live(saraCookie)];
    await api(demoCookie, 'POST', '/api/crm/notes', {
      entityType: 'company',
      entityId: company.id,
      content: 'Sara, please call them',
      mentions: [saraId],
    });
    for (const tab of tabs) {
      const n = await tab.until(
        () =>
          tab.events.find((e) => e.name === 'notification:new')?.payload as {
            notification: { type: string; entityId: string };
            unread: number;
          },
      );
      expect(n.notification).toMatchObject({ type: 'mention', entityId: company.id });
      expect(n.unread).toBeGreaterThanOrEqual(1);
    }
  });
});
