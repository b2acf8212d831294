import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsentChange } from '../server/consent/consent.service.ts';
import { inTenant, systemActor } from '../server/tenancy.ts';
import {
  apiClient,
  errorCode,
  login,
  signUp,
  startTestFilo,
  type ApiClient,
  type TestFilo,
} from './support/harness.ts';

/**
 * Consent kept with its proof: each source's evidence and the history of every change, refusals per list and for
 * the whole channel (on an index), changes by hand with their rules, and the suppression list.
 */
let filo: TestFilo;
let demo: ApiClient;
let mario: ApiClient;
let sara: ApiClient;
let other: ApiClient;
const ids = { tenant: '', demo: '' };
let contact: { id: string };
let news = '';
let offers = '';

const sql = <T = Record<string, unknown>>(query: string, params: unknown[] = []) =>
  inTenant(filo.orm, systemActor(ids.tenant), (uow) => uow.em.execute(query, params) as Promise<T[]>);
const set = (change: ConsentChange) =>
  inTenant(filo.orm, systemActor(ids.tenant), (uow) => filo.services.consent.set(uow, change));
const refusals = (addresses: string[], lists: string[] = [], opts = {}) =>
  inTenant(filo.orm, systemActor(ids.tenant), (uow) =>
    filo.services.consent.refusals(uow.em, 'email', addresses, lists, opts),
  );
const list = async (name: string) =>
  (
    await sql<{ id: string }>(
      `insert into mailing_lists (id, tenant_id, name) values (gen_random_uuid(), ?, ?) returning id`,
      [ids.tenant, name],
    )
  )[0]!.id;

beforeAll(async () => {
  filo = await startTestFilo();
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  mario = apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'mario@filo.local', password: 'filo-demo' }));
  sara = apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'sara@filo.local', password: 'filo-demo' }));
  other = apiClient(
    filo.baseUrl,
    await signUp(filo, {
      workspace: 'Elsewhere',
      name: 'Else',
      email: 'else@else.example',
      password: 'correct horse battery',
    }),
  );
  const me = await demo.json('GET', '/api/auth/me');
  ids.tenant = me.workspace.id;
  ids.demo = me.user.id;
  contact = await demo.json('POST', '/api/crm/contacts', {
    firstName: 'Gina',
    lastName: 'Consenso',
    email: 'Gina@Consenso.example',
  });
  news = await list('Newsletter');
  offers = await list('Offers');
}, 60_000);
afterAll(() => filo?.close());

describe('evidence and history', () => {
  it('keeps the evidence of each source and every change, newest first', async () => {
    await set({
      channel: 'email',
      address: 'gina@consenso.example',
      listId: news,
      status: 'unconfirmed',
      source: 'form',
      contactId: contact.id,
      evidence: { ip: '203.0.113.7', userAgent: 'Firefox/140', consentText: 'Yes, send me the newsletter' },
      confirmTokenHash: 'a'.repeat(64),
    });
    await set({
      channel: 'email',
      address: 'GINA@consenso.example ',
      listId: news,
      status: 'subscribed',
      source: 'form',
      evidence: { ip: '203.0.113.8', userAgent: 'Firefox/141' },
    });
    await set({
      channel: 'email',
      address: 'gina@consenso.example',
      listId: offers,
      status: 'subscribed',
      source: 'import',
      contactId: contact.id,
    });
    const got = await demo.json('GET', `/api/contacts/${contact.id}/consent`);
    expect(got.addresses).toHaveLength(1);
    const [email] = got.addresses;
    expect(email).toMatchObject({ channel: 'email', address: 'gina@consenso.example', overall: null });
    const newsRow = email.lists.find((l: { listId: string }) => l.listId === news);
    expect(newsRow).toMatchObject({
      listName: 'Newsletter',
      status: 'subscribed',
      source: 'form',
      ip: '203.0.113.8',
      userAgent: 'Firefox/141',
      consentText: 'Yes, send me the newsletter',
      withdrawnAt: null,
    });
    expect(newsRow.signedUpAt).not.toBeNull();
    expect(Date.parse(newsRow.confirmedAt)).toBeGreaterThanOrEqual(Date.parse(newsRow.signedUpAt));
    expect(newsRow.events.map((e: { status: string }) => e.status)).toEqual(['subscribed', 'unconfirmed']);
    expect(newsRow.events[1]).toMatchObject({
      ip: '203.0.113.7',
      userAgent: 'Firefox/140',
      consentText: 'Yes, send me the newsletter',
      actor: null,
    });
    expect(email.lists.find((l: { listId: string }) => l.listId === offers)).toMatchObject({
      status: 'subscribed',
      source: 'import',
    });
    // the confirmation (not the pending sign-up) is on the contact's timeline
    const { items } = await demo.json('GET', `/api/crm/timeline?entityType=contact&entityId=${contact.id}`);
    expect(
      items
        .filter((a: { type: string }) => a.type === 'consent.given')
        .map((a: { title: string }) => a.title)
        .sort(),
    ).toEqual(['Subscribed to Newsletter', 'Subscribed to Offers']);
  });

  it('a repeated status from the same source writes nothing more (a second bounce)', async () => {
    const address = 'bouncy@consenso.example';
    const first = await set({ channel: 'email', address, listId: null, status: 'bounced', source: 'bounce' });
    const again = await set({ channel: 'email', address, listId: null, status: 'bounced', source: 'bounce' });
    expect(first.changed).toBe(true);
    expect(again).toEqual({ id: first.id, changed: false, previous: 'bounced' });
    expect(await sql(`select status from consent_events where consent_id = ?`, [first.id])).toHaveLength(1);
  });
});

