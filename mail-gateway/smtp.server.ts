import { Transform, type Readable } from 'node:stream';
import type { SMTPServer, SMTPServerOptions, SMTPServerSession } from 'smtp-server';
import { FiloSmtpServer } from './greeting.ts';
import type { Logger } from '../server/logger.ts';
import type { InboundStore, MailboxRoute } from './inbound-store.ts';
import { HeaderMeter, SMTP_MAX_HEADER_BYTES, SMTP_MAX_HEADER_LINES } from '../mail/header-limit.ts';
import type { Spool } from './spool.ts';

/** `b+<token>` (a bulk send's VERP return path) and `u+<token>` (its List-Unsubscribe mailto). */
const BULK_LOCAL = /^([bu])\+(.*)$/;

export interface SmtpGateway {
  server: SMTPServer;
  port: number;
  close(): Promise<void>;
}

export interface GatewayLimits {
  maxSize: number;
  maxRecipients: number;
  maxConnectionsPerIp: number;
  maxMessagesPerIpPerMinute: number;
  /** Balancers whose connections open with a PROXY v1 header (the real client's address); empty: none. */
  proxyFrom?: string[];
  /** The wait before each greeting, refusing early talkers (greeting.ts); 100 ms when not given, 0: none. */
  greetingDelayMs?: number;
}

export interface GatewayDeps {
  log: Logger;
  limits: GatewayLimits;
  store: InboundStore;
  spool: Spool;
  /** `local@slug.<inbound domain>` -> its parts, or null when the domain is not ours. */
  parseAddress(address: string): { local: string; slug: string } | null;
  tls?: { cert: string; key: string } | undefined;
  /** Checks the token of a bulk send's address; without it such addresses are refused. */
  bulkTokens?: { verify(token: string, kind: 'bounce' | 'unsubscribe'): { sendId: string } | null };
  /** Failed token checks per client address (server/auth/credential-limiter.ts). */
  credentials?: { allows(ip: string): boolean; failed(ip: string): void };
  /** Told of sessions, accepted messages and refusals by reply code (the metrics, server/ops/metrics/). */
  observer?: GatewayObserver | undefined;
}

export interface GatewayObserver {
  session(): void;
  accepted(): void;
  refused(code: number): void;
}

/** An SMTP error with the reply code smtp-server sends back to the client. */
export function smtpError(responseCode: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode });
}

/** One address's accepted messages of the last minute, oldest first: times[head..] are in the window. */
interface Window {
  times: number[];
  head: number;
}

/**
 * Per-IP connection counts and a sliding one-minute window of accepted messages. The window drops expired
 * times from its front (times only grow), so a message costs O(1): filtering the whole minute on each message
 * cost O(n) and, from one busy relay at 1,000 messages/s, grew into a tenth of the gateway's CPU.
 */
export class IpLimits {
  readonly #connections = new Map<string, number>();
  readonly #messages = new Map<string, Window>();
  #nextSweep = 0;

  connect(ip: string, max: number): boolean {
    const n = this.#connections.get(ip) ?? 0;
    if (n >= max) return false;
    this.#connections.set(ip, n + 1);
    return true;
  }

