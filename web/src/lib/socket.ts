import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '#contracts/realtime';

export type FiloSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

let instance: FiloSocket | undefined;

/**
 * The one Socket.io client of the app, created on first use. It authenticates with the session cookie and
 * connects only when told to (see `connection.svelte.ts`).
 */
export function getSocket(): FiloSocket {
  instance ??= io({ path: '/socket.io', withCredentials: true, autoConnect: false });
  return instance;
}