describe('refusals', () => {
  it('refuses per list and for the whole channel, a channel-wide refusal first', async () => {
    await set({
      channel: 'email',
      address: 'one@r.example',
      listId: news,
      status: 'unsubscribed',
      source: 'one_click',
    });
    await set({ channel: 'email', address: 'two@r.example', listId: null, status: 'complained', source: 'complaint' });
    await set({
      channel: 'email',
      address: 'two@r.example',
      listId: news,
      status: 'unsubscribed',
      source: 'one_click',
    });
    await set({ channel: 'email', address: 'three@r.example', listId: news, status: 'unconfirmed', source: 'form' });
    await set({ channel: 'email', address: 'four@r.example', listId: news, status: 'subscribed', source: 'form' });
    const all = ['One@r.example', 'two@r.example', 'three@r.example', 'four@r.example', 'none@r.example'];
    const forNews = await refusals(all, [news]);
    expect(Object.fromEntries(forNews)).toEqual({
      'One@r.example': { status: 'unsubscribed', listId: news },
      'two@r.example': { status: 'complained', listId: null },
    });
    // Offers: only the whole channel's refusal counts
    expect([...(await refusals(all, [offers])).keys()]).toEqual(['two@r.example']);
    expect((await refusals(all, [news], { requireConfirmed: true })).get('three@r.example')).toEqual({
      status: 'unconfirmed',
      listId: null,
    });
  });

  it('looks addresses up on the (tenant, channel, address hash) index', async () => {
    const plan = await inTenant(filo.orm, systemActor(ids.tenant), async ({ em }) => {
      await em.execute(`set local enable_seqscan = off`);
      return (await em.execute(
        `explain select address_hash, status, list_id from consents
          where tenant_id = filo_current_tenant() and channel = 'email' and address_hash = any(?::text[])
            and (list_id is null or list_id = any(?::uuid[]))`,
        ['{a,b}', `{${news}}`],
      )) as { 'QUERY PLAN': string }[];
    });
    const text = plan.map((r) => r['QUERY PLAN']).join('\n');
    expect(text).toMatch(/Index (Only )?Scan using consents_scope_unique/);
    expect(text).toMatch(/Index Cond: .*tenant_id.*channel.*address_hash/s);
  });
});

