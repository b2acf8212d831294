import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { Logger } from '../server/logger.ts';

export interface SmtpGateway {
  server: SMTPServer;
  port: number;
  close(): Promise<void>;
}

export const SMTP_MAX_SIZE = 25 * 1024 * 1024;

/** An SMTP error with the reply code smtp-server sends back to the client. */
export function smtpError(responseCode: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode });
}

/**
 * The inbound gateway. Until mailboxes exist no local address is deliverable, so every RCPT is refused
 * with 550 5.1.1 (the sender's MTA bounces at once instead of retrying for days).
 */
export function smtpOptions(log: Logger): SMTPServerOptions {
  return {
    name: 'filo',
    banner: 'Filo mail gateway',
    size: SMTP_MAX_SIZE,
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    socketTimeout: 60_000,
    closeTimeout: 5_000,
    onConnect(session, callback) {
      log.debug({ remote: session.remoteAddress }, 'smtp connection');
      callback();
    },
    onRcptTo(address, session, callback) {
      log.info({ remote: session.remoteAddress, rcpt: address.address }, 'smtp recipient refused: no such mailbox');
      callback(smtpError(550, '5.1.1 No such mailbox here'));
    },
    onData(stream, _session, callback) {
      // Unreachable while every recipient is refused; drain defensively so a client never hangs.
      stream.on('end', () => callback(smtpError(554, '5.7.1 No valid recipients')));
      stream.resume();
    },
  };
}

export async function startSmtpGateway(deps: { port: number; host: string; log: Logger }): Promise<SmtpGateway> {
  const log = deps.log.child({ component: 'smtp' });
  const server = new SMTPServer(smtpOptions(log));
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
  log.info({ port }, 'SMTP gateway listening');
  return {
    server,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
