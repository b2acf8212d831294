import { beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { apiClient, DEMO, login, type ApiClient } from '../support/harness.ts';
import { useE2e } from '../support/e2e.ts';

/**
 * Two people edit the same company (or note) in Chromium: the second save, made on the version both opened, shows who
 * changed it meanwhile and what, and reapplies the second person's change on top; a form nobody touched follows a
 * teammate's save instead of conflicting with it.
 */

const poll = <T>(fn: () => Promise<T> | T, timeout = 10_000) => expect.poll(fn, { timeout });

const e2e = useE2e('concurrency');
let demo: ApiClient;
beforeAll(async () => {
  demo = apiClient(e2e.filo.baseUrl, await login(e2e.filo.baseUrl));
});

/** The interface language is the browser's choice, kept in localStorage. */
const speakItalian = (page: Page) =>
  page.evaluate(() =>
    (globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }).localStorage.setItem(
      'filo.lang',
      'it',
    ),
  );

async function openEdit(page: Page, companyId: string) {
  await page.goto(`${e2e.filo.baseUrl}/companies/${companyId}`);
  await page.getByRole('button', { name: 'Edit', exact: true }).first().click();
  const dialog = page.getByRole('dialog', { name: 'Edit company' });
  await dialog.getByLabel('Industry').waitFor();
  return dialog;
}

