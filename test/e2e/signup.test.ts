import { describe, expect, it } from 'vitest';
import { signupLinkToken } from '../support/harness.ts';
import { useE2e } from '../support/e2e.ts';

const e2e = useE2e('signup');

describe('signing up in the browser', () => {
  it('says to check the inbox, and the mailed link creates the workspace and enters the app', async () => {
    const page = await (await e2e.newContext()).newPage();
    await page.goto(`${e2e.filo.baseUrl}/signup`);
    await page.getByLabel('Workspace name').fill('Bottega Nuova');
    await page.getByLabel('Your name').fill('Bea Nuova');
    await page.getByLabel('Email').fill('bea@bottega.example');
    await page.getByLabel('Password').fill('a long enough secret');
    await page.getByRole('button', { name: 'Create workspace' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('We sent a mail to bea@bottega.example');
    await expect.poll(() => page.getByRole('heading', { name: 'Check your inbox' }).isVisible()).toBe(true);
    // No session until the link is followed.
    const cookies = await page.context().cookies();
    expect(cookies.map((c) => c.name)).not.toContain('filo_session');

    let token: string | null = null;
    await expect
      .poll(async () => (token = await signupLinkToken(`${e2e.dataDir}/outbox`, 'bea@bottega.example')))
      .toBeTruthy();
    await page.goto(`${e2e.filo.baseUrl}/signup/confirm#token=${token}`);
    await page.waitForURL(`${e2e.filo.baseUrl}/`);
    await expect.poll(() => page.getByText('Bottega Nuova').first().isVisible()).toBe(true);
    await expect.poll(() => page.getByTestId('connection-status').textContent(), { timeout: 10_000 }).toContain('Live');

    // The same link again, in another browser, is refused and points to sign-in.
    const again = await (await e2e.newContext()).newPage();
    await again.goto(`${e2e.filo.baseUrl}/signup/confirm#token=${token}`);
    await expect.poll(() => again.getByRole('alert').textContent()).toContain('already used');
    await expect.poll(() => again.getByRole('link', { name: 'Sign in' }).isVisible()).toBe(true);
  });
});