  disconnect(ip: string) {
    const n = (this.#connections.get(ip) ?? 1) - 1;
    if (n <= 0) this.#connections.delete(ip);
    else this.#connections.set(ip, n);
  }

  /** Counts one message; false when the IP already sent `max` in the last minute. */
  message(ip: string, max: number): boolean {
    // Monotonic: a wall-clock step back must not keep old times in the window.
    const now = performance.now();
    this.#sweep(now);
    let w = this.#messages.get(ip);
    if (!w) this.#messages.set(ip, (w = { times: [], head: 0 }));
    while (w.head < w.times.length && now - w.times[w.head]! >= 60_000) w.head++;
    // Give the expired front back once it is most of the array.
    if (w.head >= 1024 && w.head * 2 >= w.times.length) {
      w.times = w.times.slice(w.head);
      w.head = 0;
    }
    if (w.times.length - w.head >= max) return false;
    w.times.push(now);
    return true;
  }

  /** Once a minute, forgets the addresses with nothing in their window (else every address ever seen stays). */
  #sweep(now: number) {
    if (now < this.#nextSweep) return;
    this.#nextSweep = now + 60_000;
    for (const [ip, w] of this.#messages) if (now - (w.times.at(-1) ?? 0) >= 60_000) this.#messages.delete(ip);
  }
}

/**
 * The inbound gateway: recipients are mailboxes `<local>@<workspace slug>.<INBOUND_DOMAIN>`; anything else is
 * refused (never an open relay). DATA streams to a spool file; its row is committed once the file is fsync'd, and
 * only then comes the 250.
 */
export function smtpOptions(deps: GatewayDeps): SMTPServerOptions {
  const { log, limits, store, spool } = deps;
  const ips = new IpLimits();
  const routes = new WeakMap<SMTPServerSession, Map<string, MailboxRoute>>();
  const counted = new WeakSet<SMTPServerSession>();
  return {
    name: 'filo',
    banner: 'Filo mail gateway',
    size: limits.maxSize,
    authOptional: true,
    disabledCommands: deps.tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    ...(deps.tls ? { key: deps.tls.key, cert: deps.tls.cert } : {}),
    logger: false,
    // No PTR query per connection: nothing here reads the client's host name (the row keeps the address and
    // the HELO name), and the greeting waited for the answer (up to 1.5 s when no DNS server answers).
    disableReverseLookup: true,
    // Only the listed balancers' connections are read for a PROXY header: anyone else cannot claim an address.
    ...(limits.proxyFrom?.length ? { useProxy: limits.proxyFrom } : {}),
    socketTimeout: 60_000,
    closeTimeout: 5_000,
    onConnect(session, callback) {
      if (!ips.connect(session.remoteAddress, limits.maxConnectionsPerIp)) {
        log.warn({ remote: session.remoteAddress }, 'smtp: too many connections from one address');
        return callback(smtpError(421, '4.7.0 Too many connections from your address, try again later'));
      }
      counted.add(session);
      callback();
    },
    onClose(session) {
      if (counted.delete(session)) ips.disconnect(session.remoteAddress);
    },
    onMailFrom(_address, session, callback) {
      routes.set(session, new Map());
      if (!ips.message(session.remoteAddress, limits.maxMessagesPerIpPerMinute)) {
        log.warn({ remote: session.remoteAddress }, 'smtp: message rate limit');
        return callback(smtpError(451, '4.7.1 Too many messages from your address, try again later'));
      }
      callback();
    },
    onRcptTo(address, session, callback) {
      const recipients = session.envelope.rcptTo.length;
      if (recipients >= limits.maxRecipients) return callback(smtpError(452, '4.5.3 Too many recipients'));
      const parts = deps.parseAddress(address.address);
      if (!parts) return callback(smtpError(550, '5.7.1 Relaying denied: not a domain of this server'));
      const bulk = BULK_LOCAL.exec(parts.local);
      if (bulk && deps.credentials && !deps.credentials.allows(session.remoteAddress))
        return callback(smtpError(450, '4.7.1 Too many invalid addresses from your address, try again later'));
      const lookup = bulk ? bulkRoute(bulk[1] === 'b' ? 'bounce' : 'unsubscribe', bulk[2]!, parts.slug, session) : null;
      (lookup ?? store.route(parts.local, parts.slug)).then(
        (route) => {
          if (!route) return callback(smtpError(550, '5.1.1 No such mailbox here'));
          let map = routes.get(session);
          if (!map) routes.set(session, (map = new Map()));
          map.set(address.address.toLowerCase(), route);
          callback();
        },
        (err: unknown) => {
          log.error({ err }, 'smtp: mailbox look-up failed');
          callback(smtpError(451, '4.3.0 Temporary failure, try again later'));
        },
      );
    },
    onData(stream, session, callback) {
      void receive(stream as Readable & { sizeExceeded?: boolean }, session).then(
        (reply) => callback(null, reply),
        (err: Error) => callback(err),
      );
    },
  };

  /** A valid token names a send; the send must be of the workspace the address is at. */
  function bulkRoute(
    kind: 'bounce' | 'unsubscribe',
    token: string,
    slug: string,
    session: SMTPServerSession,
  ): Promise<MailboxRoute | null> {
    const claim = deps.bulkTokens?.verify(token, kind) ?? null;
    if (!claim) {
      deps.credentials?.failed(session.remoteAddress);
      log.warn({ remote: session.remoteAddress, kind }, 'smtp: bulk address with an invalid token refused');
      return Promise.resolve(null);
    }
    return store.bulkRoute(claim.sendId, slug);
  }

  async function receive(stream: Readable, session: SMTPServerSession): Promise<string> {
    const map = routes.get(session) ?? new Map<string, MailboxRoute>();
    const unique = new Map<string, MailboxRoute>();
    for (const rcpt of session.envelope.rcptTo) {
      const route = map.get(rcpt.address.toLowerCase());
      if (route) unique.set(route.mailboxId, route);
    }
    const meter = new HeaderMeter();
    // A header block no mail program writes is refused here, before any parser sees it; the rest is only drained.
    const measured = new Transform({
      transform(chunk: Buffer, _enc, done) {
        if (meter.absurd) return done();
        if (!meter.done) meter.write(chunk);
        done(null, meter.absurd ? undefined : chunk);
      },
    });
    stream.on('error', (err) => measured.destroy(err));
    let spooled;
    try {
      // Read to its end; the file's last write and syncs go on while its row is written (Spool.stage).
      spooled = await spool.stage(stream.pipe(measured), limits.maxSize);
    } catch (err) {
      stream.resume();
      log.error({ err }, 'smtp: spooling failed');
      throw smtpError(451, '4.3.0 Could not store the message, try again later');
    }
    if (spooled.exceeded) throw smtpError(552, `5.3.4 Message exceeds the size limit of ${limits.maxSize} bytes`);
    const { key, durable } = spooled;
    // Once its write has ended (or failed): removing it earlier could leave the file made afterwards behind.
    const discard = () => durable.then(() => spool.remove(key)).catch(() => {});
    if (meter.absurd) {
      await discard();
      log.warn({ remote: session.remoteAddress, lines: meter.lines }, 'smtp: header block over the limits refused');
      throw smtpError(
        552,
        `5.3.4 Message header block exceeds the limit of ${SMTP_MAX_HEADER_LINES} lines or ${SMTP_MAX_HEADER_BYTES} bytes`,
      );
    }
    if (unique.size === 0) {
      await discard();
      throw smtpError(554, '5.5.1 No valid recipients');
    }
    const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : null;
    try {
      const ids = await store.accept(
        {
          routes: [...unique.values()],
          mailFrom: mailFrom?.slice(0, 320) ?? null,
          rcptTo: session.envelope.rcptTo.map((r) => r.address.slice(0, 320)),
          remoteAddress: session.remoteAddress,
          heloName: session.hostNameAppearsAs?.slice(0, 255) ?? null,
          size: spooled.size,
          sha256: spooled.sha256,
          spoolKey: key,
        },
        durable,
      );
      log.debug({ ids, size: spooled.size, remote: session.remoteAddress }, 'smtp: message accepted');
      return `2.0.0 Ok: queued as ${ids[0]}`;
    } catch (err) {
      // Not committed: the sender keeps the message and retries; nothing of it stays here.
      await discard();
      const spoolFailed = await durable.then(
        () => false,
        () => true,
      );
      log.error({ err }, spoolFailed ? 'smtp: spooling failed' : 'smtp: could not record the message');
      throw smtpError(451, '4.3.0 Temporary failure, try again later');
    }
  }
}

/** The options with each hook's answer reported to the observer: a session opened, a refusal's code, an acceptance. */
export function observed(options: SMTPServerOptions, observer: GatewayObserver | undefined): SMTPServerOptions {
  if (!observer) return options;
  const { onConnect, onMailFrom, onRcptTo, onData } = options;
  const report = (err: Error | null | undefined) => {
    if (err) observer.refused((err as { responseCode?: number }).responseCode ?? 451);
  };
  return {
    ...options,
    onConnect(session, callback) {
      observer.session();
      onConnect!(session, (err) => (report(err), callback(err)));
    },
    onMailFrom(address, session, callback) {
      onMailFrom!(address, session, (err) => (report(err), callback(err)));
    },
    onRcptTo(address, session, callback) {
      onRcptTo!(address, session, (err) => (report(err), callback(err)));
    },
    onData(stream, session, callback) {
      onData!(stream, session, (err, message) => {
        if (err) report(err);
        else observer.accepted();
        callback(err, message);
      });
    },
  };
}

export async function startSmtpGateway(deps: GatewayDeps & { port: number; host: string }): Promise<SmtpGateway> {
  const log = deps.log.child({ component: 'smtp' });
  const server = new FiloSmtpServer(
    observed(smtpOptions({ ...deps, log }), deps.observer),
    deps.limits.greetingDelayMs ?? 100,
  );
  server.on('error', (err) => log.error({ err }, 'smtp server error'));
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.server.once('error', onError);
    server.listen(deps.port, deps.host, () => {
      server.server.off('error', onError);
      resolve();
    });
  });
  const port = (server.server.address() as { port: number }).port;
  log.info({ port, tls: Boolean(deps.tls) }, 'SMTP gateway listening');
  return {
    server,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
