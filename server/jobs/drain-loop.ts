import type { Logger } from '../logger.ts';

/**
 * Drains work per workspace on a worker: at once for the workspaces woken in this process (something committed
 * here), and for all of them every `everyMs` (what other nodes wrote, retries come due). One pass at a time; a
 * wake-up during a pass runs another pass after it. Shared by the event feed and the webhook sender.
 */
export class DrainLoop {
  readonly #pass: (tenantIds: string[] | undefined) => Promise<unknown>;
  readonly #log: Logger;
  readonly #what: string;
  readonly #woken = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #poller: NodeJS.Timeout | undefined;
  #running: Promise<unknown> = Promise.resolve();
  #busy = false;
  #again = false;
  #stopped = true;

  /** `pass(undefined)` drains every workspace; `pass(ids)` only those. */
  constructor(pass: (tenantIds: string[] | undefined) => Promise<unknown>, log: Logger, what: string) {
    this.#pass = pass;
    this.#log = log;
    this.#what = what;
  }

  wake(tenantId: string): void {
    if (this.#stopped) return;
    this.#woken.add(tenantId);
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#tick(false);
    }, 0);
  }

  run(everyMs: number): void {
    this.#stopped = false;
    this.#tick(true);
    this.#poller = setInterval(() => this.#tick(true), everyMs);
    this.#poller.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#poller);
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  #tick(full: boolean): void {
    if (this.#stopped) return;
    if (this.#busy) {
      this.#again = true;
      return;
    }
    this.#busy = true;
    const woken = [...this.#woken];
    this.#woken.clear();
    this.#running = this.#pass(full ? undefined : woken)
      .catch((err: unknown) => this.#log.warn({ err }, `${this.#what} failed`))
      .finally(() => {
        this.#busy = false;
        if (this.#again || this.#woken.size) {
          this.#again = false;
          this.#tick(false);
        }
      });
  }
}
