import type { AccessChange, AccessPort } from '../server/auth/access.ts';
import type { Logger } from '../server/logger.ts';
import type { Services } from '../server/services.ts';
import type { Actor } from '../server/tenancy.ts';
import { rooms } from './events.ts';
import { currentActor, followsMailboxes, reauthorise } from './record.handlers.ts';
import type { RealtimeServer } from './realtime.server.ts';

/**
 * Applies access changes to open sockets on every node: the change goes to the other nodes through the
 * adapter (`serverSideEmit`, which skips the sender) and is applied here too. Each node re-checks its own
 * sockets concerned against the database: those whose session, token or membership is gone are disconnected,
 * the others get their current role and leave the mailbox and conversation rooms they may no longer see.
 * A node without sockets (a worker's Redis emitter) only relays.
 */
export function socketAccess(
  io: RealtimeServer,
  services: Services,
  log: Logger,
  opts: { clustered: boolean },
): AccessPort {
  async function recheckHere(change: AccessChange): Promise<void> {
    const room = change.userId ? rooms.user(change.userId) : change.tenantId ? rooms.tenant(change.tenantId) : null;
    if (!room) return;
    const nsp = io.of('/');
    // Sockets of one session (several tabs) share one look-up.
    const lookups = new Map<string, Promise<Actor | null>>();
    await Promise.all(
      [...(nsp.adapter.rooms.get(room) ?? [])].map(async (id) => {
        const socket = nsp.sockets.get(id);
        if (!socket || (change.tenantId && socket.data.tenantId !== change.tenantId)) return;
        if (change.reason === 'mailboxes_changed' && !followsMailboxes(socket)) return;
        const key = `${socket.data.via}:${socket.data.sessionId}`;
        const lookup = lookups.get(key) ?? currentActor(services, socket.data);
        lookups.set(key, lookup);
        try {
          const actor = await lookup;
          if (!actor) socket.disconnect(true);
          else await reauthorise(io, services, socket, actor);
        } catch (err) {
          // Unable to tell (the database is away): cut rather than leave access that may have ended.
          log.warn({ err, reason: change.reason }, 'socket access re-check failed: disconnecting');
          socket.disconnect(true);
        }
      }),
    );
  }

  io.on('access:changed', (change) => void recheckHere(change));
  return {
    changed(change) {
      // A lone node's in-memory adapter has no other nodes (and warns on serverSideEmit).
      if (opts.clustered) io.serverSideEmit('access:changed', change);
      void recheckHere(change);
    },
  };
}
