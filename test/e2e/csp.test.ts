import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spaPage } from '../../server/http/csp.ts';
import { tempDir } from '../support/harness.ts';
import { pageApi, useE2e } from '../support/e2e.ts';

const e2e = useE2e('csp');

/** What the page's window holds for this test (these run in Chromium; the test's types know no DOM). */
interface PageWindow {
  __cspViolations?: string[];
  __injected?: number;
  document: {
    addEventListener(
      type: 'securitypolicyviolation',
      listener: (e: { violatedDirective: string; blockedURI: string; sourceFile: string; lineNumber: number }) => void,
    ): void;
    createElement(tag: string): { textContent: string; src: string; setAttribute(n: string, v: string): void };
    body: { append(node: unknown): void };
  };
}

describe('Content-Security-Policy', () => {
  it('serves the app with a strict policy: scripts from our origin and the bootstrap by hash only', async () => {
    const res = await fetch(`${e2e.filo.baseUrl}/companies`, { headers: { accept: 'text/html' } });
    const policy = res.headers.get('content-security-policy') ?? '';
    const scriptSrc = policy.split(';').find((d) => d.trim().startsWith('script-src '))!;
    expect(scriptSrc).toMatch(/'self'/);
    expect(scriptSrc).toMatch(/'sha256-[A-Za-z0-9+/]+=*'/);
    expect(scriptSrc).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(policy).toMatch(/object-src 'none'/);
    expect(policy).toMatch(/script-src-attr 'none'/);
  });

  it('runs the whole app in Chromium without a single violation, and blocks an injected script', async () => {
    const context = await e2e.newContext();
    await context.addInitScript(() => {
      const w = globalThis as unknown as PageWindow;
      w.__cspViolations = [];
      w.document.addEventListener('securitypolicyviolation', (e) =>
        w.__cspViolations!.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`),
      );
    });
    const page = await context.newPage();
    await e2e.signIn(page, 'demo@filo.local');
    for (const path of [
      '/companies',
      '/contacts',
      '/deals',
      '/inbox',
      '/meetings',
      '/notifications',
      '/settings',
      '/',
    ]) {
      await page.goto(`${e2e.filo.baseUrl}${path}`);
      await expect
        .poll(() => page.getByTestId('connection-status').textContent(), { timeout: 10_000 })
        .toContain('Live');
      expect(await page.evaluate(() => (globalThis as unknown as PageWindow).__cspViolations)).toEqual([]);
    }
    // A company page with its live timeline.
    const company = await pageApi<{ id: string }>(page, 'POST', '/api/crm/companies', {
      name: 'Csp Srl',
      type: 'client',
    });
    await page.goto(`${e2e.filo.baseUrl}/companies/${company.id}`);
    await expect.poll(() => page.getByRole('heading', { name: 'Csp Srl' }).isVisible()).toBe(true);
    await expect.poll(() => page.getByTestId('connection-status').textContent()).toContain('Live');
    expect(await page.evaluate(() => (globalThis as unknown as PageWindow).__cspViolations)).toEqual([]);

    // What an injection would try: an inline script and an inline handler. Neither runs; both are reported.
    await page.evaluate(() => {
      const { document } = globalThis as unknown as PageWindow;
      const script = document.createElement('script');
      script.textContent = 'window.__injected = 1';
      document.body.append(script);
      const img = document.createElement('img');
      img.setAttribute('onerror', 'window.__injected = 2');
      img.src = 'data:,not-an-image';
      document.body.append(img);
    });
    // Both refusals are reported (the handler's when the image fails): by then neither has run.
    await expect
      .poll(() =>
        page.evaluate(() => (globalThis as unknown as PageWindow).__cspViolations!.map((v) => v.split(' ')[0])),
      )
      .toEqual(expect.arrayContaining(['script-src-elem', 'script-src-attr']));
    expect(await page.evaluate(() => (globalThis as unknown as PageWindow).__injected ?? null)).toBeNull();
  }, 120_000);
});

describe('the page and its policy', () => {
  it('follow a rebuild of the app while Filo runs (the bootstrap script changes, so does its hash)', () => {
    const dir = tempDir('filo-csp-');
    const file = path.join(dir.dir, 'index.html');
    const sha = (body: string) => `'sha256-${createHash('sha256').update(body).digest('base64')}'`;
    try {
      writeFileSync(file, '<html><script>boot(1)</script></html>');
      const page = spaPage(file, { jitsiBaseUrl: 'https://meet.jit.si' });
      expect(page().csp).toContain(sha('boot(1)'));
      writeFileSync(file, '<html><script>boot(22)</script></html>');
      utimesSync(file, new Date(), new Date(Date.now() + 5_000));
      const { html, csp } = page();
      expect(html).toContain('boot(22)');
      expect(csp).toContain(sha('boot(22)'));
      expect(csp).not.toContain(sha('boot(1)'));
    } finally {
      dir.remove();
    }
  });
});
