import { afterAll, beforeAll, expect } from 'vitest';
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { createTestDatabase, DEMO, tempDir } from './harness.ts';
import { spawnFilo, waitHealthy, type FiloProcess } from './process.ts';
import { sharedBrowser } from './browser.ts';

/** The file's view of the worker's Chromium: the contexts and pages it opens are its own, closed after its tests. */
export interface E2eBrowser {
  newContext(options?: BrowserContextOptions): Promise<BrowserContext>;
  newPage(options?: BrowserContextOptions): Promise<Page>;
  /** The contexts this file opened and has not closed. */
  contexts(): BrowserContext[];
  version(): string;
}

export interface E2e {
  /** A Filo process (`node server/main.ts`) on its own fresh database and data folder. */
  filo: FiloProcess;
  browser: E2eBrowser;
  /** Browser contexts the test opened: closed after the file's tests. */
  contexts: BrowserContext[];
  /** The process's DATA_DIR (its outbox, blobs and spool), known once the file's beforeAll hook ran. */
  dataDir: string;
  /** Superuser URL of the process's database, for fixtures a browser cannot make (a DNS-verified domain). */
  databaseUrl: string;
  /** A fresh browser context (1400x900, en-US, Europe/Rome); `notificationOffer` leaves the notification offer to show. */
  newContext(options?: { notificationOffer?: boolean }): Promise<BrowserContext>;
  /** Signs in on the login page as a demo user and waits until the app is live (socket connected). */
  signIn(page: Page, email: string): Promise<void>;
}

/**
 * The demo workspace's time zone (tenants.time_zone's default), every context's unless a test sets its own: in a
 * UTC browser "today" and "tomorrow" are Rome's yesterday and today between 22:00 and 24:00 UTC, and a test that
 * reads a date failed when CI ran at 23:18 UTC.
 */
export const E2E_TIME_ZONE = 'Europe/Rome';

/** A Filo process of this worker on a fresh database and data folder of its own. */
interface WorkerFilo {
  filo: FiloProcess;
  db: Awaited<ReturnType<typeof createTestDatabase>>;
  data: { dir: string; remove(): void };
  /** Kills it (its database is dropped next: a graceful stop, 0.5 to 2 s under load, has nothing to keep). */
  stop(): Promise<void>;
}

async function startWorkerFilo(env: Record<string, string>, name = 'next'): Promise<WorkerFilo> {
  // A port found free can be taken before Filo listens on it (another process's outgoing connection draws from the
  // same ephemeral range): such a start is tried again on new ports, on a new database.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startWorkerFiloOnce(env, name);
    } catch (err) {
      if (attempt >= 3 || !String((err as Error).message).includes('EADDRINUSE')) throw err;
    }
  }
}

