import type { Socket } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { z } from 'zod';

/**
 * How long the gateway waits before its greeting, refusing a client that talks first ("You talk too soon": a
 * spam engine that does not wait for the server). smtp-server hard-codes 100 ms in its connection's `init()`;
 * here it is Filo's setting, with the same default, so that the spam defence stays on unless turned off.
 * A client address waits it once a day (`GreetingPasses`): paid on every session, it was most of a message's time
 * in the gateway under many sessions of one sender (bench/README.md).
 */
export const smtpGreetingEnv = {
  SMTP_GREETING_DELAY_MS: z.coerce
    .number({ message: 'must be a whole number' })
    .int({ message: 'must be a whole number' })
    .min(0, { message: 'must be at least 0' })
    .max(30_000, { message: 'must be at most 30000' })
    .default(100),
};

/**
 * Addresses that waited for a greeting, greeted at once for a day afterwards: Postfix's postscreen does the same
 * with its pregreet test (`postscreen_greet_ttl`, a day). A sender that waited once is a real mail server, and its
 * next thousand connections need not each pay the pause; a new address still does, and one that talked first
 * is never remembered. Bounded: past `max` addresses the oldest is forgotten (it then waits once more).
 */
export class GreetingPasses {
  readonly #until = new Map<string, number>();
  readonly #ttlMs: number;
  readonly #max: number;

  constructor(opts: { ttlMs?: number; max?: number } = {}) {
    this.#ttlMs = opts.ttlMs ?? 86_400_000;
    this.#max = opts.max ?? 100_000;
  }

  has(address: string): boolean {
    const until = this.#until.get(address);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.#until.delete(address);
    return false;
  }

  add(address: string): void {
    this.#until.delete(address);
    if (this.#until.size >= this.#max) this.#until.delete(this.#until.keys().next().value!);
    this.#until.set(address, Date.now() + this.#ttlMs);
  }
}

/** smtp-server's connection with the greeting after `delayMs` (0: at once) instead of its fixed 100 ms. */
class DelayedGreeting extends SMTPConnection {
  readonly #delayMs: number;
  readonly #passes: GreetingPasses;

  constructor(server: SMTPServer, socket: Socket, options: unknown, delayMs: number, passes: GreetingPasses) {
    super(server, socket, options);
    this.#delayMs = delayMs;
    this.#passes = passes;
  }

  // smtp-server's init() (3.21), but for the delay and the addresses that passed it.
  override init() {
    this._setListeners(() => {
      const max = this._server.options.maxClients;
      if (max && this._server.connections.size > max)
        return this.send(421, `${this.name} Too many connected clients, try again in a moment`, false);
      if (this.#delayMs === 0 || this.#passes.has(this.remoteAddress)) return this.connectionReady();
      // Unref'd, as upstream: a connection waiting for its greeting does not keep the process alive.
      setTimeout(() => {
        // Still open: it did not talk first (that is a 421, which closes the connection) nor leave.
        if (!this._closing && !this._closed) this.#passes.add(this.remoteAddress);
        this.connectionReady();
      }, this.#delayMs).unref();
    });
  }
}

/** What connect() uses of smtp-server's own members, which its typings leave out. */
interface ServerInternals {
  connections: Set<unknown>;
  _onError(err: Error): void;
  _onClientConnect(data: unknown): void;
}

/** An SMTPServer whose sessions wait `greetingDelayMs` before their greeting, once a day per client address. */
export class FiloSmtpServer extends SMTPServer {
  readonly #greetingDelayMs: number;
  readonly #passes = new GreetingPasses();

  constructor(options: SMTPServerOptions, greetingDelayMs: number) {
    super(options);
    this.#greetingDelayMs = greetingDelayMs;
  }

  // smtp-server's connect() (3.21), with the connection above.
  override connect(socket: Socket, socketOptions: unknown) {
    const self = this as unknown as ServerInternals;
    const connection = new DelayedGreeting(this, socket, socketOptions, this.#greetingDelayMs, this.#passes);
    self.connections.add(connection);
    connection.on('error', (err: Error) => self._onError(err));
    connection.on('connect', (data: unknown) => self._onClientConnect(data));
    connection.init();
  }
}
