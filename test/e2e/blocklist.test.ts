import { describe, expect, it } from 'vitest';
import { useE2e } from '../support/e2e.ts';

/**
 * Settings, Blocklist: an admin blocks a domain and an address (a bad pattern is refused on its field) and unblocks
 * one; a member sees the list but cannot change it.
 */

const e2e = useE2e('blocklist');

describe('the blocklist screen', () => {
  it('blocks and unblocks addresses and domains; members only read', { timeout: 60_000 }, async () => {
    const page = await (await e2e.newContext()).newPage();
    await e2e.signIn(page, 'demo@filo.local');
    await page.goto(`${e2e.filo.baseUrl}/settings/blocklist`);
    await page.getByRole('link', { name: 'Blocklist' }).waitFor();
    await expect.poll(() => page.getByText('Nothing is blocked.').isVisible()).toBe(true);

    const field = page.getByRole('textbox', { name: 'Address or @domain' });
    await field.fill('@Spam-Vendor.test');
    await page.getByRole('button', { name: 'Block', exact: true }).click();
    const list = page.getByRole('list', { name: 'Blocklist' });
    const entries = (pattern: string) => list.getByRole('listitem').filter({ hasText: pattern }).count();
    await expect.poll(() => entries('@spam-vendor.test')).toBe(1);
    await field.fill('pest@example.org');
    await page.getByRole('button', { name: 'Block', exact: true }).click();
    await expect.poll(() => entries('pest@example.org')).toBe(1);

    await field.fill('not a pattern');
    await page.getByRole('button', { name: 'Block', exact: true }).click();
    await expect
      .poll(() => page.getByText('must be an address (name@example.com) or a domain (@example.com)').isVisible())
      .toBe(true);

    const member = await (await e2e.newContext()).newPage();
    await e2e.signIn(member, 'sara@filo.local');
    await member.goto(`${e2e.filo.baseUrl}/settings/blocklist`);
    await member.getByRole('listitem').filter({ hasText: '@spam-vendor.test' }).waitFor();
    expect(await member.getByRole('button', { name: 'Block', exact: true }).count()).toBe(0);
    expect(await member.getByRole('button', { name: /Unblock/ }).count()).toBe(0);

    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Unblock pest@example.org' }).click();
    await expect.poll(() => entries('pest@example.org')).toBe(0);
    expect(await entries('@spam-vendor.test')).toBe(1);
  });
});
