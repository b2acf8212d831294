// smtp-server's connection class, which its typings do not describe: what mail-gateway/greeting.ts uses of it.
declare module 'smtp-server/lib/smtp-connection.js' {
  import type { EventEmitter } from 'node:events';
  import type { Socket } from 'node:net';
  import type { SMTPServer } from 'smtp-server';

  export class SMTPConnection extends EventEmitter {
    constructor(server: SMTPServer, socket: Socket, options: unknown);
    readonly name: string;
    /** The client's address (the PROXY header's, behind a balancer), known once `_setListeners` calls back. */
    readonly remoteAddress: string;
    /** Set once the connection is closing or closed (a 421 "You talk too soon" closes it). */
    readonly _closing: boolean;
    readonly _closed: boolean;
    readonly _server: SMTPServer & { options: { maxClients?: number } };
    init(): void;
    connectionReady(next?: () => void): void;
    send(code: number, message: string, command?: string | false): void;
    _setListeners(callback: () => void): void;
  }
}
