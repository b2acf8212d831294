import { describe, expect, it } from 'vitest';
import { useE2e } from '../support/e2e.ts';

/**
 * Settings, Sending domains: an admin adds a domain and gets the TXT record to publish; Verify looks it up and says
 * it is not there yet (`.invalid` never resolves); a member sees the list but cannot change it.
 */

const e2e = useE2e('sending-domains');

describe('the sending domains screen', () => {
  it('adds a domain, shows the record to publish and the outcome of a check; members only read', async () => {
    const page = await (await e2e.newContext()).newPage();
    await e2e.signIn(page, 'demo@filo.local');
    await page.goto(`${e2e.filo.baseUrl}/settings/domains`);
    await page.getByRole('link', { name: 'Sending domains' }).waitFor();
    await expect.poll(() => page.getByText('No sending domains yet.').isVisible()).toBe(true);

    await page.getByRole('textbox', { name: 'Domain', exact: true }).fill('Negozio.invalid');
    await page.getByRole('button', { name: 'Add domain' }).click();
    const card = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'negozio.invalid' }) });
    await card.waitFor();
    await expect.poll(() => card.getByText('Waiting for DNS').isVisible()).toBe(true);
    expect(await card.getByLabel('Name', { exact: true }).inputValue()).toBe('_filo.negozio.invalid');
    expect(await card.getByLabel('Value', { exact: true }).inputValue()).toMatch(/^filo-verification=[0-9a-f]{48}$/);

    await card.getByRole('button', { name: 'Verify negozio.invalid' }).click();
    await expect
      .poll(() => page.getByText('No verification record found for negozio.invalid yet.').isVisible())
      .toBe(true);
    await expect.poll(() => card.getByText(/the record was not found yet/).isVisible()).toBe(true);

    // A bad name is refused on its field.
    await page.getByRole('textbox', { name: 'Domain', exact: true }).fill('not a domain');
    await page.getByRole('button', { name: 'Add domain' }).click();
    await expect.poll(() => page.getByText('must be a domain name such as example.com').isVisible()).toBe(true);

    const member = await (await e2e.newContext()).newPage();
    await e2e.signIn(member, 'sara@filo.local');
    await member.goto(`${e2e.filo.baseUrl}/settings/domains`);
    await member.getByRole('heading', { name: 'negozio.invalid' }).waitFor();
    expect(await member.getByRole('button', { name: 'Add domain' }).count()).toBe(0);
    expect(await member.getByRole('button', { name: /Verify/ }).count()).toBe(0);

    page.once('dialog', (dialog) => void dialog.accept());
    await card.getByRole('button', { name: 'Remove negozio.invalid' }).click();
    await expect.poll(() => page.getByText('No sending domains yet.').isVisible()).toBe(true);
  });
});
