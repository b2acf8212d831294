import { describe, expect, it } from 'vitest';
import { DEMO, login, signUp } from '../support/harness.ts';
import { useE2e } from '../support/e2e.ts';

const e2e = useE2e('invite');

async function post(path: string, payload: unknown, cookie?: string) {
  const res = await fetch(`${e2e.filo.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: e2e.filo.baseUrl, ...(cookie ? { cookie } : {}) },
    body: JSON.stringify(payload),
  });
  if (res.status >= 300) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

describe('accepting an invitation in the browser', () => {
  it('asks an existing account to sign in (never its password on the invitation page), then joins it', async () => {
    await signUp(
      { baseUrl: e2e.filo.baseUrl, outboxDir: `${e2e.dataDir}/outbox` },
      { workspace: 'Eve Co', name: 'Eve Existing', email: 'eve@eve.example', password: 'a long enough secret' },
    );
    const demo = await login(e2e.filo.baseUrl, DEMO);
    const { token } = (await post('/api/team/invitations', { email: 'eve@eve.example', role: 'member' }, demo)) as {
      token: string;
    };

    const page = await (await e2e.newContext()).newPage();
    await page.goto(`${e2e.filo.baseUrl}/invite#${token}`);
    await page.getByLabel('Your name').fill('Eve');
    await page.getByLabel('Password').fill('a long enough secret');
    await page.getByRole('button', { name: 'Join workspace' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('already has a Filo account');
    await page.getByRole('button', { name: 'Sign in to accept' }).first().click();
    await page.waitForURL('**/login**');
    await page.getByLabel('Email').fill('eve@eve.example');
    await page.getByLabel('Password').fill('a long enough secret');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/invite**');
    await expect.poll(() => page.getByText('You are signed in as eve@eve.example').isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Join workspace' }).click();
    await page.waitForURL(`${e2e.filo.baseUrl}/`);
    await expect.poll(() => page.getByText('Filo Demo').first().isVisible()).toBe(true);
  });

  it('shows the workspace’s storage use in Settings', async () => {
    const page = await (await e2e.newContext()).newPage();
    await e2e.signIn(page, DEMO.email);
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('link', { name: 'Storage' }).click();
    await expect.poll(() => page.getByTestId('storage-usage').textContent()).toMatch(/MB of 5,120 MB used/);
  });
});
