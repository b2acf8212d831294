import { describe, expect, it } from 'vitest';
import { DEMO } from '../support/harness.ts';
import { pageApi, useE2e } from '../support/e2e.ts';

const e2e = useE2e('account');
const NEW_PASSWORD = 'Quiet-harbour-lantern-4821';

describe('account and access in the browser', () => {
  it('changing the password in one browser signs the other out at once; this one stays live', async () => {
    const here = await (await e2e.newContext()).newPage();
    const there = await (await e2e.newContext()).newPage();
    await e2e.signIn(here, 'luca@filo.local');
    await e2e.signIn(there, 'luca@filo.local');

    await here.goto(`${e2e.filo.baseUrl}/settings/account`);
    await here.getByLabel('Current password').fill(DEMO.password);
    await here.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await here.getByLabel('New password again').fill('not the same');
    await here.getByRole('button', { name: 'Change password' }).click();
    await here.getByText('The two new passwords differ').waitFor();

    await here.getByLabel('New password again').fill(NEW_PASSWORD);
    await here.getByRole('button', { name: 'Change password' }).click();
    await here.getByRole('status').filter({ hasText: 'Password changed' }).waitFor();

    // The other browser's socket is cut: its shell finds the session gone and shows the sign-in page.
    await there.waitForURL(`${e2e.filo.baseUrl}/login`, { timeout: 15_000 });
    expect(await here.getByTestId('connection-status').textContent()).toContain('Live');
  }, 90_000);

  it('a demoted admin’s open app shows the new role at once, without a reload', async () => {
    const owner = await (await e2e.newContext()).newPage();
    const mario = await (await e2e.newContext()).newPage();
    await e2e.signIn(owner, DEMO.email);
    await e2e.signIn(mario, 'mario@filo.local');
    const badge = mario.locator('header').getByText('Admin', { exact: true });
    await badge.waitFor();
    const members = await pageApi<{ items: { userId: string; email: string }[] }>(owner, 'GET', '/api/team/members');
    const id = members.items.find((m) => m.email === 'mario@filo.local')!.userId;
    await pageApi(owner, 'PATCH', `/api/team/members/${id}`, { role: 'member' });
    await mario.locator('header').getByText('Member', { exact: true }).waitFor({ timeout: 15_000 });
    expect(await badge.count()).toBe(0);
  }, 90_000);
});
