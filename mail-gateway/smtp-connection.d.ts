// smtp-server's connection class, which its typings do not describe: what mail-gateway/greeting.ts uses of it.
declare module 'smtp-server/lib/smtp-connection.js' {
  import type { EventEmitter } from 'node:events';
  import type { Socket } from 'node:net';
  import type { SMTPServer } from 'smtp-server';

  export class SMTPConnection extends EventEmitter {
    constructor(server: SMTPServer, socket: Socket, options: unknown);
    readonly name: string;
    readonly _server: SMTPServer & { options: { maxClients?: number } };
    init(): void;
    connectionReady(next?: () => void): void;
    send(code: number, message: string, command?: string | false): void;
    _setListeners(callback: () => void): void;
  }
}