describe('editing a record two at a time', () => {
  it('shows the other save as a conflict with its values, and reapplies the edit on top', async () => {
    const acme = await demo.json('POST', '/api/crm/companies', { name: 'Doppia Srl', type: 'client' });
    const owner = await (await e2e.newContext()).newPage();
    const mario = await (await e2e.newContext()).newPage();
    await e2e.signIn(owner, DEMO.email);
    await e2e.signIn(mario, 'mario@filo.local');

    const mine = await openEdit(owner, acme.id);
    const his = await openEdit(mario, acme.id);
    // Mario starts typing first, so his form stays on the version he opened.
    await his.getByLabel('Website').fill('https://doppia.example');

    await mine.getByLabel('Industry').fill('Textiles');
    await mine.getByRole('button', { name: 'Save' }).click();
    await mine.waitFor({ state: 'hidden' });

    await his.getByRole('button', { name: 'Save' }).click();
    const notice = his.getByRole('alert').filter({ hasText: 'meanwhile' });
    await poll(() => notice.textContent()).toContain('Changed by Demo Owner meanwhile');
    expect(await notice.locator('[data-field="industry"]').textContent()).toBe('Textiles');
    // Nothing of his was saved yet.
    expect(await demo.json('GET', `/api/crm/companies/${acme.id}`)).toMatchObject({
      industry: 'Textiles',
      website: null,
      version: 2,
    });

    await notice.getByRole('button', { name: 'Reapply my changes' }).click();
    await his.waitFor({ state: 'hidden' });
    expect(await demo.json('GET', `/api/crm/companies/${acme.id}`)).toMatchObject({
      industry: 'Textiles',
      website: 'https://doppia.example',
      version: 3,
    });
  }, 60_000);

  it('discards the refused edit on request, showing the record as it is now (in Italian too)', async () => {
    const acme = await demo.json('POST', '/api/crm/companies', { name: 'Scarto Srl', type: 'client' });
    const owner = await (await e2e.newContext()).newPage();
    const mario = await (await e2e.newContext()).newPage();
    await e2e.signIn(owner, DEMO.email);
    await e2e.signIn(mario, 'mario@filo.local');

    const his = await openEdit(mario, acme.id);
    await his.getByLabel('Industry').fill('Chemicals');
    // The owner saves from outside the form, on the version both had.
    await demo.json('PATCH', `/api/crm/companies/${acme.id}`, { industry: 'Food', version: 1 });
    await his.getByRole('button', { name: 'Save' }).click();
    const notice = his.getByRole('alert').filter({ hasText: 'meanwhile' });
    await poll(() => notice.textContent()).toContain('Changed by Demo Owner meanwhile');
    await notice.getByRole('button', { name: 'Discard mine' }).click();
    await poll(() => his.getByLabel('Industry').inputValue()).toBe('Food');
    expect(await notice.count()).toBe(0);

    // The same conflict in Italian.
    await speakItalian(mario);
    await mario.goto(`${e2e.filo.baseUrl}/companies/${acme.id}`);
    await mario.getByRole('button', { name: 'Modifica', exact: true }).first().click();
    const dialog = mario.getByRole('dialog');
    await dialog.getByLabel('Settore').fill('Tessile');
    await demo.json('PATCH', `/api/crm/companies/${acme.id}`, { industry: 'Vino', version: 2 });
    await dialog.getByRole('button', { name: 'Salva' }).click();
    await poll(() => dialog.getByRole('alert').first().textContent()).toContain(
      'Modificato da Demo Owner nel frattempo',
    );
    await dialog.getByRole('button', { name: 'Riapplica le mie modifiche' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect((await demo.json('GET', `/api/crm/companies/${acme.id}`)).industry).toBe('Tessile');
  }, 60_000);

  it('shows a note edited meanwhile in the note editor, and reapplies the edit on top', async () => {
    const acme = await demo.json('POST', '/api/crm/companies', { name: 'Note Doppie Srl', type: 'client' });
    const note = await demo.json('POST', '/api/crm/notes', {
      entityType: 'company',
      entityId: acme.id,
      content: 'Call them on Monday',
    });
    const mario = await (await e2e.newContext()).newPage();
    await e2e.signIn(mario, 'mario@filo.local');
    await mario.goto(`${e2e.filo.baseUrl}/companies/${acme.id}?tab=notes`);
    // While it is edited its text is in the editor: the note is found by its label.
    const item = mario.getByRole('article', { name: 'Note by Demo Owner' });
    await poll(() => item.textContent()).toContain('Call them on Monday');
    await item.getByRole('button', { name: 'Edit' }).click();
    const editor = item.getByRole('combobox', { name: 'Note' });
    await editor.fill('Call them on Tuesday');

    await demo.json('PATCH', `/api/crm/notes/${note.id}`, { isPinned: true, version: 1 });
    await item.getByRole('button', { name: 'Save' }).click();
    const notice = item.getByRole('alert').filter({ hasText: 'meanwhile' });
    await poll(() => notice.textContent()).toContain('Changed by Demo Owner meanwhile');
    expect(await notice.locator('[data-field="isPinned"]').textContent()).toBe('Yes');
    // His text is still in the editor, unsaved.
    expect(await editor.inputValue()).toBe('Call them on Tuesday');
    expect((await demo.json('GET', `/api/crm/notes?entityType=company&entityId=${acme.id}`)).items[0]).toMatchObject({
      content: 'Call them on Monday',
      version: 2,
    });

    await notice.getByRole('button', { name: 'Reapply my changes' }).click();
    await poll(() => mario.getByRole('article').filter({ hasText: 'Call them on Tuesday' }).count()).toBe(1);
    expect((await demo.json('GET', `/api/crm/notes?entityType=company&entityId=${acme.id}`)).items[0]).toMatchObject({
      content: 'Call them on Tuesday',
      version: 3,
    });
  }, 60_000);

  it('moves an untouched form to a teammate’s newer version instead of conflicting', async () => {
    const acme = await demo.json('POST', '/api/crm/companies', { name: 'Segui Srl', type: 'client' });
    const mario = await (await e2e.newContext()).newPage();
    await e2e.signIn(mario, 'mario@filo.local');
    const his = await openEdit(mario, acme.id);

    await demo.json('PATCH', `/api/crm/companies/${acme.id}`, { industry: 'Logistics', version: 1 });
    // Heard live: the form shows the new value (and holds the new version).
    await poll(() => his.getByLabel('Industry').inputValue()).toBe('Logistics');
    await his.getByLabel('Website').fill('https://segui.example');
    await his.getByRole('button', { name: 'Save' }).click();
    await his.waitFor({ state: 'hidden' });
    expect(await demo.json('GET', `/api/crm/companies/${acme.id}`)).toMatchObject({
      industry: 'Logistics',
      website: 'https://segui.example',
      version: 3,
    });
  }, 60_000);
});
