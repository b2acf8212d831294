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