async function startWorkerFiloOnce(env: Record<string, string>, name: string): Promise<WorkerFilo> {
  const db = await createTestDatabase();
  const data = tempDir(`filo-e2e-${name}-`);
  let filo: FiloProcess | undefined;
  const stop = async () => {
    if (filo?.child.exitCode === null) {
      filo.child.kill('SIGKILL');
      await filo.exited(10_000);
    }
    await db.drop();
    data.remove();
  };
  try {
    filo = await spawnFilo(
      { DATABASE_URL: db.url, DATA_DIR: data.dir, NODE_ENV: 'test', HOST: '127.0.0.1', ...env },
      'server/main.ts',
      { tiedToWorker: true },
    );
    await waitHealthy(filo);
    return { filo, db, data, stop };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}

// The Filo of the worker's next browser file without an `env` of its own, started while this file runs: a start
// (a fresh database, a process, /healthz) took 7 to 15 s of each file's wall time on CI, most of it waiting. It is
// the same fresh Filo on the same fresh demo workspace that file would have started; if the worker runs no other
// browser file it dies with the worker (test/support/filo-child.ts) and its database with the run's PostgreSQL.
let spare: Promise<WorkerFilo> | undefined;

async function takeSpareFilo(): Promise<WorkerFilo> {
  const taken = spare ? await spare.catch(() => undefined) : undefined;
  spare = undefined;
  // A spare that died while it waited (or failed to start) is not used: this file starts its own.
  const own = taken?.filo.child.exitCode === null ? taken : await startWorkerFilo({});
  if (taken && taken !== own) await taken.stop().catch(() => {});
  // Started once this file's Filo is up, so two starts never compete for the CPU of one file's setup.
  spare = startWorkerFilo({});
  spare.catch(() => {}); // its failure is seen (and replaced) by the file that takes it
  return own;
}

/**
 * The setup every browser test shares, registered as the file's beforeAll/afterAll: a Filo process in test mode
 * on a fresh database (started ahead by the worker's previous browser file unless `env` is given) and Chromium.
 * `env` is read when the hook runs (after hooks registered before this call).
 */
export function useE2e(name: string, opts: { env?: () => Record<string, string>; browserArgs?: string[] } = {}): E2e {
  let withOffer: (options?: BrowserContextOptions) => Promise<BrowserContext>;
  const opened: BrowserContext[] = [];
  const e2e: E2e = {
    filo: undefined as unknown as FiloProcess,
    browser: undefined as unknown as E2eBrowser,
    contexts: [],
    dataDir: '',
    databaseUrl: '',
    async newContext(options = {}) {
      const make = options.notificationOffer ? withOffer : e2e.browser.newContext;
      const context = await make({ locale: 'en-US', viewport: { width: 1400, height: 900 } });
      e2e.contexts.push(context);
      return context;
    },
    async signIn(page, email) {
      await page.goto(`${e2e.filo.baseUrl}/login`);
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill(DEMO.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${e2e.filo.baseUrl}/`);
      await expect
        .poll(() => page.getByTestId('connection-status').textContent(), { timeout: 10_000 })
        .toContain('Live');
    },
  };
  let starting: Promise<WorkerFilo> | undefined;
  let own: WorkerFilo | undefined;
  beforeAll(async () => {
    starting = opts.env ? startWorkerFilo(opts.env(), name) : takeSpareFilo();
    own = await starting;
    e2e.filo = own.filo;
    e2e.databaseUrl = own.db.url;
    e2e.dataDir = own.data.dir;
    const browser: Browser = await sharedBrowser(opts.browserArgs);
    withOffer = async (options) => {
      const context = await browser.newContext({ timezoneId: E2E_TIME_ZONE, ...options });
      opened.push(context);
      context.once('close', () => opened.splice(opened.indexOf(context) >>> 0, 1));
      return context;
    };
    // The offer to turn on browser notifications is a panel over the page's bottom right until answered: a user
    // answers it once; every context a test makes starts as if "Not now" was said, but the offer's own test's.
    const newContext = async (options?: BrowserContextOptions) => {
      const context = await withOffer(options);
      await context.addInitScript(() => localStorage.setItem('filo.notify.banner-dismissed', '1'));
      return context;
    };
    e2e.browser = {
      newContext,
      // As Browser.newPage: a page in a context of its own, closed with the page.
      async newPage(options) {
        const context = await newContext(options);
        const page = await context.newPage();
        page.once('close', () => void context.close().catch(() => {}));
        return page;
      },
      contexts: () => [...opened],
      version: () => browser.version(),
    };
  });
  afterAll(async () => {
    // The worker's Chromium stays for its next file: this file's contexts (and their pages) are closed.
    for (const context of [...e2e.contexts, ...opened]) await context.close().catch(() => {});
    if (own) await own.stop();
    // A start that outlasted the hook's timeout is stopped when it ends, not left running beside the next files.
    else void starting?.then((late) => late.stop()).catch(() => {});
  });
  return e2e;
}

/** A same-origin API call from the signed-in page (its cookie, its Origin); throws on a status >= 300. */
export async function pageApi<T>(page: Page, method: string, path: string, body?: unknown): Promise<T> {
  const res = await page.evaluate(
    async ([method, path, body]) => {
      const r = await fetch(path, {
        method,
        headers: { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: r.status, json: (await r.json().catch(() => null)) as unknown };
    },
    [method, path, body] as const,
  );
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.json)}`);
  return res.json as T;
}