describe('changes by hand', () => {
  it('records the member and their note; unsubscribing from all refuses every list', async () => {
    const got = await sara.json('PUT', `/api/contacts/${contact.id}/consent`, {
      channel: 'email',
      listId: null,
      status: 'unsubscribed',
      note: 'Asked on the phone',
    });
    const overall = got.addresses[0].overall;
    expect(overall).toMatchObject({ status: 'unsubscribed', source: 'manual' });
    expect(overall.events[0]).toMatchObject({ note: 'Asked on the phone', actor: { name: expect.any(String) } });
    expect((await refusals(['gina@consenso.example'], [news])).get('gina@consenso.example')).toEqual({
      status: 'unsubscribed',
      listId: null,
    });
    // subscribing to a list by hand lifts the whole channel's refusal
    const back = await sara.json('PUT', `/api/contacts/${contact.id}/consent`, {
      listId: offers,
      status: 'subscribed',
    });
    expect(back.addresses[0].overall.status).toBe('subscribed');
    expect((await refusals(['gina@consenso.example'], [offers])).size).toBe(0);
  });

  it('subscribing an address that bounced or complained takes force, and an admin', async () => {
    const bounced = await demo.json('POST', '/api/crm/contacts', {
      firstName: 'Bo',
      lastName: 'Unce',
      email: 'bo@unce.example',
    });
    await set({ channel: 'email', address: 'bo@unce.example', listId: null, status: 'bounced', source: 'bounce' });
    const path = `/api/contacts/${bounced.id}/consent`;
    const plain = await sara.call('PUT', path, { listId: news, status: 'subscribed' });
    expect(plain.status).toBe(409);
    expect(await errorCode(plain)).toBe('address_suppressed');
    const member = await sara.call('PUT', path, { listId: news, status: 'subscribed', force: true });
    expect(member.status).toBe(403);
    expect((await refusals(['bo@unce.example'], [news])).get('bo@unce.example')?.status).toBe('bounced');
    const forced = await mario.json('PUT', path, { listId: news, status: 'subscribed', force: true });
    expect(forced.addresses[0].overall.status).toBe('subscribed');
    expect((await refusals(['bo@unce.example'], [news])).size).toBe(0);
  });

  it('answers 400 for bad input and 404 for unknown or foreign ids', async () => {
    const path = `/api/contacts/${contact.id}/consent`;
    for (const bad of [
      { listId: null, status: 'bounced' },
      { listId: 'nope', status: 'subscribed' },
      { status: 'subscribed' },
      { listId: null, status: 'subscribed', extra: 1 },
    ]) {
      const res = await demo.call('PUT', path, bad);
      expect(`${JSON.stringify(bad)} -> ${res.status} ${await errorCode(res)}`).toBe(
        `${JSON.stringify(bad)} -> 400 validation_failed`,
      );
    }
    const wrongAddress = await demo.call('PUT', path, { listId: null, status: 'subscribed', address: 'x@y.example' });
    expect(await errorCode(wrongAddress)).toBe('no_address');
    const noList = await demo.call('PUT', path, {
      listId: '00000000-0000-4000-8000-000000000000',
      status: 'subscribed',
    });
    expect(noList.status).toBe(404);
    expect((await demo.call('GET', `/api/contacts/00000000-0000-4000-8000-000000000000/consent`)).status).toBe(404);
    expect((await other.call('GET', path)).status).toBe(404);
    expect((await other.call('PUT', path, { listId: null, status: 'unsubscribed' })).status).toBe(404);
    expect((await other.call('GET', `/api/contacts/${contact.id}/export`)).status).toBe(404);
  });
});

describe('the suppression list', () => {
  it('lists channel-wide refusals, searches, pages, adds by hand and removes (admins)', async () => {
    const added = await sara.json('POST', '/api/consent/suppressions', {
      address: 'Nobody@Spam.example',
      reason: 'Asked by letter',
    });
    expect(added).toMatchObject({
      channel: 'email',
      address: 'nobody@spam.example',
      status: 'unsubscribed',
      source: 'manual',
    });
    expect((await refusals(['nobody@spam.example'], [news])).get('nobody@spam.example')?.status).toBe('unsubscribed');
    const found = await demo.json('GET', '/api/consent/suppressions?q=spam.example');
    expect(found.items.map((s: { address: string }) => s.address)).toEqual(['nobody@spam.example']);
    const complained = await demo.json('GET', '/api/consent/suppressions?status=complained');
    expect(complained.items.map((s: { address: string }) => s.address)).toEqual(['two@r.example']);
    // list rows are not suppressions: one@r.example unsubscribed from one list only
    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: { address: string }[]; nextCursor: string | null } = await demo.json(
        'GET',
        `/api/consent/suppressions?limit=1${cursor ? `&cursor=${cursor}` : ''}`,
      );
      all.push(...page.items.map((s) => s.address));
      cursor = page.nextCursor;
    } while (cursor);
    expect(all.sort()).toEqual(['bouncy@consenso.example', 'nobody@spam.example', 'two@r.example']);

    expect(await errorCode(await demo.call('POST', '/api/consent/suppressions', { address: 'not an address' }))).toBe(
      'validation_failed',
    );
    expect(await errorCode(await demo.call('GET', '/api/consent/suppressions?cursor=garbage'))).toBe('invalid_cursor');
    expect(await errorCode(await demo.call('GET', '/api/consent/suppressions?status=gone'))).toBe('validation_failed');

    const byMember = await sara.call('DELETE', `/api/consent/suppressions/${added.id}`);
    expect(byMember.status).toBe(403);
    expect((await other.call('DELETE', `/api/consent/suppressions/${added.id}`)).status).toBe(404);
    await demo.json('DELETE', `/api/consent/suppressions/${added.id}`);
    expect((await refusals(['nobody@spam.example'], [news])).size).toBe(0);
    expect((await demo.call('DELETE', `/api/consent/suppressions/${added.id}`)).status).toBe(404);
  });
});
