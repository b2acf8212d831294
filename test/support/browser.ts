import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's Chromium driven by Playwright (which gives it a fresh temporary profile); the flags keep it off
 * the network this machine does not have. `args` adds flags (fake camera and microphone for calls, say).
 */
export async function launchBrowser(opts: { args?: string[] } = {}): Promise<Browser & { cleanup(): Promise<void> }> {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...(opts.args ?? []),
    ],
  });
  return Object.assign(browser, { cleanup: () => browser.close() });
}

const shared = new Map<string, Promise<Browser>>();

/**
 * One Chromium per test worker and set of flags, kept from one test file to the next (vitest keeps a worker's
 * modules: `isolate: false`); each file works in browser contexts of its own, which share nothing. A Chromium
 * that died is launched anew. It ends with the worker process (Playwright's pipe closes).
 */
export async function sharedBrowser(args: string[] = []): Promise<Browser> {
  const key = args.join(' ');
  const known = shared.get(key);
  const browser = known ? await known.catch(() => null) : null;
  if (browser?.isConnected()) return browser;
  const launching = launchBrowser({ args });
  shared.set(key, launching);
  return launching;
}
