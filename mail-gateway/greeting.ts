import type { Socket } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { z } from 'zod';

/**
 * How long the gateway waits before its greeting, refusing a client that talks first ("You talk too soon": a
 * spam engine that does not wait for the server). smtp-server hard-codes 100 ms in its connection's `init()`;
 * here it is Filo's setting, with the same default, so that the spam defence stays on unless turned off.
 * Every session waits it: with many senders it is most of a message's time in the gateway (bench/README.md).
 */
export const smtpGreetingEnv = {
  SMTP_GREETING_DELAY_MS: z.coerce
    .number({ message: 'must be a whole number' })
    .int({ message: 'must be a whole number' })
    .min(0, { message: 'must be at least 0' })
    .max(30_000, { message: 'must be at most 30000' })
    .default(100),
};

/** smtp-server's connection with the greeting after `delayMs` (0: at once) instead of its fixed 100 ms. */
class DelayedGreeting extends SMTPConnection {
  readonly #delayMs: number;

  constructor(server: SMTPServer, socket: Socket, options: unknown, delayMs: number) {
    super(server, socket, options);
    this.#delayMs = delayMs;
  }

  // smtp-server's init() (3.21), but for the delay.
  override init() {
    this._setListeners(() => {
      const max = this._server.options.maxClients;
      if (max && this._server.connections.size > max)
        return this.send(421, `${this.name} Too many connected clients, try again in a moment`, false);
      if (this.#delayMs === 0) return this.connectionReady();
      // Unref'd, as upstream: a connection waiting for its greeting does not keep the process alive.
      setTimeout(() => this.connectionReady(), this.#delayMs).unref();
    });
  }
}

/** What connect() uses of smtp-server's own members, which its typings leave out. */
interface ServerInternals {
  connections: Set<unknown>;
  _onError(err: Error): void;
  _onClientConnect(data: unknown): void;
}

/** An SMTPServer whose sessions wait `greetingDelayMs` before their greeting. */
export class FiloSmtpServer extends SMTPServer {
  readonly #greetingDelayMs: number;

  constructor(options: SMTPServerOptions, greetingDelayMs: number) {
    super(options);
    this.#greetingDelayMs = greetingDelayMs;
  }

  // smtp-server's connect() (3.21), with the connection above.
  override connect(socket: Socket, socketOptions: unknown) {
    const self = this as unknown as ServerInternals;
    const connection = new DelayedGreeting(this, socket, socketOptions, this.#greetingDelayMs);
    self.connections.add(connection);
    connection.on('error', (err: Error) => self._onError(err));
    connection.on('connect', (data: unknown) => self._onClientConnect(data));
    connection.init();
  }
}
